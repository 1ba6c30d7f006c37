"""Reads of the exchange: the directory (this installation's administrations and its peers'),
an administration's envelopes."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from core.errors import NotFound
from core.languages import in_language
from exchange.models import DocumentRequest, Envelope, HeldDocument, ProvidedDocument, RemoteAdministration
from tenancy.access import Scope
from tenancy.models import Administration, Region
from tenancy.permissions import Action
from workflow.models import Case
from workflow.selectors import visible_cases

KIND_LABELS = dict(Administration.Kind.choices)
REGION_LABELS = dict(Region.choices)


@dataclass(frozen=True)
class DirectoryEntry:
    """An administration letters can be sent to: ``address`` is its code here, ``CODE@peer`` on
    another installation (``installation`` then names it)."""

    address: str
    code: str
    kind: str
    region: str
    name_ar: str
    name_fr: str
    name_zgh: str
    installation: str = ""

    @property
    def pk(self) -> str:
        return self.address

    @property
    def name(self) -> str:
        return in_language(self.name_ar, self.name_fr, self.name_zgh)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    @property
    def region_label(self) -> str:
        return str(REGION_LABELS.get(self.region, self.region))


def _matching[T: (Administration, RemoteAdministration)](
    entries: QuerySet[T], q: str, kind: str, region: str
) -> QuerySet[T]:
    if q.strip():
        term = q.strip()
        entries = entries.filter(
            Q(code__icontains=term)
            | Q(name_ar__icontains=term)
            | Q(name_fr__icontains=term)
            | Q(name_zgh__icontains=term)
        )
    if kind:
        entries = entries.filter(kind=kind)
    if region:
        entries = entries.filter(region=region)
    return entries


def directory(
    *, exclude: Administration | None = None, q: str = "", kind: str = "", region: str = ""
) -> QuerySet[Administration]:
    """The administrations of this installation, by name or code, kind and region."""
    entries = Administration.objects.filter(is_active=True).order_by("code")
    if exclude is not None:
        entries = entries.exclude(pk=exclude.pk)
    return _matching(entries, q, kind, region)


def directory_entries(
    *, exclude: Administration | None = None, q: str = "", kind: str = "", region: str = "", limit: int = 500
) -> list[DirectoryEntry]:
    """Every administration reachable from here (ours first, then each peer's), filtered."""
    fields = ("code", "kind", "region", "name_ar", "name_fr", "name_zgh")
    local = [
        DirectoryEntry(address=row["code"], **row)
        for row in directory(exclude=exclude, q=q, kind=kind, region=region).values(*fields)[:limit]
    ]
    remote_rows = _matching(
        RemoteAdministration.objects.filter(is_active=True, peer__is_active=True).order_by("peer__name", "code"),
        q,
        kind,
        region,
    ).values(*fields, "peer__name", "peer__label")[: max(0, limit - len(local))]
    remote = [
        DirectoryEntry(
            address=f"{row['code']}@{row['peer__name']}",
            installation=row["peer__label"] or row["peer__name"],
            **{name: row[name] for name in fields},
        )
        for row in remote_rows
    ]
    return local + remote


def envelopes_of(administration: Administration, *, limit: int = 200) -> list[Envelope]:
    """Letters ``administration`` sent to or received from other administrations, newest first."""
    return list(
        Envelope.objects.filter(Q(sender=administration) | Q(recipient=administration))
        .select_related("sender", "recipient", "peer", "outgoing", "incoming")
        .order_by("-created_at")[:limit]
    )


def envelope_sent_as(administration: Administration, correspondence_id: int) -> Envelope:
    """The envelope of the letter ``administration`` sent as its outgoing ``correspondence_id``;
    :class:`NotFound` if it sent none."""
    envelope = (
        Envelope.objects.filter(sender=administration, outgoing_id=correspondence_id)
        .select_related("sender", "recipient", "peer", "outgoing", "incoming")
        .first()
    )
    if envelope is None:
        raise NotFound
    return envelope


# -- once-only requests --------------------------------------------------------------------------


def document_request_for(scope: Scope, request_id: str, *, for_update: bool = False) -> DocumentRequest:
    """A once-only request the scope's user may see: one asked of their administration, when
    their roles may answer such requests, or one their administration sent for a case they may
    read; NotFound otherwise. ``for_update`` locks its row until the end of the caller's
    transaction."""
    queryset = DocumentRequest.objects.select_related("requester", "provider", "peer", "kind", "case__correspondence")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    reach = Q(requester=scope.administration, case__in=visible_cases(scope).values("pk"))
    if scope.may(Action.ANSWER_DOCUMENT_REQUESTS):
        reach |= Q(provider=scope.administration)
    try:
        request = queryset.filter(reach, pk=request_id).first()
    except ValidationError:  # not a UUID
        raise NotFound from None
    if request is None:
        raise NotFound
    return request


def requests_of_case(case: Case) -> list[DocumentRequest]:
    """The once-only requests sent for a case, latest first."""
    return list(DocumentRequest.objects.filter(case=case).select_related("provider", "peer").order_by("-requested_at"))


def provided_documents_of(administration: Administration) -> list[ProvidedDocument]:
    """The kinds of documents ``administration`` delivers to others, by code."""
    return list(ProvidedDocument.objects.filter(administration=administration).order_by("code"))


def held_count(administration: Administration) -> int:
    """How many documents ``administration`` keeps to deliver on request."""
    return HeldDocument.objects.filter(kind__administration=administration).count()


def held_for(request: DocumentRequest) -> list[HeldDocument]:
    """The documents the holder keeps about the person a request is for, newest first."""
    return list(
        HeldDocument.objects.filter(kind_id=request.kind_id, national_id=request.national_id).order_by("-issued_on")
    )


def requests_to_answer(
    administration: Administration, *, limit: int = 100
) -> list[tuple[DocumentRequest, list[HeldDocument]]]:
    """Requests waiting for ``administration``'s answer, oldest first, each with the documents it
    holds about the person (one query for all)."""
    pending = list(
        DocumentRequest.objects.filter(provider=administration, status=DocumentRequest.Status.PENDING)
        .select_related("requester", "peer", "kind")
        .order_by("requested_at")[:limit]
    )
    held: dict[tuple[int | None, str], list[HeldDocument]] = {}
    for document in HeldDocument.objects.filter(
        kind__in=[r.kind_id for r in pending], national_id__in=[r.national_id for r in pending]
    ).order_by("-issued_on"):
        held.setdefault((document.kind_id, document.national_id), []).append(document)
    return [(r, held.get((r.kind_id, r.national_id), [])) for r in pending]


def requests_answered(administration: Administration, *, limit: int = 50) -> list[DocumentRequest]:
    return list(
        DocumentRequest.objects.filter(provider=administration)
        .exclude(status=DocumentRequest.Status.PENDING)
        .select_related("requester", "peer", "answered_by")
        .order_by("-answered_at")[:limit]
    )


def requests_sent(administration: Administration, *, limit: int = 50) -> list[DocumentRequest]:
    return list(
        DocumentRequest.objects.filter(requester=administration)
        .select_related("provider", "peer")
        .order_by("-requested_at")[:limit]
    )
