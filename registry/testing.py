"""Test helpers: register correspondence the way the desk and the portal do."""

from __future__ import annotations

from typing import Any

from registry.models import Channel, Correspondence, Direction
from registry.services import Party, correspondence_register
from tenancy.models import Administration, User


def counter_mail(administration: Administration, clerk: User, subject: str = "s", **kwargs: Any) -> Correspondence:
    """Paper mail registered at the counter by ``clerk`` (its text is its subject, unless a
    text or files are given); ``sender_name`` names its sender, or its addressee when it is
    outgoing."""
    if not kwargs.get("files"):
        kwargs.setdefault("body", subject)
    party = Party(kind="person", name=kwargs.pop("sender_name", "X"))
    kwargs["addressee" if kwargs.get("direction") == Direction.OUTGOING else "sender"] = party
    return correspondence_register(
        actor=clerk, administration=administration, channel=Channel.COUNTER, subject=subject, **kwargs
    ).correspondence
