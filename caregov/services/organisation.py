"""Writes for the organisation, its services and its people. Each is atomic and writes history."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from caregov.access import ORGANISATION_ONLY_ROLES, SERVICE_ONLY_ROLES, Role
from caregov.history import delete_with_reason, save_with_reason
from caregov.models import Membership, Organisation, SecurityEvent, Service, User
from caregov.security import record_event

SERVICE_FIELDS = (
    "name",
    "code",
    "service_type",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "registered_manager",
    "phase",
    "is_active",
)


def _check_manager(organisation: Organisation, manager: User | None) -> None:
    if manager is not None and manager.organisation_id != organisation.pk:
        raise ValidationError({"registered_manager": "Choose a person from this organisation."})


def _check_code(organisation: Organisation, code: str, exclude_pk: int | None = None) -> None:
    clash = Service.objects.filter(organisation=organisation, code__iexact=code)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"code": f"Another service already uses the code {code.upper()}."})


@transaction.atomic
def service_create(*, actor: User | None, organisation: Organisation, **fields) -> Service:
    unknown = set(fields) - set(SERVICE_FIELDS) - {"phase_changed_on"}
    if unknown:
        raise TypeError(f"Unknown service fields: {sorted(unknown)}")
    fields["code"] = fields["code"].upper()
    _check_code(organisation, fields["code"])
    _check_manager(organisation, fields.get("registered_manager"))
    service = Service(organisation=organisation, **fields)
    service.full_clean()
    return save_with_reason(service, actor=actor, reason="caregov.service.created")


@transaction.atomic
def service_update(*, actor: User, service: Service, **fields) -> Service:
    service = Service.objects.select_for_update().get(pk=service.pk)
    unknown = set(fields) - set(SERVICE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown service fields: {sorted(unknown)}")
    if "code" in fields:
        fields["code"] = fields["code"].upper()
        _check_code(service.organisation, fields["code"], exclude_pk=service.pk)
    _check_manager(service.organisation, fields.get("registered_manager"))
    phase_changed = "phase" in fields and fields["phase"] != service.phase
    for name, value in fields.items():
        setattr(service, name, value)
    if phase_changed:
        service.phase_changed_on = timezone.localdate()
    service.full_clean()
    reason = "caregov.service.phase_changed" if phase_changed else "caregov.service.updated"
    return save_with_reason(service, actor=actor, reason=reason)


def _check_membership_scope(role: str, service: Service | None) -> None:
    if role in SERVICE_ONLY_ROLES and service is None:
        raise ValidationError(
            {"service": f"A {Role(role).label.lower()} must be linked to a named service."}
        )
    if role in ORGANISATION_ONLY_ROLES and service is not None:
        raise ValidationError(
            {
                "service": f"An {Role(role).label.lower()} works across the whole organisation: "
                "leave the service empty."
            }
        )


@transaction.atomic
def membership_give(
    *,
    actor: User | None,
    user: User,
    role: str,
    service: Service | None,
    created_at: datetime | None = None,
) -> Membership:
    if service is not None and service.organisation_id != user.organisation_id:
        raise ValidationError({"service": "Choose a service of this person's organisation."})
    _check_membership_scope(role, service)
    existing = Membership.objects.filter(user=user, role=role, service=service)
    if existing.exists():
        where = service.name if service else "the whole organisation"
        raise ValidationError(
            {"role": f"{user} is already {Role(role).label.lower()} for {where}."}
        )
    membership = Membership(
        user=user, organisation_id=user.organisation_id, role=role, service=service
    )
    if created_at is not None:
        membership.created_at = created_at
        membership._history_date = created_at
    return save_with_reason(membership, actor=actor, reason="caregov.membership.given")


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    delete_with_reason(membership, actor=actor, reason="caregov.membership.removed")


def _send_invitation(user: User, *, invited_by: User | None, base_url: str) -> None:
    link = base_url.rstrip("/") + reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {"user": user, "invited_by": invited_by, "link": link}
    send_mail(
        subject=f"You have been invited to caregov by {user.organisation}",
        message=render_to_string("registration/invitation_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


@transaction.atomic
def person_invite(
    *,
    actor: User | None,
    organisation: Organisation,
    email: str,
    full_name: str,
    job_title: str = "",
    role: str,
    service: Service | None,
    base_url: str = "http://127.0.0.1:8000",
    send_email: bool = True,
) -> User:
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": f"{email} already has a login. Give them a role instead."})
    _check_membership_scope(role, service)
    user = User(
        email=email, full_name=full_name.strip(), job_title=job_title, organisation=organisation
    )
    user.set_unusable_password()
    save_with_reason(user, actor=actor, reason="caregov.person.invited")
    membership_give(actor=actor, user=user, role=role, service=service)
    if send_email:
        transaction.on_commit(lambda: _send_invitation(user, invited_by=actor, base_url=base_url))
    return user


def _end_sessions(user: User) -> int:
    """Delete every stored session that belongs to this user."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def person_deactivate(*, actor: User, user: User, request=None) -> User:
    if user.pk == actor.pk:
        raise ValidationError("You cannot deactivate your own login.")
    if not user.is_active:
        return user
    user.is_active = False
    user.deactivated_at = timezone.now()
    save_with_reason(user, actor=actor, reason="caregov.person.deactivated")
    ended = _end_sessions(user)
    record_event(
        SecurityEvent.Kind.ACCOUNT_DEACTIVATED,
        request=request,
        user=actor,
        email=user.email,
        detail=f"{user.email} deactivated by {actor.email}; {ended} session(s) ended",
    )
    return user


