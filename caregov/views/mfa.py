"""Second factor pages: a person's own (set up, enter the code, recovery codes, passkeys) and an
organisation admin's (which roles need one; reset a person's)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import default_key

from caregov import access, mfa, passkeys, selectors, services
from caregov.access import Role, requires
from caregov.forms import PlainMessagesMixin, apply_validation_error
from caregov.mfa import fresh_identity_required

NEW_CODES = "caregov_new_recovery_codes"


class CodeForm(PlainMessagesMixin, forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        error_messages={"required": "Enter the 6-digit code from your authenticator app."},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "off",
                "spellcheck": "false",
                "class": "input--short",
            }
        ),
    )


class SecondFactorRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label="Roles that must use a second factor",
        help_text="People with any of these roles are asked to set up an authenticator app or a "
        "passkey the next time they sign in, and for a code each time after that.",
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def _base32(key_hex: str) -> str:
    return base64.b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")


def _qr_data_uri(text: str) -> str:
    """The QR code as an SVG data URI, drawn here (no outside service sees the secret)."""
    svg = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _stash_codes(request, codes: list[str]) -> None:
    if codes:
        request.session[NEW_CODES] = codes


def _after_passing(request) -> str:
    """Where a person goes once their second factor is set up or checked: their new recovery
    codes first, if they have just been made."""
    target = mfa.safe_next(request)
    if request.session.get(NEW_CODES):
        return reverse("second_factor_recovery_codes") + "?" + "next=" + quote(target)
    return target


# A person's own -------------------------------------------------------------------------------


@requires("account.own")
def second_factor(request):
    user = request.user
    return render(
        request,
        "caregov/second_factor.html",
        {
            "app": mfa.totp_device(user),
            "passkeys": list(user.passkeys.all()),
            "codes_left": mfa.recovery_codes_left(user),
            "required_by": mfa.roles_requiring(user),
        },
    )


@requires("account.own")
@require_http_methods(["GET", "POST"])
@fresh_identity_required("set up a second factor")
def second_factor_set_up(request):
    """Set up an authenticator app: scan the code (or type the key), enter the first code."""
    # One key for the whole set-up: reloading the page keeps the one the app has just scanned.
    key = request.session.get(mfa.PENDING_TOTP_KEY)
    if not key:
        key = default_key()
        request.session[mfa.PENDING_TOTP_KEY] = key
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.totp_set_up(
                user=request.user, key_hex=key, token=form.cleaned_data["code"], request=request
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            del request.session[mfa.PENDING_TOTP_KEY]
            mfa.mark_passed(request)
            _stash_codes(request, codes)
            messages.success(request, "Your authenticator app is set up.")
            return redirect(_after_passing(request))
    issuer = settings.OTP_TOTP_ISSUER
    secret = _base32(key)
    uri = (
        f"otpauth://totp/{quote(issuer)}:{quote(request.user.email)}"
        f"?secret={secret}&issuer={quote(issuer)}&algorithm=SHA1&digits=6&period=30"
    )
    return render(
        request,
        "caregov/second_factor_set_up.html",
        {
            "form": form,
            "qr": _qr_data_uri(uri),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "required_by": mfa.roles_requiring(request.user),
            "pending": getattr(request, "caregov_second_factor_pending", None),
            "has_app": mfa.totp_device(request.user) is not None,
            "next": mfa.safe_next(request),
        },
    )


@requires("account.own")
@require_http_methods(["GET", "POST"])
def second_factor_check(request):
    """After the password: the code from the app, a recovery code, or a passkey."""
    user = request.user
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Waiting after wrong codes: even the right code is refused until the wait is over.
        wait = mfa.code_wait_seconds(user)
        passed = services.second_factor_check(
            user=user, token=form.cleaned_data["code"], request=request
        )
        if passed:
            mfa.mark_passed(request)
            if passed == "recovery code":
                left = mfa.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You used a recovery code: {left} left. "
                    + ("Make new ones if you are running out." if left <= 3 else ""),
                )
            return redirect(_after_passing(request))
        form.add_error(
            "code",
            f"Too many wrong codes. Wait {wait} second{'s' if wait != 1 else ''} and try again."
            if wait
            else "That code is not right. Enter the 6-digit code the app shows now, "
            "or one of your recovery codes.",
        )
    return render(
        request,
        "caregov/second_factor_check.html",
        {
            "form": form,
            "has_app": mfa.totp_device(user) is not None,
            "has_passkeys": user.passkeys.exists(),
            "has_any": mfa.has_second_factor(user),
            "next": mfa.safe_next(request),
        },
    )


@requires("account.own")
@require_http_methods(["GET", "POST"])
def second_factor_recovery_codes(request):
    """Show recovery codes just made (once), or make a new set."""
    if request.method == "POST":
        return _recovery_codes_renew(request)
    codes = request.session.pop(NEW_CODES, None)
    return render(
        request,
        "caregov/second_factor_recovery_codes.html",
        {
            "codes": codes,
            "codes_left": mfa.recovery_codes_left(request.user),
            "has_any": mfa.has_second_factor(request.user),
            "next": mfa.safe_next(request, "second_factor"),
        },
    )


@fresh_identity_required("make new recovery codes")
def _recovery_codes_renew(request):
    if not mfa.has_second_factor(request.user):
        messages.error(request, "Set up an authenticator app or a passkey first.")
        return redirect("second_factor")
    codes = services.recovery_codes_renew(user=request.user, request=request)
    return render(
        request,
        "caregov/second_factor_recovery_codes.html",
        {"codes": codes, "renewed": True, "has_any": True, "next": reverse("second_factor")},
    )


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


@requires("account.own")
@require_http_methods(["GET", "POST"])
def passkey_add(request):
    """GET: the options for the browser to make a passkey; POST: the browser's answer."""
    if not mfa.identity_is_fresh(request):
        return _json_error(
            "Confirm it's you first: reload this page and enter your password.", status=403
        )
    if request.method == "GET":
        return JsonResponse(json.loads(passkeys.registration_options(request)))
    try:
        found = passkeys.registration_verify(request, request.body.decode())
    except (passkeys.PasskeyRefused, UnicodeDecodeError) as error:
        return _json_error(str(error) or "The browser's answer did not check out. Try again.")
    name = (request.GET.get("name") or "").strip() or f"Passkey {request.user.passkeys.count() + 1}"
    _, codes = services.passkey_add(user=request.user, name=name, request=request, **found)
    mfa.mark_passed(request)
    _stash_codes(request, codes)
    messages.success(request, f"Passkey “{name}” added.")
    return JsonResponse({"ok": True, "redirect": _after_passing(request)})


