"""Backups: one archive holding the database, the files, the PKI and the configuration in effect.

:func:`~operations.backup.create.backup_create` writes one while the service runs,
:func:`~operations.backup.verify.backup_verify` checks one, and
:func:`~operations.backup.restore.backup_restore` brings one up on an empty installation.
"""