@transaction.atomic
def person_reactivate(*, actor: User, user: User, request=None) -> User:
    if user.is_active:
        return user
    user.is_active = True
    user.deactivated_at = None
    save_with_reason(user, actor=actor, reason="caregov.person.reactivated")
    record_event(
        SecurityEvent.Kind.ACCOUNT_REACTIVATED,
        request=request,
        user=actor,
        email=user.email,
        detail=f"{user.email} reactivated by {actor.email}",
    )
    return user


@transaction.atomic
def person_update(*, actor: User, user: User, full_name: str, job_title: str) -> User:
    user.full_name = full_name.strip()
    user.job_title = job_title.strip()
    user.full_clean(exclude=["password"])
    return save_with_reason(user, actor=actor, reason="caregov.person.updated")


@transaction.atomic
def getting_started_finish(
    *, actor: User, organisation: Organisation, at: datetime
) -> Organisation:
    """Record that every getting-started step is done, so the checklist never shows again for
    this organisation. The steps are read from the records; this only remembers the moment."""
    from caregov.access import has_organisation_capability
    from caregov.getting_started import progress_of

    if actor.organisation_id != organisation.pk or not has_organisation_capability(
        actor, "getting_started.view"
    ):
        raise PermissionDenied("Your role does not see the getting-started checklist.")
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation.getting_started_done_at is not None:
        return organisation
    if not all(progress.done for _, progress in progress_of(organisation)):
        raise ValidationError("Some getting-started steps are not done yet.")
    organisation.getting_started_done_at = at
    return save_with_reason(
        organisation, actor=actor, reason="caregov.organisation.getting_started_done"
    )


# A new provider ---------------------------------------------------------------------------------

#: The key of the PostgreSQL advisory lock that first-run set-up holds while it checks that no
#: organisation exists and makes the first one (any fixed number that nothing else uses).
FIRST_RUN_LOCK = 0x63617265  # "care"


def _lock_first_run() -> None:
    """Serialise first-run set-up: a second submission waits here until the first has committed,
    then finds the organisation it made. PostgreSQL takes a transaction-scoped advisory lock;
    SQLite takes its one write lock by writing nothing, before anything is read."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FIRST_RUN_LOCK])
        else:
            cursor.execute("UPDATE caregov_organisation SET id = id WHERE 1 = 0")


def _unique_slug(name: str) -> str:
    from django.utils.text import slugify

    base = slugify(name)[:50].strip("-") or "organisation"
    slug, n = base, 1
    while Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _tidy(name: str, email: str, full_name: str) -> tuple[str, str, str]:
    return " ".join(name.split()), email.strip().lower(), " ".join(full_name.split())


def organisation_create_problems(
    *, name: str, admin_email: str, admin_full_name: str
) -> dict[str, list[str]]:
    """What stops `organisation_create` with these details, by field (empty: nothing), so the
    command can say so before it asks for a password."""
    name, email, full_name = _tidy(name, admin_email, admin_full_name)
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Enter the organisation's name."]
    elif taken := Organisation.objects.filter(name__iexact=name).first():
        errors["name"] = [
            f"{taken.name} is already on caregov. Give another name, or ask its organisation "
            "admin for a login."
        ]
    if not full_name:
        errors["full_name"] = ["Enter your full name."]
    if not email:
        errors["email"] = ["Enter your email address."]
    elif User.objects.filter(email__iexact=email).exists():
        errors["email"] = [f"{email} already has a login on caregov. Use another address."]
    return errors


class FirstRunDone(Exception):
    """First-run set-up was asked for, but an organisation exists already."""


@transaction.atomic
def organisation_create(
    *,
    name: str,
    admin_email: str,
    admin_full_name: str,
    password: str | None = None,
    invite: bool = False,
    first_run: bool = False,
    base_url: str | None = None,
) -> User:
    """A new provider and its first organisation admin, who signs in with `password` or, with
    `invite`, sets one from the invitation email. Nothing is made when anything is wrong.

    `first_run` is the browser's set-up on an empty database: it refuses (FirstRunDone) once any
    organisation exists, checked under a lock so two racing submissions make one organisation.
    Returns the admin; their organisation is `admin.organisation`."""
    from django.contrib.auth.password_validation import validate_password

    if first_run:
        _lock_first_run()
        if Organisation.objects.exists():
            raise FirstRunDone
    name, email, full_name = _tidy(name, admin_email, admin_full_name)
    errors = organisation_create_problems(name=name, admin_email=email, admin_full_name=full_name)
    user = User(email=email, full_name=full_name)
    if not invite:
        if not password:
            errors["password"] = ["Enter a password."]
        else:
            try:
                validate_password(password, user=user)
            except ValidationError as error:
                errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)

    organisation = Organisation(name=name, slug=_unique_slug(name))
    organisation.full_clean()
    save_with_reason(organisation, actor=None, reason="caregov.organisation.created")
    user.organisation = organisation
    if invite:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean(exclude=["password"])
    save_with_reason(user, actor=None, reason="caregov.organisation.first_admin")
    membership_give(actor=None, user=user, role=Role.ORG_ADMIN, service=None)
    if invite:
        url = base_url or settings.SITE_URL
        transaction.on_commit(lambda: _send_invitation(user, invited_by=None, base_url=url))
    return user
