"""Administrations, their services and staff, and the accounts of citizens and companies."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.languages import in_language

code_validator = RegexValidator(r"^[A-Z0-9][A-Z0-9-]{1,39}$", _("Use 2 to 40 capital letters, digits and dashes."))


class MultilingualName(models.Model):
    """Names in Arabic, French and Amazigh (Tifinagh), shown in the current language."""

    name_ar = models.CharField(_("name in Arabic"), max_length=200)
    name_fr = models.CharField(_("name in French"), max_length=200)
    name_zgh = models.CharField(_("name in Amazigh (Tifinagh)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        return in_language(self.name_ar, self.name_fr, self.name_zgh)


class Region(models.TextChoices):
    """The twelve regions of Morocco (2015 division)."""

    TANGER = "tanger-tetouan-al-hoceima", _("Tanger-Tétouan-Al Hoceïma")
    ORIENTAL = "oriental", _("Oriental")
    FES = "fes-meknes", _("Fès-Meknès")
    RABAT = "rabat-sale-kenitra", _("Rabat-Salé-Kénitra")
    BENI_MELLAL = "beni-mellal-khenifra", _("Béni Mellal-Khénifra")
    CASABLANCA = "casablanca-settat", _("Casablanca-Settat")
    MARRAKECH = "marrakech-safi", _("Marrakech-Safi")
    DRAA = "draa-tafilalet", _("Drâa-Tafilalet")
    SOUSS = "souss-massa", _("Souss-Massa")
    GUELMIM = "guelmim-oued-noun", _("Guelmim-Oued Noun")
    LAAYOUNE = "laayoune-sakia-el-hamra", _("Laâyoune-Sakia El Hamra")
    DAKHLA = "dakhla-oued-ed-dahab", _("Dakhla-Oued Ed-Dahab")


class Administration(MultilingualName):
    class Kind(models.TextChoices):
        COMMUNE = "commune", _("Commune")
        PROVINCE = "province", _("Provincial or prefectural council")
        REGION = "region", _("Regional council")
        MINISTRY = "ministry", _("Ministry")
        PUBLIC_BODY = "public_body", _("Public body")
        CHAMBER = "chamber", _("Chamber")

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    region = models.CharField(_("region"), max_length=40, choices=Region.choices, blank=True)
    is_active = models.BooleanField(_("accepts correspondence"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("administration")
        verbose_name_plural = _("administrations")

    def __str__(self) -> str:
        return f"{self.code} — {self.name_fr}"


class Service(MultilingualName):
    """A unit of an administration: a central directorate or a decentralised office."""

    class Kind(models.TextChoices):
        CENTRAL = "central", _("Central")
        DECENTRALISED = "decentralised", _("Decentralised")

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="services", verbose_name=_("administration")
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.CENTRAL)
    location = models.CharField(_("location"), max_length=120, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["administration", "code"]
        constraints = [models.UniqueConstraint(fields=["administration", "code"], name="service_code_unique")]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return f"{self.code} — {self.name_fr}"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True, email_verified_at=timezone.now())
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: a citizen, a company, a member of staff, a platform admin.

    Identity numbers are optional and kept as given, nothing more; pages and receipts show
    them masked (:func:`tenancy.selectors.mask_identifier`).
    """

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        COMPANY = "company", _("Company")

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    kind = models.CharField(_("account kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    national_id = models.CharField(
        _("national ID (CIN)"),
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{1,2}[0-9]{1,8}$", _("A CIN looks like AB123456."))],
    )
    company_id = models.CharField(
        _("company ID (ICE)"),
        max_length=15,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{15}$", _("An ICE has 15 digits."))],
    )
    language = models.CharField(_("language"), max_length=5, default="ar")
    email_verified_at = models.DateTimeField(_("e-mail address confirmed at"), null=True, blank=True)
    is_staff = models.BooleanField(_("platform administrator"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("account created at"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_at is not None


class Membership(models.Model):
    """A user's role in an administration, optionally within one service."""

    class Role(models.TextChoices):
        CLERK = "clerk", _("Bureau d'ordre clerk")
        AGENT = "agent", _("Processing agent")
        HEAD = "head", _("Head of service")
        SIGNATORY = "signatory", _("Signatory")
        ADMIN = "admin", _("Administration admin")
        AUDITOR = "auditor", _("Auditor")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("administration")
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships", verbose_name=_("service")
    )
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "administration", "role"], name="membership_role_unique"),
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} · {self.administration.code} · {self.get_role_display()}"


class ApiToken(models.Model):
    """A bearer token for the API. Only the SHA-256 of the token is stored.

    ``credential_stamp`` is a digest of the account's password hash when the token was issued:
    a token is honoured only while it matches, so any change of password (reset, change, admin,
    ``changepassword``) ends every token issued before it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    credential_stamp = models.CharField(max_length=64, default="")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class Throttle(models.Model):
    """Attempts counted against one key: an account, a client address or a known device.

    ``key`` is a keyed digest of what is counted (see :mod:`tenancy.throttles`), so the table
    names no one in clear. Rows past their window are deleted by the worker.
    """

    key = models.CharField(max_length=64, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends_at = models.DateTimeField()
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in limit")
        verbose_name_plural = _("sign-in limits")

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.count} until {self.window_ends_at:%Y-%m-%d %H:%M}"
