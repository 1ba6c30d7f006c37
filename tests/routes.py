"""Every route Django serves, how to name an object of ours in it, and who may reach it.

``tests/test_routes.py`` walks the URL resolver: a route missing here, or named here and gone,
fails the suite; every persona not allowed on a route gets 401/403/404 (or is sent to sign in)
on each of its methods, never a page, a file or a change. Adding a route means adding its line.

Kwargs name objects of ``tests.world``: ``"@folder"`` is the id of commune's folder, any other
string is taken as it is. ``@code`` is commune's code (the outsider also tries its own code
with our objects, as ``outsider_own_code``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.world import (
    ADMIN,
    AGENT,
    ANONYMOUS,
    AUDITOR,
    CITIZEN,
    CLERK,
    HEAD,
    PERSONAS,
    PLATFORM,
    SIGNATORY,
)

EVERYONE = frozenset(PERSONAS)
SIGNED_IN = EVERYONE - {ANONYMOUS}
NOBODY: frozenset[str] = frozenset()
# Staff of commune, by what they may do.
STAFF = frozenset({CLERK, AGENT, HEAD, SIGNATORY, ADMIN, AUDITOR})
ACTING_STAFF = STAFF - {AUDITOR}
REGISTRARS = frozenset({CLERK, ADMIN})
ADMINS = frozenset({ADMIN})
# Who reads the case (assigned to the agent's and the head's service): not the signatory.
CASE_READERS = STAFF - {SIGNATORY}
# Who reads the folder: its submitter (the clerk), the people of its steps, admins and auditors.
FOLDER_READERS = frozenset({CLERK, HEAD, SIGNATORY, ADMIN, AUDITOR})

PAGE = "page"  # a web page: anonymous visitors are sent to sign in
API = "api"  # /api/v1/: a bearer token, anonymous callers get 401
ADMIN_SITE = "admin"  # Django's admin: whoever is not a platform administrator is sent to its sign-in
EXCHANGE = "exchange"  # between installations: signed by a peer, people get 401/403


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the full pattern of an unnamed route
    kwargs: dict[str, str] = field(default_factory=dict)
    methods: tuple[str, ...] = ("GET",)
    allowed: frozenset[str] = NOBODY
    kind: str = PAGE
    public: str = ""  # why anybody may reach it
    query: str = ""  # appended to the URL
    # Where a refused persona may be sent instead of a 403/404 (besides the sign-in page).
    redirect_to: str = ""
    # Whether an anonymous visitor is sent to sign in (on a page), rather than refused.
    sign_in: bool = True
    # Who reaches the route by POST, when fewer than by GET (a page all staff read, admins change).
    writers: frozenset[str] | None = None
    body: dict[str, str] = field(default_factory=dict)  # what to POST besides the common fields
    # Refusals are tried on each of these changes to kwargs (every act of a dispatch view).
    variants: tuple[dict[str, str], ...] = ()
    # Why the URL opens nothing even to those who reach the route (else they must get a page or
    # a file: proof that it names a real object, so that the refusals are not those of a void).
    vacant: str = ""

    def __post_init__(self) -> None:
        if self.public:
            object.__setattr__(self, "allowed", EVERYONE)

    def reached_by(self, persona: str, method: str) -> bool:
        """Whether the persona gets past the route's access check (what it may then do there is
        the permission table's business: a refusal message on the page, a 403 or 409)."""
        if method != "GET" and self.writers is not None:
            return persona in self.writers
        return persona in self.allowed


C = "@code"
# The operations on a case (desk.processing) and the acts on a folder (desk.parapheur), each its
# own view.
CASE_OPERATIONS = ("assign", "send_back", "assign_agent", "start", "request_completion", "close", "note")
FOLDER_ACTS = ("approve", "sign", "reject", "return", "opinion", "comment", "withdraw")


