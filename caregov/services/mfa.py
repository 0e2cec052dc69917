"""Writes for second factors: set up an authenticator app or a passkey, check a code, make
recovery codes, reset a person's second factor, and choose the roles that need one."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp import verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from caregov.access import Role
from caregov.history import save_with_reason
from caregov.models import Organisation, Passkey, SecurityEvent, User
from caregov.security import record_event

Kind = SecurityEvent.Kind
RECOVERY_CODE_COUNT = 10
APP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def _totp_step(key_hex: str, token: str) -> int | None:
    """The time step at which `token` is the code an app holding `key_hex` shows (now, or one
    step either side for a phone clock a little out), or None when it is not."""
    if not token.isdigit() or len(token) != 6:
        return None
    totp = TOTP(bytes.fromhex(key_hex), step=30, digits=6)
    totp.time = timezone.now().timestamp()
    return totp.t() if totp.verify(int(token), tolerance=1) else None


def _recovery_codes_make(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic
def totp_set_up(*, user: User, key_hex: str, token: str, request=None) -> list[str]:
    """Confirm an authenticator app with its first code. It replaces the person's previous app.
    Returns new recovery codes when the person had none (their first second factor)."""
    token = (token or "").replace(" ", "")
    step = _totp_step(key_hex, token)
    if step is None:
        raise ValidationError(
            {"code": "That code is not right. Enter the 6-digit code the app shows now."}
        )
    TOTPDevice.objects.filter(user=user).delete()
    # The code that confirmed the app cannot be used again to sign in.
    TOTPDevice.objects.create(user=user, name=APP_NAME, key=key_hex, confirmed=True, last_t=step)
    record_event(Kind.SECOND_FACTOR_ADDED, request=request, user=user, detail=APP_NAME)
    return _first_recovery_codes(user, request=request)


def _first_recovery_codes(user: User, *, request=None) -> list[str]:
    if StaticToken.objects.filter(device__user=user).exists():
        return []
    codes = _recovery_codes_make(user)
    record_event(Kind.RECOVERY_CODES_MADE, request=request, user=user, detail="First set")
    return codes


@transaction.atomic
def recovery_codes_renew(*, user: User, request=None) -> list[str]:
    """A new set of recovery codes; the old ones stop working."""
    codes = _recovery_codes_make(user)
    record_event(Kind.RECOVERY_CODES_MADE, request=request, user=user, detail="Replaced the set")
    return codes


def second_factor_check(*, user: User, token: str, request=None) -> str | None:
    """Check a code from the app, or a recovery code (each works once). Returns what passed
    ("app" or "recovery code"), or None after recording the refusal."""
    token = (token or "").replace(" ", "").replace("-", "").lower()
    # Six digits are the app's; anything else is a recovery code. Each is tried only on its own
    # kind of device, so a recovery code does not count as a wrong app code (and slow the app).
    is_app_code = token.isdigit() and len(token) == 6
    devices = (
        TOTPDevice.objects.filter(user=user, confirmed=True)
        if is_app_code
        else StaticDevice.objects.filter(user=user, confirmed=True)
    )
    for device in devices:
        if token and verify_token(user, device.persistent_id, token) is not None:
            if isinstance(device, StaticDevice):
                left = StaticToken.objects.filter(device=device).count()
                record_event(
                    Kind.RECOVERY_CODE_USED,
                    request=request,
                    user=user,
                    detail=f"{left} recovery code{'s' if left != 1 else ''} left",
                )
                return "recovery code"
            record_event(Kind.SECOND_FACTOR_PASSED, request=request, user=user, detail=APP_NAME)
            return "app"
    record_event(Kind.SECOND_FACTOR_FAILED, request=request, user=user, detail="Wrong code")
    return None


@transaction.atomic
def passkey_add(
    *,
    user: User,
    name: str,
    credential_id: str,
    public_key: bytes,
    sign_count: int,
    transports: list[str],
    request=None,
) -> tuple[Passkey, list[str]]:
    passkey = Passkey.objects.create(
        user=user,
        name=name[:100] or "Passkey",
        credential_id=credential_id,
        public_key=public_key,
        sign_count=sign_count,
        transports=transports,
    )
    record_event(Kind.SECOND_FACTOR_ADDED, request=request, user=user, detail=f"Passkey {name}")
    return passkey, _first_recovery_codes(user, request=request)


@transaction.atomic
def second_factor_reset(*, actor: User, user: User, request=None) -> User:
    """An organisation admin clears a person's second factor (a lost phone): their app,
    passkeys and recovery codes go and their sessions end. They set one up at next sign-in."""
    from caregov.services.organisation import _end_sessions

    if actor.pk == user.pk:
        raise ValidationError(
            "You cannot reset your own second factor: ask another organisation admin."
        )
    removed = []
    if TOTPDevice.objects.filter(user=user).delete()[0]:
        removed.append("authenticator app")
    passkeys = Passkey.objects.filter(user=user).delete()[0]
    if passkeys:
        removed.append(f"{passkeys} passkey{'s' if passkeys != 1 else ''}")
    if StaticDevice.objects.filter(user=user).delete()[0]:
        removed.append("recovery codes")
    ended = _end_sessions(user)
    record_event(
        Kind.SECOND_FACTOR_RESET,
        request=request,
        user=actor,
        email=user.email,
        detail=f"Second factor of {user.email} reset by {actor.email}: removed "
        f"{', '.join(removed) or 'nothing (none was set up)'}; {ended} session(s) ended",
    )
    return user


@transaction.atomic
def second_factor_roles_set(
    *, actor: User, organisation: Organisation, roles: list[str], request=None
) -> Organisation:
    chosen = [r.value for r in Role if r.value in set(roles)]
    before = organisation.second_factor_roles
    organisation.second_factor_roles = chosen
    save_with_reason(
        organisation, actor=actor, reason="caregov.organisation.second_factor_roles_changed"
    )
    labels = ", ".join(Role(r).label.lower() for r in chosen) or "no roles"
    if set(before or []) != set(chosen):
        record_event(
            Kind.SECOND_FACTOR_ROLES_CHANGED,
            request=request,
            user=actor,
            detail=f"A second factor is now required for: {labels}"[:500],
        )
    return organisation
