"""The provider, its services, its people and their roles, and the security log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from caregov.roles import SECOND_FACTOR_ROLES_DEFAULT, Role


def second_factor_roles_default() -> list[str]:
    return [role.value for role in SECOND_FACTOR_ROLES_DEFAULT]


class Organisation(models.Model):
    """The provider: the registered organisation that runs the services."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    #: Role values whose holders must sign in with a second factor (chosen by an admin).
    second_factor_roles = models.JSONField(
        "roles that must use a second factor", default=second_factor_roles_default, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    #: When every getting-started step was first seen done: from then on the checklist is gone
    #: for good, even when a service is added later that has no ECM export yet.
    getting_started_done_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("A person needs an email address to sign in.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractBaseUser, PermissionsMixin):
    """One login per person; what they may do comes from their memberships."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="people"
    )
    job_title = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField("active", default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    reminders_by = models.CharField(
        "how you hear about your work",
        max_length=10,
        choices=[
            ("each", "An email each time"),
            ("digest", "One email a day, at 7:00"),
        ],
        default="each",
    )
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def get_absolute_url(self) -> str:
        return reverse("person_detail", kwargs={"pk": self.pk})


class Service(models.Model):
    """A care service the provider runs: a care home, a home-care branch and so on."""

    class Type(models.TextChoices):
        CARE_HOME = "care_home", "Care home"
        NURSING_HOME = "nursing_home", "Nursing home"
        DOMICILIARY_CARE = "domiciliary_care", "Domiciliary care"
        SUPPORTED_LIVING = "supported_living", "Supported living"
        EXTRA_CARE = "extra_care", "Extra care"

    class Phase(models.TextChoices):
        PLANNING = "planning", "Planning"
        ROLLOUT = "rollout", "Rollout"
        STABILISED = "stabilised", "Stabilised"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="services"
    )
    name = models.CharField(max_length=150)
    code = models.SlugField(
        max_length=20, help_text="A short code used in imports and exports, like WILLOW."
    )
    service_type = models.CharField("type", max_length=30, choices=Type.choices)
    address_line_1 = models.CharField("address line 1", max_length=150)
    address_line_2 = models.CharField("address line 2", max_length=150, blank=True)
    town = models.CharField("town or city", max_length=80)
    postcode = models.CharField(max_length=10)
    registered_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_services",
    )
    phase = models.CharField(
        "implementation phase", max_length=20, choices=Phase.choices, default=Phase.PLANNING
    )
    phase_changed_on = models.DateField("phase since", default=timezone.localdate)
    is_active = models.BooleanField("open", default=True)
    #: When the service was added to caregov: nothing is reviewed for a period that ended before.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="service_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("service_detail", kwargs={"pk": self.pk})

    @property
    def address(self) -> str:
        parts = [self.address_line_1, self.address_line_2, self.town, self.postcode]
        return ", ".join(p for p in parts if p)


class Membership(models.Model):
    """A person's role, held at one service or across the whole organisation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=30, choices=Role.choices)
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        help_text="Leave empty for a role across the whole organisation.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["role", "service__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "service"], name="membership_unique_per_service"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(service__isnull=True),
                name="membership_unique_org_wide",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}, {self.scope_label}"

    @property
    def scope_label(self) -> str:
        return self.service.name if self.service_id else "whole organisation"


class SecurityEvent(models.Model):
    """An append-only record of sign-ins, lockouts and refusals, for organisation admins."""

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded", "Signed in"
        LOGIN_FAILED = "login_failed", "Sign-in failed"
        LOCKED_OUT = "locked_out", "Locked out"
        LOGOUT = "logout", "Signed out"
        SESSION_EXPIRED = "session_expired", "Session ended by timeout"
        PERMISSION_DENIED = "permission_denied", "Permission denied"
        READ_ONLY_WRITE_REFUSED = "read_only_write_refused", "Change refused (read-only role)"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
        PASSWORD_RESET_REFUSED = "password_reset_refused", "Password reset not sent (too many)"
        PASSWORD_CHANGED = "password_changed", "Password set"
        ACCOUNT_DEACTIVATED = "account_deactivated", "Login deactivated"
        ACCOUNT_REACTIVATED = "account_reactivated", "Login reactivated"
        SECOND_FACTOR_ADDED = "second_factor_added", "Second factor set up"
        SECOND_FACTOR_PASSED = "second_factor_passed", "Second factor confirmed"
        SECOND_FACTOR_FAILED = "second_factor_failed", "Second-factor code refused"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        RECOVERY_CODES_MADE = "recovery_codes_made", "New recovery codes made"
        SECOND_FACTOR_RESET = "second_factor_reset", "Second factor reset by an admin"
        SECOND_FACTOR_ROLES_CHANGED = "second_factor_roles_changed", "Second-factor roles changed"
        IDENTITY_CHECK_FAILED = "identity_check_failed", "Identity check failed"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="security_events",
    )
    email = models.CharField("email given", max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=500, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    #: How many times it happened: repeats of one refusal within minutes are counted on one row.
    repeats = models.PositiveIntegerField(default=1)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["kind", "email", "created_at"], name="secevent_kind_email"),
            models.Index(fields=["kind", "ip_address", "created_at"], name="secevent_kind_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.email or ''} {self.created_at:%Y-%m-%d %H:%M}"
