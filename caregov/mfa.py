"""Second factor by role: who must use one, where a person who has not passed it may go, and the
fresh identity check before a sign-off or a change to people's roles.

A session records two moments:
- `caregov_mfa_at`: when this person passed their second factor in this session (or when
  caregov found they have none and their roles need none);
- `caregov_identity_at`: when they last gave their password or their second factor.

The middleware is closed by default: a signed-in session without the first moment is confined
to the second-factor pages (set one up, or enter the code) until it gets one. Tests that sign in
with `force_login` stand for a full sign-in (tests/conftest.py marks those sessions as passed).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from caregov import access
from caregov.access import Role

PASSED_AT = "caregov_mfa_at"
IDENTITY_AT = "caregov_identity_at"
#: The secret of an authenticator app being set up, kept until the first code proves it.
PENDING_TOTP_KEY = "caregov_totp_key"


def _now() -> float:
    return timezone.now().timestamp()


# Policy ---------------------------------------------------------------------------------------


def required_roles(organisation) -> set[str]:
    if organisation is None:
        return set()
    return set(organisation.second_factor_roles or [])


def second_factor_required(user) -> bool:
    """Whether any of the person's roles is one their organisation requires a second factor for."""
    for membership in access.memberships_of(user):
        if membership.role in required_roles(membership.organisation):
            return True
    return False


def roles_requiring(user) -> list[str]:
    """The labels of the person's roles that need a second factor, for the set-up page."""
    labels = []
    for membership in access.memberships_of(user):
        if membership.role in required_roles(membership.organisation):
            label = Role(membership.role).label
            if label not in labels:
                labels.append(label)
    return labels


def totp_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def has_second_factor(user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from caregov.models import Passkey

    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or Passkey.objects.filter(user=user).exists()
    )


def code_wait_seconds(user) -> int:
    """How long django-otp makes the person wait before the app's next code is checked (it
    doubles the wait after each wrong code), 0 when a code may be tried now."""
    import math

    device = totp_device(user)
    if device is None or not device.throttling_failure_timestamp:
        return 0
    allowed, detail = device.verify_is_allowed()
    if allowed or not detail or "locked_until" not in detail:
        return 0
    return max(1, math.ceil((detail["locked_until"] - timezone.now()).total_seconds()))


def second_factor_summary(user) -> str:
    """What a person signs in with besides their password, in words ("" for nothing)."""
    parts = []
    if totp_device(user) is not None:
        parts.append("an authenticator app")
    passkeys = user.passkeys.count()
    if passkeys:
        parts.append(f"{passkeys} passkey{'s' if passkeys != 1 else ''}")
    left = recovery_codes_left(user)
    if parts:
        parts.append(f"{left} recovery code{'s' if left != 1 else ''} left")
    return ", ".join(parts)


def recovery_codes_left(user) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# The session ----------------------------------------------------------------------------------


def mark_passed(request) -> None:
    """The person has passed their second factor: a new session key, both moments now."""
    request.session.cycle_key()
    now = _now()
    request.session[PASSED_AT] = now
    request.session[IDENTITY_AT] = now


def mark_identity_given(request) -> None:
    request.session[IDENTITY_AT] = _now()


def pass_test_client(client) -> None:
    """For tests and benchmarks that sign in with `Client.force_login` (which skips the password
    as well): mark that session as having passed its second factor just now."""
    session = client.session
    now = _now()
    session[PASSED_AT] = now
    session[IDENTITY_AT] = now
    session.save()


def identity_is_fresh(request) -> bool:
    given = request.session.get(IDENTITY_AT)
    return given is not None and _now() - given <= settings.FRESH_IDENTITY_MINUTES * 60


