"""Letters and attestations: template variables, rendering with Typst, sealing.

A letter template's text may name variables in braces, ``{number}`` or ``{sender_name}``, and
nothing else (see :mod:`workflow.templating`): anything else is refused when the template is
saved, and filling one is a plain substitution that never evaluates anything.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.bidi import LRI, PDI, isolated
from core.clock import now
from documents.qr import qr_svg
from documents.rendering import render_pdf
from registry.models import Correspondence
from registry.receipts import printable, verification_url
from registry.services import LOCAL_ZONE
from tenancy.models import Administration, Service
from workflow import templating

if TYPE_CHECKING:
    from workflow.models import LetterTemplate
from tenancy.selectors import mask_identifier

KINGDOM = {"kingdom_ar": "المملكة المغربية", "kingdom_fr": "Royaume du Maroc"}


def template_variables() -> dict[str, str]:
    """The variables a letter template may use, with what each one stands for."""
    return {
        "number": _("registration number of the request"),
        "registered_on": _("date of registration"),
        "sender_name": _("name of the sender"),
        "subject": _("subject of the request"),
        "procedure": _("name of the procedure"),
        "due_on": _("legal due date"),
        "administration": _("name of the administration"),
        "service": _("service in charge"),
        "today": _("date of the letter"),
    }


class TemplateTextError(ValueError):
    """A template text contains something other than text and the variables of the list."""


def check_template_text(text: str) -> None:
    """Refuse ``text`` as a letter template unless it is text with the variables of
    :func:`template_variables` in braces and nothing else (see :mod:`workflow.templating`).
    The message names what was found and lists the variables."""
    allowed = template_variables()
    problems = templating.template_problems(text, allowed)
    if not problems:
        return
    listed = ", ".join("{" + name + "}" for name in allowed)
    messages = []
    for problem in problems:
        if problem.kind == "too_long":
            messages.append(
                ngettext(
                    "A template is limited to %(limit)d character.",
                    "A template is limited to %(limit)d characters.",
                    templating.TEXT_MAX,
                )
                % {"limit": templating.TEXT_MAX}
            )
        elif problem.kind == "too_many":
            messages.append(
                ngettext(
                    "A template may use at most %(limit)d variable.",
                    "A template may use at most %(limit)d variables.",
                    templating.MAX_PLACEHOLDERS,
                )
                % {"limit": templating.MAX_PLACEHOLDERS}
            )
        elif problem.kind == "brace":
            messages.append(_("A brace is not paired: to write a brace itself, double it."))
        else:
            messages.append(
                _("%(found)s is not a variable: write only a variable's name in braces, nothing else.")
                % {"found": isolated(problem.found)}
            )
    messages.append(_("The variables are: %(variables)s.") % {"variables": listed})
    raise TemplateTextError(" ".join(messages))


def fill_template(text: str, values: dict[str, str]) -> str:
    """``text`` with its variables replaced by ``values``; never evaluates anything, never fails
    (a stored text that the check would refuse shows its mistake as typed)."""
    return templating.fill(text, values)


def _figure(value: str, language: str) -> str:
    """A number or a date as an Arabic text shows it: in a left-to-right isolate, without which
    the bidi algorithm reorders its parts (2026-12-07 would read 07-12-2026)."""
    return f"{LRI}{value}{PDI}" if language == "ar" and value else value


def letter_values(
    request: Correspondence, *, language: str, service: Service | None, procedure_name: str
) -> dict[str, str]:
    administration = request.administration
    terms = request.terms or {}
    suffix = "ar" if language == "ar" else "fr"
    return {
        "number": _figure(request.number, language),
        "registered_on": _figure(request.registered_at.astimezone(LOCAL_ZONE).date().isoformat(), language),
        "sender_name": request.sender_name,
        "subject": request.subject,
        "procedure": procedure_name,
        "due_on": _figure(str(terms.get("due_on", "")), language),
        "administration": getattr(administration, f"name_{suffix}"),
        "service": getattr(service, f"name_{suffix}") if service is not None else "",
        "today": _figure(now().astimezone(LOCAL_ZONE).date().isoformat(), language),
    }


def template_prefill(
    template: LetterTemplate, request: Correspondence, *, service: Service | None, procedure: Any
) -> dict[str, str]:
    """The template's Arabic and French texts, and its route of recourse, filled with the
    request's values (the keys of a reply's form: body_ar, body_fr, recourse_ar, recourse_fr)."""
    values = {
        language: letter_values(
            request,
            language=language,
            service=service,
            procedure_name=getattr(procedure, f"name_{language}") if procedure is not None else "",
        )
        for language in ("ar", "fr")
    }
    return {
        "body_ar": fill_template(template.body_ar, values["ar"]),
        "body_fr": fill_template(template.body_fr, values["fr"]),
        "recourse_ar": fill_template(template.recourse_ar, values["ar"]),
        "recourse_fr": fill_template(template.recourse_fr, values["fr"]),
    }


def _administration(administration: Administration) -> dict[str, str]:
    return {
        "code": administration.code,
        "name_ar": printable(administration.name_ar),
        "name_fr": printable(administration.name_fr),
        "name_zgh": printable(administration.name_zgh),
    }


def letter_data(
    *,
    outgoing: Correspondence,
    request: Correspondence | None,
    service: Service | None,
    decision: str,
    body_ar: str,
    body_fr: str,
    items: list[dict[str, str]],
    recourse_ar: str = "",
    recourse_fr: str = "",
    signature: dict[str, str] | None = None,
    token: str,
    signature_tag: str = "",
    signature_rows: int = 1,
) -> dict[str, Any]:
    url = verification_url(token)
    local = outgoing.registered_at.astimezone(LOCAL_ZONE)
    return {
        **KINGDOM,
        "administration": _administration(outgoing.administration),
        "service": {"name_ar": printable(service.name_ar), "name_fr": printable(service.name_fr)} if service else None,
        "number": outgoing.number,
        "date": local.date().isoformat(),
        "addressee": {"name": printable(outgoing.addressee_name), "address": printable(outgoing.addressee_address)},
        "reference": (
            {"number": request.number, "date": request.registered_at.astimezone(LOCAL_ZONE).date().isoformat()}
            if request is not None
            else None
        ),
        "subject": printable(outgoing.subject),
        "decision": decision,
        "body_ar": printable(body_ar),
        "body_fr": printable(body_fr),
        "items": [{"name_ar": printable(i["name_ar"]), "name_fr": printable(i["name_fr"])} for i in items],
        "recourse_ar": printable(recourse_ar),
        "recourse_fr": printable(recourse_fr),
        "signature": signature,
        "verification_url": url,
        "signature_tag": signature_tag,
        "signature_rows": signature_rows,
    }


def seal(pdf: bytes, administration: Administration, reason: str, *, anchor: str = "") -> bytes:
    """Seal ``pdf`` with the administration's seal; ``anchor`` (registry.anchors) states what its
    register log held when it was sealed."""
    from trust.sealing import seal_pdf
    from trust.services import installation_pki

    pki = installation_pki()
    pki.seal_for(code=administration.code, name_fr=administration.name_fr, name_ar=administration.name_ar)
    return seal_pdf(
        pdf,
        pki=pki,
        administration_code=administration.code,
        reason=reason,
        location=administration.name_fr,
        anchor=anchor,
    )


# Where a letter signed in a circuit gets its outgoing number: the seal of registration, drawn
# in the room the letter leaves under its signatory, else at the bottom left of the last page.
SIGNATURE_TAG = "[[signature]]"
REGISTRATION_SEAL_X_MM = 15
REGISTRATION_SEAL_Y_MM = 12
DRAFT_NUMBER = "……"


def registration_seal(
    pdf: bytes,
    administration: Administration,
    *,
    number: str,
    registered_at: Any,
    anchor: str,
    at: tuple[int, int, int] | None = None,
) -> bytes:
    """Seal a letter signed in a circuit as the bureau d'ordre registers it: a visible seal
    whose block names the administration and whose text gives the outgoing number and date."""
    from documents.rendering import png_block, render_png
    from trust.pdf_update import POINTS_PER_MM, Appearance, page_size
    from trust.sealing import add_validation_data, seal_pdf
    from trust.services import installation_pki

    pki = installation_pki()
    seal_identity = pki.seal_for(
        code=administration.code, name_fr=administration.name_fr, name_ar=administration.name_ar
    )
    block = png_block(
        render_png(
            "signature_block",
            {
                "signer": administration.name_fr,
                "title_fr": "Cachet du bureau d'ordre",
                "title_ar": "ختم مكتب الضبط",
                "administration_fr": "",
                "administration_ar": administration.name_ar,
                "delegator": "",
                "level_fr": "Cachet électronique",
                "level_ar": "ختم إلكتروني",
            },
            ppi=200,
        )
    )
    # ``at``: (page, x mm, y mm) of the room the letter left for it, else the bottom left corner.
    page, x_mm, y_mm = at if at is not None else (-1, REGISTRATION_SEAL_X_MM, REGISTRATION_SEAL_Y_MM)
    x0, y0, x1, _y1 = page_size(pdf, page)
    local = registered_at.astimezone(LOCAL_ZONE)
    appearance = Appearance(
        page=page,
        x=x0 + x_mm * POINTS_PER_MM,
        y=y0 + y_mm * POINTS_PER_MM,
        width=min(70 * POINTS_PER_MM, x1 - x0 - 20),
        image=block,
        lines=(f"No. {number}", local.strftime("%Y-%m-%d %H:%M %z")),
    )
    sealed = seal_pdf(
        pdf,
        pki=pki,
        administration_code=administration.code,
        reason=f"Courrier {number}",
        location=administration.name_fr,
        appearance=appearance,
        anchor=anchor,
    )
    return add_validation_data(sealed, pki=pki, identity=seal_identity)


def _with_qr(data: dict[str, Any]) -> dict[str, Any]:
    """The data of a letter or attestation as its template reads it: with the QR code of its
    verification link, drawn as it is rendered (the data is kept as JSON until then)."""
    return {**data, "qr_svg": qr_svg(data["verification_url"])}


def draft_letter_pdf(data: dict[str, Any]) -> bytes:
    """A letter not registered yet (for a circuit of signatures): rendered, not sealed."""
    return render_pdf("letter", _with_qr(data))


def letter_pdf(data: dict[str, Any], administration: Administration, *, anchor: str) -> bytes:
    return seal(render_pdf("letter", _with_qr(data)), administration, f"Courrier {data['number']}", anchor=anchor)


SILENCE_LEGAL_AR = (
    "طبقا لمقتضيات القانون رقم 55.19 المتعلق بتبسيط المساطر والإجراءات الإدارية، يعتبر سكوت الإدارة "
    "بعد انصرام أجل معالجة الطلب بمثابة قبول بالنسبة للقرارات الإدارية المحددة قائمتها بنص تنظيمي."
)
SILENCE_LEGAL_FR = (
    "Conformément à la loi n° 55-19 relative à la simplification des procédures et formalités administratives, "
    "le silence gardé par l'administration à l'expiration du délai de traitement vaut acceptation pour les "
    "décisions dont la liste est fixée par voie réglementaire."
)


def attestation_pdf(data: dict[str, Any], administration: Administration, *, anchor: str) -> bytes:
    return seal(
        render_pdf("silence", _with_qr(data)),
        administration,
        f"Attestation d'acceptation tacite {data['number']}",
        anchor=anchor,
    )


def attestation_data(
    *,
    request: Correspondence,
    procedure: dict[str, str],
    delay_days: int,
    delay_kind: str,
    suspended_days: int,
    due_on: date,
    accepted_on: date,
    issued_local: Any,
    token: str,
) -> dict[str, Any]:
    url = verification_url(token)
    offset = issued_local.strftime("%z")
    return {
        **KINGDOM,
        "administration": _administration(request.administration),
        "number": request.number,
        "deposited_on": request.registered_at.astimezone(LOCAL_ZONE).date().isoformat(),
        "depositor": {
            "name": printable(request.sender_name),
            "identifier": mask_identifier(request.sender_identifier),
        },
        "subject": printable(request.subject),
        "procedure": {k: printable(v) for k, v in procedure.items()},
        "delay": {"days": delay_days, "kind": delay_kind},
        "suspended_days": suspended_days,
        "due_on": due_on.isoformat(),
        "accepted_on": accepted_on.isoformat(),
        "issued_at": {
            "date": issued_local.strftime("%Y-%m-%d"),
            "time": issued_local.strftime("%H:%M:%S"),
            "zone": f"Africa/Casablanca (UTC{offset[:3]}:{offset[3:]})",
        },
        "verification_url": url,
        "legal_ar": SILENCE_LEGAL_AR,
        "legal_fr": SILENCE_LEGAL_FR,
    }
