"""Sign-in throttling and the security log (failed logins, lockouts, refusals)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.utils import timezone

from caregov.models import SecurityEvent, User

log = logging.getLogger("caregov.security")
Kind = SecurityEvent.Kind


def client_ip(request) -> str | None:
    if request is None:
        return None
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def record_event(
    kind: str, *, request=None, user=None, email: str = "", detail: str = ""
) -> SecurityEvent:
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if user is not None:
        organisation_id = user.organisation_id
    else:
        # A failed sign-in names an email: file it under that person's organisation if known.
        organisation_id = (
            User.objects.filter(email__iexact=email)
            .values_list("organisation_id", flat=True)
            .first()
            if email
            else None
        )
    event = SecurityEvent.objects.create(
        kind=kind,
        user=user,
        organisation_id=organisation_id,
        email=(email or getattr(user, "email", "") or "")[:254].lower(),
        ip_address=client_ip(request),
        path=(request.get_full_path()[:500] if request is not None else ""),
        detail=detail[:500],
    )
    log.info(
        "%s email=%s ip=%s path=%s %s",
        kind,
        event.email or "-",
        event.ip_address or "-",
        event.path or "-",
        detail,
    )
    return event


def record_permission_denied(request, capability: str) -> None:
    record_event(
        Kind.PERMISSION_DENIED,
        request=request,
        user=request.user,
        detail=f"Needs capability {capability}",
    )


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _locked_until(failures: list[datetime]) -> datetime | None:
    """Given failure times newest first, when the lock ends, or None if not locked."""
    limit = settings.LOGIN_FAILURE_LIMIT
    if len(failures) < limit:
        return None
    latest = failures[0]
    # The latest failure completes a lock when `limit` failures fall within one window of it.
    if latest - failures[limit - 1] > _window():
        return None
    until = latest + _window()
    return until if until > timezone.now() else None


def lockout_until(*, email: str, ip: str | None) -> datetime | None:
    """When sign-in reopens for this account or address, or None when it is open now."""
    since = timezone.now() - 2 * _window()
    limit = settings.LOGIN_FAILURE_LIMIT
    email = (email or "").strip().lower()
    candidates = []
    if email:
        last_success = (
            SecurityEvent.objects.filter(
                kind=Kind.LOGIN_SUCCEEDED, email=email, created_at__gte=since
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        account = SecurityEvent.objects.filter(
            kind=Kind.LOGIN_FAILED, email=email, created_at__gte=last_success or since
        )
        candidates.append(
            list(account.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        )
    if ip:
        address = SecurityEvent.objects.filter(
            kind=Kind.LOGIN_FAILED, ip_address=ip, created_at__gte=since
        )
        candidates.append(
            list(address.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        )
    ends = [end for end in (_locked_until(times) for times in candidates) if end]
    return max(ends) if ends else None


class ThrottledModelBackend(ModelBackend):
    """Email and password sign-in that refuses while the account or the address is locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and lockout_until(email=username, ip=client_ip(request)):
            raise PermissionDenied("Sign-in is locked for this account or address.")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    email = (credentials.get("username") or credentials.get("email") or "").strip().lower()
    ip = client_ip(request)
    if lockout_until(email=email, ip=ip):
        # Already locked: note the attempt, but do not extend the lock with it.
        record_event(Kind.LOCKED_OUT, request=request, email=email, detail="Attempt while locked")
        return
    record_event(Kind.LOGIN_FAILED, request=request, email=email)
    if lockout_until(email=email, ip=ip):
        record_event(
            Kind.LOCKED_OUT,
            request=request,
            email=email,
            detail=f"{settings.LOGIN_FAILURE_LIMIT} failed attempts: locked for "
            f"{settings.LOGIN_LOCKOUT_MINUTES} minutes",
        )


@receiver(user_logged_in)
def _on_logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = timezone.now().timestamp()
        request.session["caregov_started"] = now
        request.session["caregov_seen"] = now
    record_event(Kind.LOGIN_SUCCEEDED, request=request, user=user)


@receiver(user_logged_out)
def _on_logged_out(sender, request, user, **kwargs):
    if user is not None and not getattr(request, "_caregov_session_expired", False):
        record_event(Kind.LOGOUT, request=request, user=user)