def safe_next(request, fallback: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(fallback)


# Where an unconfirmed session may go ----------------------------------------------------------


def _open_paths() -> tuple[str, ...]:
    return (
        reverse("second_factor"),  # /account/second-factor/ and everything under it
        reverse("logout"),
        reverse("healthz"),
        settings.STATIC_URL,
    )


class SecondFactorMiddleware:
    """Confine a signed-in session that has not passed the second factor: to the set-up pages
    when the person's role needs one and they have none, to the code page when they have one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.session.get(PASSED_AT):
            return self.get_response(request)
        if has_second_factor(user):
            destination = "second_factor_check"
        elif second_factor_required(user):
            destination = "second_factor_set_up"
        else:
            # Nothing to check; a role given later, or a factor set up, is asked for next time
            # (set-up passes the session; a new role's requirement is met at the next sign-in).
            request.session[PASSED_AT] = _now()
            return self.get_response(request)
        request.caregov_second_factor_pending = destination
        if request.path.startswith(_open_paths()):
            return self.get_response(request)
        target = reverse(destination)
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)


# The fresh identity check ---------------------------------------------------------------------

CONFIRM_PREFIX = "identity"
CONFIRM_MARKER = "identity-check"
_CARRIED_EXCLUDE = {"csrfmiddlewaretoken", CONFIRM_MARKER}


class ConfirmIdentityForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Or a code from your authenticator app",
        required=False,
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "class": "input--short"}
        ),
    )

    def __init__(self, *args, request, **kwargs):
        kwargs.setdefault("prefix", CONFIRM_PREFIX)
        super().__init__(*args, **kwargs)
        self.request = request
        self.device = totp_device(request.user)
        if self.device is None:
            del self.fields["code"]

    def clean(self):
        from caregov.models import SecurityEvent
        from caregov.security import record_event

        data = super().clean()
        password = data.get("password") or ""
        code = (data.get("code") or "").replace(" ", "")
        user = self.request.user
        if not password and not code:
            raise forms.ValidationError(
                "Enter your password"
                + (" or a code from your authenticator app." if self.device else ".")
            )
        if code and self.device is not None:
            from django_otp import verify_token

            if verify_token(user, self.device.persistent_id, code) is not None:
                return data
            record_event(
                SecurityEvent.Kind.IDENTITY_CHECK_FAILED,
                request=self.request,
                user=user,
                detail="Wrong authenticator code",
            )
            self.add_error(
                "code", "That code is not right. Enter the 6-digit code the app shows now."
            )
            return data
        # Through the throttled backend: wrong passwords here count towards the account's lock.
        if authenticate(self.request, username=user.email, password=password) != user:
            record_event(
                SecurityEvent.Kind.IDENTITY_CHECK_FAILED,
                request=self.request,
                user=user,
                detail="Wrong password",
            )
            self.add_error(
                "password", "That password is not right. Enter the one you sign in with."
            )
        return data


def _carried(request) -> list[tuple[str, str]]:
    """What the person had typed into the page that asked for the check, to send on unchanged."""
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in _CARRIED_EXCLUDE and not name.startswith(f"{CONFIRM_PREFIX}-")
        for value in values
    ]


def fresh_identity_required(doing: str) -> Callable:
    """Ask for the password (or a second-factor code) again unless it was given in the last
    FRESH_IDENTITY_MINUTES, before `doing` ("sign off these minutes"). A check asked for on a
    POST carries what was typed, and completes that POST once the person has confirmed."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            confirming = request.method == "POST" and CONFIRM_MARKER in request.POST
            if confirming:
                form = ConfirmIdentityForm(request.POST, request=request)
                if form.is_valid():
                    mark_identity_given(request)
                    if request.POST[CONFIRM_MARKER] == "GET":
                        return redirect(request.get_full_path())
                    post = request.POST.copy()
                    for name in list(post):
                        if name == CONFIRM_MARKER or name.startswith(f"{CONFIRM_PREFIX}-"):
                            del post[name]
                    request.POST = post
                    return view(request, *args, **kwargs)
            elif identity_is_fresh(request):
                return view(request, *args, **kwargs)
            else:
                form = ConfirmIdentityForm(request=request)
            return render(
                request,
                "caregov/confirm_identity.html",
                {
                    "form": form,
                    "doing": doing,
                    "minutes": settings.FRESH_IDENTITY_MINUTES,
                    "method": (request.POST[CONFIRM_MARKER] if confirming else request.method),
                    "carried": _carried(request) if request.method == "POST" else [],
                    "marker": CONFIRM_MARKER,
                },
            )

        return wrapped

    return decorator