def admin_model(app_label: str, model_name: str, object_id: str, *, read_only: bool = False) -> list[Route]:
    """The pages Django's admin serves for one registered model (``read_only``: the admin adds
    and deletes none, a platform administrator gets a 403 there)."""
    model = f"{app_label}_{model_name}"
    platform = frozenset({PLATFORM})
    path = f"admin/{app_label}/{model_name}/"
    vacant = "the admin adds and deletes none" if read_only else ""
    return [
        Route(f"admin:{model}_changelist", kind=ADMIN_SITE, allowed=platform),
        Route(f"admin:{model}_add", methods=("GET", "POST"), kind=ADMIN_SITE, allowed=platform, vacant=vacant),
        *(
            Route(
                f"admin:{model}_{view}",
                {"object_id": object_id},
                methods=methods,
                kind=ADMIN_SITE,
                allowed=platform,
                vacant=vacant if view == "delete" else "",
            )
            for view, methods in (("history", ("GET",)), ("delete", ("GET", "POST")), ("change", ("GET", "POST")))
        ),
        # The bare object address redirects to its change page, which is guarded.
        Route(
            f"{path}<path:object_id>/",
            {"object_id": object_id},
            kind=ADMIN_SITE,
            public="a redirect to the change page",
        ),
    ]


def page(
    name: str,
    allowed: frozenset[str],
    *methods: str,
    writers: frozenset[str] | None = None,
    body: dict[str, str] | None = None,
    variants: tuple[dict[str, str], ...] = (),
    **kwargs: str,
) -> Route:
    """A page of commune's desk."""
    return Route(
        name, {"code": C, **kwargs}, methods or ("GET",), allowed, writers=writers, body=body or {}, variants=variants
    )


