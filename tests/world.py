"""One administration's worth of objects, built once, for the generated outsider test.

``commune`` (the administration under test) holds one object of every kind a URL can name: a
request deposited by ``citizen`` with its case, attachment, receipt and sealed answer, a folder with
an annex, a circuit, a delegation, a procedure, a calendar day, a routing rule, a letter template,
a service, a register import and a document asked of a holder. ``elsewhere`` is another
administration whose ``outsider`` (staff there with every role) must reach none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from exchange import once_only
from exchange.testing import certificate_hold, property_certificate
from parapheur import services as parapheur
from parapheur.models import StepKind
from parapheur.services import StepSpec
from registry.imports import register_import_request
from registry.models import Receipt, RegisterCheckpoint, SealedDocument
from registry.receipts import receipt_issue
from tenancy.access import scope_of
from tenancy.models import Administration, Membership, Service, User
from tenancy.services import api_token_issue
from tenancy.testing import (
    PASSWORD,
    make_administration,
    make_citizen,
    make_commune,
    make_service,
    make_staff,
    make_user,
)
from trust.testing import sample_pdf
from workflow import services as workflow
from workflow.catalogue import DocumentLine, calendar_day_set, letter_template_save, routing_rule_add
from workflow.selectors import case_for
from workflow.services import LetterText
from workflow.testing import deposit, make_procedure

Role = Membership.Role

ANONYMOUS = "anonymous"
CITIZEN = "citizen"  # the depositor of the request, addressee of its answer
OUTSIDER_CITIZEN = "outsider_citizen"  # another citizen
OUTSIDER = "outsider"  # staff of elsewhere, with every role there
CLERK = "clerk"
AGENT = "agent"  # the agent handling the case, in the service it was assigned to
HEAD = "head"  # the head of that service, visa step of the folder
SIGNATORY = "signatory"  # the signatory step of the folder
ADMIN = "admin"
AUDITOR = "auditor"
PLATFORM = "platform"  # platform administrator (Django's admin site), member of no administration
# The outsider again, naming its own administration's code in a URL with an object of ours.
OUTSIDER_OWN_CODE = "outsider_own_code"

PERSONAS = (
    ANONYMOUS,
    CITIZEN,
    OUTSIDER_CITIZEN,
    OUTSIDER,
    OUTSIDER_OWN_CODE,
    CLERK,
    AGENT,
    HEAD,
    SIGNATORY,
    ADMIN,
    AUDITOR,
    PLATFORM,
)


@dataclass(frozen=True)
class World:
    commune: Administration
    elsewhere: Administration
    users: dict[str, User]
    tokens: dict[str, str]  # persona -> API bearer token
    ids: dict[str, Any]  # kind of object -> its key in URLs

    def user(self, persona: str) -> User | None:
        return self.users.get(OUTSIDER if persona == OUTSIDER_OWN_CODE else persona)

    def code_for(self, persona: str) -> str:
        return self.elsewhere.code if persona == OUTSIDER_OWN_CODE else self.commune.code


def build_world() -> World:
    """Create everything (inside the caller's transaction: on-commit work does not run, so the
    receipt and the answer are issued here directly)."""
    commune = make_commune()
    secretariat = Service.objects.get(administration=commune, code="SG")
    urbanism = make_service(commune, "URB")
    elsewhere = make_administration("PROVINCE-AUTRE", kind=Administration.Kind.PROVINCE, name_fr="Province Autre")
    land = make_administration("ANCFCC-TEST", name_fr="Conservation foncière", name_ar="المحافظة العقارية")

    users: dict[str, User] = {
        CITIZEN: make_citizen(),
        OUTSIDER_CITIZEN: make_user("other.citizen@example.ma", full_name="Youssef Amrani"),
        OUTSIDER: make_staff(elsewhere, Role.CLERK, "outsider@province.ma"),
        CLERK: make_staff(commune, Role.CLERK, "clerk@commune.ma", full_name="Clerk Test"),
        AGENT: make_staff(commune, Role.AGENT, "agent@commune.ma"),
        HEAD: make_staff(commune, Role.HEAD, "head@commune.ma"),
        SIGNATORY: make_staff(commune, Role.SIGNATORY, "signatory@commune.ma"),
        ADMIN: make_staff(commune, Role.ADMIN, "admin@commune.ma"),
        AUDITOR: make_staff(commune, Role.AUDITOR, "auditor@commune.ma"),
        PLATFORM: make_user("platform@example.ma", is_staff=True, is_superuser=True),
    }
    for role in (Role.ADMIN, Role.AUDITOR, Role.HEAD, Role.SIGNATORY):
        Membership.objects.create(user=users[OUTSIDER], administration=elsewhere, role=role)
    Membership.objects.filter(user__in=[users[AGENT], users[HEAD]], administration=commune).update(service=urbanism)
    land_admin = make_staff(land, Role.ADMIN, "admin@ancfcc.ma")

    # A request with its case, handled by the agent, answered with a sealed letter after asking
    # one of its documents of its holder (delivered at once: the holder is automatic).
    procedure = make_procedure(
        commune,
        service=urbanism,
        documents=[
            DocumentLine("التصاميم", "Plans"),
            DocumentLine("شهادة الملكية", "Certificat de propriété", "ANCFCC-TEST", "Conservation", "CERT-PROP"),
        ],
    )
    registration = deposit(commune, users[CITIZEN], procedure="URB-PC")
    request = registration.correspondence
    receipt = receipt_issue(receipt_id=Receipt.objects.get(correspondence=request).pk)
    workflow.case_assign(actor=users[CLERK], case_id=request.pk, service=urbanism)
    workflow.case_start(actor=users[AGENT], case_id=request.pk)
    certificate_hold(
        land_admin,
        property_certificate(land_admin, land),
        national_id="AB123456",
        person_name="فاطمة الزهراء بنعلي",
        text="Certificat n° 1",
        issued_on=date(2026, 5, 1),
    )
    scope = scope_of(users[AGENT], commune)
    asked = once_only.document_request(scope=scope, case=case_for(scope, request.pk), position=2)
    reply = workflow.case_reply(actor=users[AGENT], case_id=request.pk, text=LetterText(body_fr="Accord."))
    letter = reply.outgoing
    sealed = SealedDocument.objects.filter(correspondence=letter).first()

    # The parapheur: a folder (visa of the head, signature of the signatory) with an annex.
    folder = parapheur.folder_submit(
        actor=users[CLERK],
        administration=commune,
        title="Arrêté",
        document=sample_pdf("Arrêté n° 1"),
        document_name="arrete.pdf",
        steps=[
            StepSpec(kind=StepKind.VISA, people=(users[HEAD].pk,)),
            StepSpec(kind=StepKind.SIGNATURE, people=(users[SIGNATORY].pk,)),
        ],
        annexes=[("annexe.pdf", sample_pdf("Annexe"), "application/pdf")],
    )
    circuit = parapheur.circuit_save(
        actor=users[ADMIN],
        administration=commune,
        circuit=None,
        values={"code": "REP", "name": "Réponses", "is_active": True},
        steps=[StepSpec(kind=StepKind.SIGNATURE, people=(users[SIGNATORY].pk,))],
    )
    delegation = parapheur.delegation_create(
        actor=users[SIGNATORY],
        administration=commune,
        delegate=users[HEAD],
        starts_on=date(2026, 1, 1),
        ends_on=date(2099, 12, 31),
    )

    # The catalogue and the register's settings.
    day = calendar_day_set(
        actor=users[ADMIN], administration=commune, day=date(2026, 12, 31), is_working=False, label="Fermé"
    )
    rule = routing_rule_add(
        actor=users[ADMIN], administration=commune, service=urbanism, procedure=None, keywords="permis", position=1
    )
    template = letter_template_save(
        actor=users[ADMIN],
        administration=commune,
        template=None,
        values={"code": "ACC", "name": "Accord", "body_ar": "", "body_fr": "Accord.", "is_active": True},
    )
    imported = register_import_request(
        actor=users[ADMIN],
        administration=commune,
        direction="incoming",
        data=b"date,sender,subject\n2019-01-02,X,Y\n",
        filename="registre.csv",
        dry_run=True,
    )

    tokens = {}
    for persona, user in users.items():
        issued = api_token_issue(email=user.email, password=PASSWORD)
        assert issued is not None
        tokens[persona] = issued[1]

    checkpoint = RegisterCheckpoint.objects.filter(administration=commune).first()
    ids: dict[str, Any] = {
        "code": commune.code,
        "correspondence": request.pk,
        "receipt_token": receipt.token,
        "reply": reply.pk,
        "letter": letter.pk,
        "sealed_token": sealed.token if sealed else "none",
        "document_request": asked.pk,
        "folder": folder.pk,
        "annex": folder.annexes.get().pk,
        "fingerprint": folder.document,
        "circuit": circuit.pk,
        "delegation": delegation.pk,
        "procedure": procedure.pk,
        "calendar_day": day.pk,
        "routing_rule": rule.pk,
        "letter_template": template.pk,
        "register_import": imported.pk,
        "service": secretariat.pk,
        "membership": Membership.objects.get(user=users[CLERK], administration=commune).pk,
        "user": users[CITIZEN].pk,
        "administration": commune.pk,
        "checkpoint": checkpoint.pk if checkpoint else 1,
        "verify_email_token": "x",
        "reset_uid": urlsafe_base64_encode(force_bytes(users[CITIZEN].pk)),
        "correspondence_type": ContentType.objects.get(app_label="registry", model="correspondence").pk,
    }
    return World(commune=commune, elsewhere=elsewhere, users=users, tokens=tokens, ids=ids)
