"""Citizen pages: account, deposit, my deposits, letters received, receipt download, public
verification."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.proxies import client_address
from core.ratelimit import RateLimited, rate_limit_hit, too_many
from core.uploads import upload_accepted, upload_refused
from parapheur.verification import document_verify
from portal.forms import (
    DepositForm,
    NewPasswordForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    SignUpForm,
    VerifyTokenForm,
    VerifyUploadForm,
    published_procedures,
)
from portal.tracking import follow_context
from registry import selectors
from registry.downloads import receipt_response, sealed_document_response
from registry.models import Channel
from registry.services import Party, RegistrationRefused
from registry.verification import stored_document_holds
from tenancy.forms import SignInForm
from tenancy.http import SignedInRequest
from tenancy.models import User
from tenancy.services import (
    PasswordChange,
    TokenInvalid,
    account_password_set,
    account_register,
    account_verify_email,
    email_verification_token,
    password_reset_request,
)
from tenancy.throttles import Throttled, device_remember
from workflow.selectors import replies_by_letter
from workflow.services import Deposit, deposit_register


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


class LoginView(auth_views.LoginView):
    """The sign-in page of citizens and staff; the limits are the backend's
    (:class:`tenancy.backends.ThrottledModelBackend`)."""

    template_name = "portal/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.throttled is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.throttled.retry_after)
        return response


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. The answer is the same whether an account uses the address or
    not, and is given before anything looks for one (the worker sends the e-mail)."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_request(email=form.cleaned_data["email"], address=client_address(request))
        except Throttled as throttled:
            form.add_error(None, throttled.describe())
            response = render(request, "portal/password_reset.html", {"form": form}, status=429)
            response["Retry-After"] = str(throttled.retry_after)
            return response
        return redirect("portal:password_reset_done")
    return render(request, "portal/password_reset.html", {"form": form})


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The new password from a reset link: every session and API token of the account ends,
    and this browser becomes a known device of the account (its owner proved who they are)."""

    template_name = "portal/password_reset_confirm.html"
    form_class = NewPasswordForm
    success_url = reverse_lazy("portal:password_reset_complete")

    def form_valid(self, form: NewPasswordForm) -> HttpResponse:  # type: ignore[override]
        user: User = form.user
        account_password_set(
            actor=user, user=user, password=form.cleaned_data["new_password1"], how=PasswordChange.RESET
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        device_remember(self.request, user.email)
        return redirect(self.get_success_url())


class PasswordChangeView(auth_views.PasswordChangeView):
    """A signed-in account changes its password: this session stays signed in, every other
    session and every API token ends."""

    template_name = "portal/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("portal:home")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form: PasswordChangeForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.throttled is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.throttled.retry_after)
        return response

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:  # type: ignore[override]
        user: User = form.user
        account_password_set(
            actor=user, user=user, password=form.cleaned_data["new_password1"], how=PasswordChange.CHANGED
        )
        update_session_auth_hash(self.request, user)
        messages.success(
            self.request, _("Your password was changed. Your other sessions and your API tokens were signed out.")
        )
        return redirect(self.get_success_url())


def _send_verification(request: HttpRequest, user: User) -> None:
    # Under the public URL, as every e-mailed link: not the host or scheme this request came with.
    link = settings.PUBLIC_URL + reverse("portal:verify_email", args=[email_verification_token(user)])
    body = render_to_string("portal/email/verify_email.txt", {"user": user, "link": link})
    send_mail(_("Confirm your e-mail address for Wasl"), body, None, [user.email])


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:deposits")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        try:
            rate_limit_hit(scope="signup", key=client_address(request), rate=settings.RATE_LOGIN)
        except RateLimited as limited:
            return too_many(request, limited)
        if form.is_valid():
            data = form.cleaned_data
            user = account_register(
                email=data["email"],
                password=data["password"],
                full_name=data["full_name"],
                kind=data["kind"],
                national_id=data["national_id"],
                company_id=data["company_id"],
                language=(get_language() or "ar")[:5],
            )
            _send_verification(request, user)
            login(request, user, backend="tenancy.backends.ThrottledModelBackend")
            device_remember(request, user.email)
            return redirect("portal:check_email")
    return render(request, "portal/signup.html", {"form": form})


@login_required
def check_email(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/check_email.html")


@login_required
@require_POST
def resend_verification(request: SignedInRequest) -> HttpResponse:
    user = request.user
    try:
        rate_limit_hit(scope="verify-mail", key=str(user.pk), rate=(3, 3600))
    except RateLimited as limited:
        return too_many(request, limited)
    if not user.is_email_verified:
        _send_verification(request, user)
    messages.success(request, _("We sent the confirmation link again."))
    return redirect("portal:check_email")


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        account_verify_email(token=token)
    except TokenInvalid:
        return render(request, "portal/verify_email_failed.html", status=400)
    messages.success(request, _("Your e-mail address is confirmed. You can now deposit correspondence."))
    return redirect("portal:deposit" if request.user.is_authenticated else "portal:login")


@login_required
@require_http_methods(["GET", "POST"])
def deposit(request: SignedInRequest) -> HttpResponse:
    user = request.user
    if not user.is_email_verified:
        return redirect("portal:check_email")
    initial = {"recipient": request.GET.get("to", ""), "procedure": request.GET.get("procedure", "")}
    if request.method == "POST" and "list_procedures" in request.POST:
        # Without the upload script: the administration was chosen, the form comes back with its
        # procedures and what was typed (files are chosen again), nothing registered, no error.
        typed = {name: request.POST.get(name, "") for name in ("recipient", "procedure", "subject", "body")}
        return render(request, "portal/deposit.html", {"form": DepositForm(initial=typed)})
    form = DepositForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST":
        try:
            rate_limit_hit(scope="deposit", key=str(user.pk), rate=settings.RATE_DEPOSIT)
        except RateLimited as limited:
            return too_many(request, limited)
        if form.is_valid():
            data = form.cleaned_data
            try:
                registration = deposit_register(
                    actor=user,
                    administration=data["recipient"],
                    channel=Channel.ONLINE,
                    deposit=Deposit(
                        sender=Party.of_account(user),
                        subject=data["subject"],
                        body=data["body"],
                        files=data["attachments"],
                        procedure_code=data["procedure"],
                    ),
                )
            except RegistrationRefused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                url = reverse("portal:deposit_detail", args=[registration.correspondence.pk])
                number = {"number": registration.correspondence.number}
                if registration.receipt is not None and registration.receipt.is_issued:
                    messages.success(
                        request, _("Registered under number %(number)s. Your sealed receipt is ready.") % number
                    )
                else:  # left pending (the worker issues it): the page says it is being sealed
                    messages.success(request, _("Registered under number %(number)s.") % number)
                return upload_accepted(request, url)
        return upload_refused(
            request, page="portal/deposit.html", form_template="portal/deposit_form.html", context={"form": form}
        )
    return render(request, "portal/deposit.html", {"form": form})


def deposit_procedures(request: HttpRequest) -> JsonResponse:
    """The procedures an administration publishes, for the deposit form's chooser (the upload
    script reloads them when the administration changes), labelled in the reader's language."""
    procedures = published_procedures(request.GET.get("to", "")[:40])
    return JsonResponse({"procedures": [{"code": code, "label": label} for code, label in procedures]})


@login_required
def deposits(request: SignedInRequest) -> HttpResponse:
    user = request.user
    items = selectors.deposits_of(user)[:200]
    return render(request, "portal/deposits.html", {"deposits": items})


@login_required
def deposit_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    user = request.user
    correspondence = selectors.deposit_for_owner(user, pk)
    attachments = correspondence.attachments.select_related("blob").order_by("position")
    return render(
        request,
        "portal/deposit_detail.html",
        {"attachments": attachments, "receipt": correspondence.receipt, **follow_context(correspondence)},
    )


@login_required
def letters(request: SignedInRequest) -> HttpResponse:
    """The sealed letters administrations sent to the user: answers, rejections, requests to
    complete a file (never listed among their deposits)."""
    user = request.user
    items = list(selectors.letters_to(user)[:200])
    replies = replies_by_letter([c.pk for c in items])
    return render(
        request,
        "portal/letters.html",
        {"letters": [(c, c.letters[0], replies.get(c.pk)) for c in items]},  # type: ignore[attr-defined]
    )


@login_required
def letter_pdf(request: SignedInRequest, pk: int) -> HttpResponseBase:
    user = request.user
    correspondence, document = selectors.letter_for_addressee(user, pk)
    return sealed_document_response(document, f"{correspondence.number}.pdf")


@login_required
def deposit_receipt(request: SignedInRequest, pk: int) -> HttpResponseBase:
    user = request.user
    correspondence = selectors.deposit_for_owner(user, pk)
    return receipt_response(correspondence)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Check a receipt: by its code (GET ?code=) or by uploading the PDF (POST)."""
    token_form = VerifyTokenForm(request.GET if "code" in request.GET else None)
    if token_form.is_bound and token_form.is_valid():
        return redirect("portal:verify_token", token=token_form.cleaned_data["code"])
    upload_form = VerifyUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"token_form": token_form, "upload_form": upload_form}
    if request.method == "POST":
        try:
            rate_limit_hit(scope="verify", key=client_address(request), rate=settings.RATE_VERIFY)
        except RateLimited as limited:
            return too_many(request, limited)
        if upload_form.is_valid():
            verdict = document_verify(upload_form.cleaned_data["file"].read())
            check = verdict.check
            context["check"] = check
            if verdict.signatures is not None:
                context["signatures"] = verdict.signatures
            if check.receipt is not None:
                context["c"] = check.receipt.correspondence
                context["attachments"] = check.receipt.correspondence.attachments.select_related("blob")
            elif check.document is not None:
                context["c"] = check.document.correspondence
                context["document"] = check.document
            elif verdict.folder is not None:  # a document signed through the parapheur, or its proof slip
                context["folder_kind"], context["folder"] = verdict.folder_kind, verdict.folder
            context["valid"], context["message"] = verdict.valid, verdict.message
            status = 200 if verdict.valid else 202 if verdict.finishing else 422
            return render(request, "portal/verify_result.html", context, status=status)
        return render(request, "portal/verify.html", context, status=400)
    return render(request, "portal/verify.html", context)


def verify_token(request: HttpRequest, token: str) -> HttpResponse:
    try:
        rate_limit_hit(scope="verify", key=client_address(request), rate=settings.RATE_VERIFY)
    except RateLimited as limited:
        return too_many(request, limited)
    receipt = selectors.receipt_by_token(token)
    if receipt is None:
        document = selectors.sealed_document_by_token(token)
        if document is not None:
            altered = not stored_document_holds(str(document.blob_id), document.correspondence, receipt=False)
            return render(
                request,
                "portal/verify_token.html",
                {"document": document, "c": document.correspondence, "altered": altered},
                status=409 if altered else 200,
            )
        return render(request, "portal/verify_token.html", {"receipt": None}, status=404)
    c = receipt.correspondence
    altered = not stored_document_holds(str(receipt.blob_id), c, receipt=True)
    return render(
        request,
        "portal/verify_token.html",
        {
            "receipt": receipt,
            "c": c,
            "attachments": c.attachments.select_related("blob").order_by("position"),
            "altered": altered,
        },
        status=409 if altered else 200,
    )


def ca_certificate(request: HttpRequest) -> HttpResponse:
    """The installation's root certificate, to check receipts' seals with any PDF reader."""
    from trust.services import ca_certificate_pem

    response = HttpResponse(ca_certificate_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="wasl-root-ca.pem"'
    return response


def crl(request: HttpRequest) -> HttpResponse:
    """The installation's revocation list: a revoked seal or signing certificate is listed here."""
    from trust.services import crl_pem

    response = HttpResponse(crl_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="wasl-root-ca.crl.pem"'
    response["Cache-Control"] = "public, max-age=3600"
    return response