ROUTES: list[Route] = [
    # ------------------------------------------------------------------ the platform
    Route("healthz", public="load balancers and monitoring; details only for platform administrators"),
    Route("favicon.ico", public="a redirect to the static icon"),
    Route("set_language", methods=("POST",), public="changes the visitor's language"),
    # ------------------------------------------------------------------ the desk
    Route("desk:home", allowed=SIGNED_IN),
    page("desk:register", STAFF),
    page("desk:counter_new", REGISTRARS, "GET", "POST"),
    page("desk:counter_batch", REGISTRARS, "GET", "POST"),
    Route("desk:counter_batch_done", {"code": C}, allowed=STAFF, query="?ids=@correspondence"),
    page("desk:register_import", ADMINS, "GET", "POST"),
    page("desk:register_import_status", ADMINS, pk="@register_import"),
    page("desk:register_import_confirm", ADMINS, "POST", pk="@register_import"),
    page("desk:correspondence", STAFF, pk="@correspondence"),
    page("desk:correspondence_receipt", STAFF, pk="@correspondence"),
    page("desk:attachment", STAFF, pk="@correspondence", position="1"),
    Route(
        "desk:attachment_searchable",
        {"code": C, "pk": "@correspondence", "position": "1"},
        allowed=STAFF,
        vacant="only scans get a searchable copy",
    ),
    page("desk:register_log", frozenset({ADMIN, AUDITOR}), "GET", "POST"),
    page("desk:register_checkpoint", frozenset({ADMIN, AUDITOR}), "POST"),
    Route("desk:search", {"code": C}, allowed=STAFF, query="?q=%D8%B1%D8%AE%D8%B5%D8%A9"),
    page("desk:inbox", STAFF),
    page("desk:bulk_assign", STAFF, "POST"),
    page("desk:note_new", ACTING_STAFF, "GET", "POST"),
    *(page(f"desk:case_{operation}", CASE_READERS, "POST", pk="@correspondence") for operation in CASE_OPERATIONS),
    page("desk:reply", CASE_READERS, "GET", "POST", pk="@correspondence"),
    Route(
        "desk:sealed_document",
        {"code": C, "pk": "@correspondence", "token": "@sealed_token"},
        allowed=STAFF,
        vacant="only a silence-acceptance attestation is served here; the token is the answer's",
    ),
    page("desk:procedures", STAFF),
    page("desk:procedure_new", ADMINS, "GET", "POST"),
    page("desk:starter", ADMINS, "GET", "POST"),
    page("desk:procedure_edit", ADMINS, "GET", "POST", pk="@procedure"),
    page("desk:calendar", STAFF, "GET", "POST", writers=ADMINS),
    page("desk:calendar_delete", ADMINS, "POST", pk="@calendar_day"),
    page("desk:routing", ADMINS, "GET", "POST"),
    page("desk:routing_delete", ADMINS, "POST", pk="@routing_rule"),
    page("desk:letters", ADMINS, "GET", "POST"),
    page("desk:letter_edit", ADMINS, "GET", "POST", pk="@letter_template"),
    page("desk:parapheur", STAFF),
    page("desk:folder_new", ACTING_STAFF, "GET", "POST"),
    page("desk:batch_sign", STAFF, "POST"),
    page("desk:certificate", ACTING_STAFF),
    page("desk:certificate_enrol", ACTING_STAFF, "GET", "POST"),
    page("desk:certificate_import", ACTING_STAFF, "GET", "POST"),
    page("desk:certificate_revoke", ACTING_STAFF, "POST"),
    page("desk:delegations", ACTING_STAFF, "GET", "POST"),
    page("desk:circuits", ADMINS, "GET", "POST"),
    page("desk:circuit_edit", ADMINS, "GET", "POST", pk="@circuit"),
    page("desk:delegation_end", frozenset({SIGNATORY}), "POST", pk="@delegation"),
    page("desk:folder", FOLDER_READERS, pk="@folder"),
    *(
        page(f"desk:folder_{act}", FOLDER_READERS, "POST", pk="@folder", body={"fingerprint": "@fingerprint"})
        for act in FOLDER_ACTS
    ),
    page(
        "desk:folder_file",
        FOLDER_READERS,
        pk="@folder",
        which="document",
        variants=({"which": "document"}, {"which": "original"}, {"which": "proof"}),
    ),
    page("desk:folder_annex", FOLDER_READERS, pk="@folder", annex_id="@annex"),
    page("desk:exchanges", STAFF, "GET", "POST"),
    page("desk:directory", STAFF),
    page("desk:documents", STAFF),
    page("desk:provided_declare", ADMINS, "GET", "POST"),
    page("desk:held_keep", ACTING_STAFF, "GET", "POST"),
    *(page(f"desk:{name}", ACTING_STAFF, "POST") for name in ("request_deliver", "request_refuse")),
    page("desk:held_ask", CASE_READERS, "POST", pk="@correspondence"),
    page("desk:held_copy", CASE_READERS, pk="@correspondence", request_id="@document_request"),
    page("desk:services", ADMINS, "GET", "POST"),
    page("desk:service_edit", ADMINS, "GET", "POST", pk="@service"),
    page("desk:staff", ADMINS, "GET", "POST"),
    page("desk:staff_revoke", ADMINS, "POST", membership_id="@membership"),
    # ------------------------------------------------------------------ between installations
    Route("exchange:installation", public="what a peer installation learns of this one: its name and key"),
    Route("exchange:directory", public="the administrations peers may write to, as api:directory"),
    *(
        Route(f"exchange:{name}", methods=methods, kind=EXCHANGE)
        for name, methods in (
            ("inbox", ("POST",)),
            ("document_requests", ("POST",)),
            ("document_answers", ("POST",)),
            ("checkpoints", ("POST",)),
            ("checkpoints_kept", ("POST",)),
        )
    ),
    # ------------------------------------------------------------------ the portal
    Route("portal:home", public="the home page"),
    Route("portal:signup", methods=("GET", "POST"), public="opening an account"),
    Route("portal:login", methods=("GET", "POST"), public="signing in"),
    Route("portal:logout", methods=("POST",), public="signing out"),
    Route("portal:password_change", methods=("GET", "POST"), allowed=SIGNED_IN),
    Route("portal:check_email", allowed=SIGNED_IN),
    Route("portal:resend_verification", methods=("POST",), allowed=SIGNED_IN),
    Route(
        "portal:verify_email",
        {"token": "@verify_email_token"},
        public="the link of the confirmation e-mail",
        vacant="a wrong token",
    ),
    Route("portal:password_reset", methods=("GET", "POST"), public="asking for a reset link"),
    Route("portal:password_reset_done", public="says a link was sent"),
    Route(
        "portal:password_reset_confirm",
        {"uidb64": "@reset_uid", "token": "set-password"},
        methods=("GET", "POST"),
        public="the link of the reset e-mail (a wrong token says so)",
    ),
    Route("portal:password_reset_complete", public="says the password was reset"),
    Route("portal:deposit", methods=("GET", "POST"), allowed=SIGNED_IN),
    Route("portal:deposit_procedures", query="?administration=@code", public="the procedures of the deposit form"),
    Route("portal:deposits", allowed=SIGNED_IN),
    Route("portal:deposit_detail", {"pk": "@correspondence"}, allowed=frozenset({CITIZEN})),
    Route("portal:deposit_receipt", {"pk": "@correspondence"}, allowed=frozenset({CITIZEN})),
    Route("portal:deposit_complete", {"pk": "@correspondence"}, methods=("GET", "POST"), allowed=frozenset({CITIZEN})),
    Route("portal:deposit_letter", {"pk": "@correspondence", "reply_id": "@reply"}, allowed=frozenset({CITIZEN})),
    Route("portal:deposit_attestation", {"pk": "@correspondence"}, methods=("POST",), allowed=frozenset({CITIZEN})),
    Route("portal:letters", allowed=SIGNED_IN),
    Route("portal:letter_pdf", {"pk": "@letter"}, allowed=frozenset({CITIZEN})),
    Route("portal:notifications", methods=("GET", "POST"), allowed=SIGNED_IN),
    Route("portal:access_log", allowed=SIGNED_IN),
    Route("portal:track", methods=("GET", "POST"), public="following a request with its number and tracking code"),
    # The tracked request's pages open to the session that gave its number and code, to nobody else.
    Route("portal:tracked", sign_in=False, redirect_to="/track/"),
    Route("portal:tracked_receipt", sign_in=False),
    Route("portal:tracked_letter", {"reply_id": "@reply"}, sign_in=False),
    Route("portal:tracked_attestation", methods=("POST",), sign_in=False),
    Route("portal:catalogue_index", public="the catalogue of procedures"),
    Route("portal:catalogue", {"code": C}, public="an administration's procedures"),
    Route("portal:verify", methods=("GET", "POST"), public="checking a document"),
    Route("portal:verify_token", {"token": "@receipt_token"}, public="the verification link printed on a document"),
    Route("portal:ca_certificate", public="the root certificate that checks seals"),
    Route("portal:crl", public="the revocation list"),
    # ------------------------------------------------------------------ the API
    Route("api:openapi-json", kind=API, public="the API's description"),
    Route("api:openapi-view", kind=API, public="the API's documentation page"),
    Route("api:api-root", kind=API, public="nothing below the API's prefix", vacant="a 404"),
    Route("api:auth_token", methods=("POST",), kind=API, public="exchanging a password for a token"),
    Route("api:deposit_create", methods=("POST",), kind=API, allowed=SIGNED_IN),
    Route("api:deposit_list", kind=API, allowed=SIGNED_IN),
    Route("api:deposit_detail", {"deposit_id": "@correspondence"}, kind=API, allowed=frozenset({CITIZEN})),
    Route("api:deposit_receipt", {"deposit_id": "@correspondence"}, kind=API, allowed=frozenset({CITIZEN})),
    Route(
        "api:deposit_letter",
        {"deposit_id": "@correspondence", "reply_id": "@reply"},
        kind=API,
        allowed=frozenset({CITIZEN}),
    ),
    Route("api:verify_token", {"token": "@receipt_token"}, kind=API, public="what a document's verification link says"),
    Route("api:verify_upload", methods=("POST",), kind=API, public="checking a document"),
    Route("api:procedures", {"code": C}, kind=API, public="an administration's procedures"),
    Route("api:directory", kind=API, public="the administrations one may write to"),
    Route("api:case_list", {"code": C}, kind=API, allowed=STAFF),
    Route("api:case_detail", {"case_id": "@correspondence"}, kind=API, allowed=CASE_READERS),
    Route("api:case_letter", {"case_id": "@correspondence", "reply_id": "@reply"}, kind=API, allowed=STAFF),
    # Staff who read the case reach its acts; those the act is not theirs get 403, or 409 when
    # the case is not at the stage for it (it is answered).
    *(
        Route(f"api:case_{action}", {"case_id": "@correspondence"}, methods=("POST",), kind=API, allowed=reach)
        for action, reach in (
            ("assign", REGISTRARS),
            ("send_back", frozenset({CLERK, AGENT, HEAD, ADMIN})),
            ("assign_agent", frozenset({HEAD, ADMIN})),
            ("start", frozenset({AGENT, HEAD, ADMIN})),
            ("request_completion", frozenset({AGENT, HEAD, ADMIN})),
            ("reply", frozenset({AGENT, HEAD, ADMIN})),
            ("close", frozenset({CLERK, AGENT, HEAD, ADMIN})),
            ("note", frozenset({CLERK, AGENT, HEAD, ADMIN})),
        )
    ),
    Route("api:folder_create", {"code": C}, methods=("POST",), kind=API, allowed=ACTING_STAFF),
    Route("api:pending", {"code": C}, kind=API, allowed=STAFF),
    Route("api:folder_detail", {"code": C, "folder_id": "@folder"}, kind=API, allowed=FOLDER_READERS),
    Route(
        "api:folder_act",
        {"code": C, "folder_id": "@folder"},
        methods=("POST",),
        kind=API,
        allowed=FOLDER_READERS,
        body={"action": "approve", "fingerprint": "@fingerprint"},
    ),
    Route("api:folder_document", {"code": C, "folder_id": "@folder"}, kind=API, allowed=FOLDER_READERS),
    Route(
        "api:folder_proof",
        {"code": C, "folder_id": "@folder"},
        kind=API,
        allowed=FOLDER_READERS,
        vacant="a folder has its proof once signed",
    ),
    Route("api:exchange_send", {"code": C}, methods=("POST",), kind=API, allowed=ACTING_STAFF),
    Route("api:exchange_list", {"code": C}, kind=API, allowed=STAFF),
    Route("api:search_registers", kind=API, query="?q=permis&administration=@code", allowed=STAFF),
    Route("api:letter_list", kind=API, allowed=SIGNED_IN),
    Route("api:letter_detail", {"letter_id": "@letter"}, kind=API, allowed=frozenset({CITIZEN})),
    Route("api:letter_pdf", {"letter_id": "@letter"}, kind=API, allowed=frozenset({CITIZEN})),
    # ------------------------------------------------------------------ Django's admin site
    Route("admin:login", methods=("GET", "POST"), kind=ADMIN_SITE, public="the admin's sign-in page"),
    Route("admin:logout", methods=("POST",), kind=ADMIN_SITE, public="signing out"),
    *(
        Route(f"admin:{name}", kwargs, kind=ADMIN_SITE, allowed=frozenset({PLATFORM}), vacant=vacant)
        for name, kwargs, vacant in (
            ("index", {}, ""),
            ("password_change", {}, ""),
            ("password_change_done", {}, ""),
            ("autocomplete", {}, "it answers the admin's own widgets, with their parameters"),
            ("jsi18n", {}, ""),
            (
                "view_on_site",
                {"content_type_id": "@correspondence_type", "object_id": "@correspondence"},
                "a correspondence has no public page",
            ),
            ("app_list", {"app_label": "registry"}, ""),
            ("core_outboxmessage_changelist", {}, ""),
            ("core_outboxmessage_change", {"key": "x"}, "the tests keep no mail in the outbox"),
            ("core_outboxmessage_raw", {"key": "x"}, "the tests keep no mail in the outbox"),
            ("core_outboxmessage_part", {"key": "x", "index": "0"}, "the tests keep no mail in the outbox"),
            ("auth_user_password_change", {"id": "@user"}, ""),
        )
    ),
    Route("admin/(?P<url>.*)$", {"url": "registry/"}, kind=ADMIN_SITE, allowed=frozenset({PLATFORM})),
    *(
        route
        for app_label, model_name, object_id, read_only in (
            ("tenancy", "user", "@user", False),
            ("registry", "correspondence", "@correspondence", True),
            ("registry", "registercheckpoint", "@checkpoint", True),
            ("tenancy", "administration", "@administration", False),
            # No task result is kept by the tests' immediate tasks: the admin redirects to its list.
            ("django_tasks_database", "dbtaskresult", "00000000-0000-0000-0000-000000000000", True),
        )
        for route in admin_model(app_label, model_name, object_id, read_only=read_only)
    ),
]
