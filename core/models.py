"""Core has no tables; this model only stands for the outbox in the admin."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """The outbox of e-mail kept without SMTP (core.outbox) as the admin lists it (core.admin).

    No table holds it: the messages are files. The model gives the outbox its place in /admin/
    and its one permission, ``core.view_outboxmessage``, which superusers have; nobody else reads
    other people's mail.
    """

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
