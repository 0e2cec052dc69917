"""The two WebAuthn ceremonies (register a passkey, sign in with one) on py_webauthn.

The browser side is static/js/passkeys.js. Challenges live in the session for one ceremony; the
relying party is the site's domain (WEBAUTHN_RP_ID, else the host the browser used).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from caregov.models import Passkey

REGISTER_CHALLENGE = "caregov_passkey_register"
SIGN_IN_CHALLENGE = "caregov_passkey_sign_in"


class PasskeyRefused(Exception):
    """The browser's answer did not prove the passkey; the message says what to do."""


def rp_id(request) -> str:
    return settings.WEBAUTHN_RP_ID or request.get_host().rsplit(":", 1)[0]


def origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _descriptors(user) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
        for p in Passkey.objects.filter(user=user)
    ]


def registration_options(request) -> str:
    user = request.user
    options = generate_registration_options(
        rp_id=rp_id(request),
        rp_name="caregov",
        user_id=str(user.pk).encode(),
        user_name=user.email,
        user_display_name=user.full_name or user.email,
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    request.session[REGISTER_CHALLENGE] = bytes_to_base64url(options.challenge)
    return options_to_json(options)


def registration_verify(request, body: str) -> dict:
    """The new credential's id, public key and counter, once the browser's answer checks out."""
    challenge = request.session.pop(REGISTER_CHALLENGE, None)
    if not challenge:
        raise PasskeyRefused("The passkey request has expired. Try adding the passkey again.")
    try:
        credential = json.loads(body)
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id(request),
            expected_origin=origin(request),
        )
    except (ValueError, KeyError, TypeError, InvalidRegistrationResponse) as error:
        raise PasskeyRefused("The browser's answer did not check out. Try again.") from error
    return {
        "credential_id": bytes_to_base64url(verified.credential_id),
        "public_key": verified.credential_public_key,
        "sign_count": verified.sign_count,
        "transports": [
            t
            for t in (credential.get("response", {}).get("transports") or [])
            if isinstance(t, str)
        ][:10],
    }


def sign_in_options(request) -> str:
    options = generate_authentication_options(
        rp_id=rp_id(request),
        allow_credentials=_descriptors(request.user),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    request.session[SIGN_IN_CHALLENGE] = bytes_to_base64url(options.challenge)
    return options_to_json(options)


def sign_in_verify(request, body: str) -> Passkey:
    challenge = request.session.pop(SIGN_IN_CHALLENGE, None)
    if not challenge:
        raise PasskeyRefused("The passkey request has expired. Try again.")
    try:
        credential = json.loads(body)
        passkey = Passkey.objects.get(user=request.user, credential_id=credential["id"])
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id(request),
            expected_origin=origin(request),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
        )
    except Passkey.DoesNotExist as error:
        raise PasskeyRefused("That passkey is not one of yours in caregov.") from error
    except (ValueError, KeyError, TypeError, InvalidAuthenticationResponse) as error:
        raise PasskeyRefused("The passkey did not check out. Try again.") from error
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = timezone.now()
    passkey.save(update_fields=["sign_count", "last_used_at"])
    return passkey