@requires("account.own")
@require_http_methods(["GET", "POST"])
def passkey_check(request):
    """GET: a challenge for the person's passkeys; POST: the browser's signed answer."""
    if request.method == "GET":
        return JsonResponse(json.loads(passkeys.sign_in_options(request)))
    try:
        passkey = passkeys.sign_in_verify(request, request.body.decode())
    except (passkeys.PasskeyRefused, UnicodeDecodeError) as error:
        from caregov.models import SecurityEvent
        from caregov.security import record_event

        record_event(
            SecurityEvent.Kind.SECOND_FACTOR_FAILED,
            request=request,
            user=request.user,
            detail="Passkey refused",
        )
        return _json_error(str(error) or "The passkey did not check out. Try again.")
    from caregov.models import SecurityEvent
    from caregov.security import record_event

    record_event(
        SecurityEvent.Kind.SECOND_FACTOR_PASSED,
        request=request,
        user=request.user,
        detail=f"Passkey {passkey.name}",
    )
    mfa.mark_passed(request)
    return JsonResponse({"ok": True, "redirect": _after_passing(request)})


# An organisation admin's ----------------------------------------------------------------------


@requires("people.manage")
@require_http_methods(["GET", "POST"])
@fresh_identity_required("change which roles must use a second factor")
def second_factor_roles(request):
    organisation = access.own_organisation_where(request, "people.manage")
    form = SecondFactorRolesForm(
        request.POST or None, initial={"roles": organisation.second_factor_roles}
    )
    if request.method == "POST" and form.is_valid():
        services.second_factor_roles_set(
            actor=request.user,
            organisation=organisation,
            roles=form.cleaned_data["roles"],
            request=request,
        )
        chosen = len(form.cleaned_data["roles"])
        messages.success(
            request,
            f"Saved: {chosen} role{'s' if chosen != 1 else ''} must use a second factor."
            if chosen
            else "Saved: no role must use a second factor.",
        )
        return redirect("second_factor_roles")
    return render(request, "caregov/second_factor_roles.html", {"form": form})


@requires("people.manage")
@require_http_methods(["GET", "POST"])
@fresh_identity_required("reset a person's second factor")
def person_second_factor_reset(request, pk: int):
    person = get_object_or_404(selectors.person_list(user=request.user), pk=pk)
    if request.method == "POST":
        try:
            services.second_factor_reset(actor=request.user, user=person, request=request)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"{person}'s second factor is reset and their sessions have ended. "
                "They set up a new one when they next sign in.",
            )
        return redirect("person_detail", pk=person.pk)
    return render(
        request,
        "caregov/confirm.html",
        {
            "title": f"Reset {person}'s second factor?",
            "explanation": "Do this when they have lost their phone or passkey, after checking "
            "it is really them asking. Their authenticator app, passkeys and recovery codes stop "
            "working, they are signed out everywhere, and they set up a new second factor when "
            "they next sign in. The reset is written to the security log.",
            "button": "Reset second factor",
            "cancel_url": person.get_absolute_url(),
            "destructive": True,
        },
    )
