"""System check of the installation PKI: can this process seal a receipt?

Registered as a deployment check (``manage.py check --deploy``) with the tag ``wasl_pki``, and
run when the web server and the worker start (``operations.startup``). Not with every
management command: ``migrate``, ``restore`` and ``pki_init`` itself run before a PKI exists.

What sealing needs: the root certificate (the trust anchor), a timestamping unit (its
certificate and key, or ``WASL_TSA_URL``), and for each administration either the root's key
(seals are issued on first use, in a directory this process may write) or its seal's
certificate and key supplied by the operator. Every file there must be readable by the user
the services run as. With ``WASL_PKI_AUTOCREATE`` (the demo) a missing PKI is created on
first use, so it is no problem; an unreadable one still is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError

from trust.pki import CA_KEY, KEYSTORE_KEY, SEALS_DIR, TRUST_DIR, Pki, PkiMissing, SealUnavailable

TAG = "wasl_pki"

_FIX_ACCESS = (
    "Give the user the services run as read access to it (chown -R wasl: {directory}), or restore it from a backup."
)


@register("wasl", TAG, deploy=True)
def check_pki(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return pki_problems()


def pki_problems() -> list[CheckMessage]:
    """What stops this process from sealing with the PKI of ``settings.PKI_DIR``; empty when nothing."""
    directory = Path(settings.PKI_DIR)
    try:
        exists = Pki.exists(directory)
    except OSError as exc:
        return [_unreadable(directory, exc)]
    if not exists:
        if getattr(settings, "PKI_AUTOCREATE", False):
            return []
        return [
            Error(
                f"There is no installation PKI in {directory}: receipts cannot be sealed.",
                hint="Run `manage.py pki_init` (or `manage.py install`), or place the operator's CA, "
                "timestamping and seal files there (docs/configuration.md, WASL_PKI_DIR).",
                id="wasl.E020",
            )
        ]
    unreadable = _unreadable_files(directory)
    if unreadable:
        return [_unreadable(directory, PermissionError(f"{unreadable[0]} cannot be read"), count=len(unreadable))]
    tsa_url = getattr(settings, "TSA_URL", "")
    try:
        pki = Pki.load(directory, tsa_url=tsa_url)
    except (OSError, ValueError, PkiMissing) as exc:
        return [_unreadable(directory, exc)]
    problems: list[CheckMessage] = []
    if pki.tsa is None and not tsa_url:
        problems.append(
            Error(
                f"The installation PKI in {directory} has no timestamping unit (tsa.cert.pem and tsa.key.pem).",
                hint="Restore those files from a backup, or set WASL_TSA_URL to an RFC 3161 timestamping service.",
                id="wasl.E022",
            )
        )
    problems += _seal_problems(pki)
    return problems


def _unreadable_files(directory: Path) -> list[Path]:
    """The PKI's files this process may not read (one access() each: the check stays cheap)."""
    found = []
    for folder in (directory, directory / SEALS_DIR, directory / TRUST_DIR):
        if not folder.is_dir():
            continue
        if not os.access(folder, os.R_OK | os.X_OK):
            found.append(folder)
            continue
        found += [path for path in folder.glob("*.pem") if not os.access(path, os.R_OK)]
    keystore = directory / KEYSTORE_KEY  # the key of the signatories' keys, when made
    if keystore.exists() and not os.access(keystore, os.R_OK):
        found.append(keystore)
    return found


def _unreadable(directory: Path, exc: BaseException, *, count: int = 1) -> Error:
    more = f" (and {count - 1} more)" if count > 1 else ""
    return Error(
        f"The installation PKI in {directory} cannot be read: {exc}{more}.",
        hint=_FIX_ACCESS.format(directory=directory),
        id="wasl.E021",
    )


def _seal_problems(pki: Pki) -> list[CheckMessage]:
    if pki.ca_key is not None:
        # Seals are issued (and renewed) here on first use: the directory must take new files.
        seals = pki.directory / SEALS_DIR
        writable = seals if seals.is_dir() else pki.directory
        if not os.access(writable, os.W_OK | os.X_OK):
            return [
                Error(
                    f"{writable} cannot be written: no administration's seal can be issued.",
                    hint=f"Give the user the services run as write access to it (chown -R wasl: {pki.directory}).",
                    id="wasl.E023",
                )
            ]
        return []
    # Without the root's key every seal is supplied by the operator: each administration needs its own.
    missing = []
    for code in _administration_codes():
        try:
            pki.seal_for(code=code)
        except (SealUnavailable, OSError, ValueError):
            missing.append(code)
    if not missing:
        return []
    return [
        Error(
            f"No seal for {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} in {pki.directory / SEALS_DIR}, "
            f"and no root key ({CA_KEY}) to issue one.",
            hint=f"Place <CODE>.cert.pem and <CODE>.key.pem for each administration in {pki.directory / SEALS_DIR}, "
            f"or the root's key as {pki.directory / CA_KEY}.",
            id="wasl.E023",
        )
    ]


def _administration_codes() -> list[str]:
    """The active administrations' codes; none when the database cannot say (its own check reports why)."""
    from tenancy.models import Administration

    try:
        return list(Administration.objects.filter(is_active=True).order_by("code").values_list("code", flat=True))
    except DatabaseError:
        return []
