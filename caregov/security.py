"""Sign-in throttling and the security log (failed logins, lockouts, refusals)."""

from __future__ import annotations

import logging
import threading
import zlib
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, F, Max
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
    organisation_id = user.organisation_id if user is not None else _organisation_of(email)
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


def _organisation_of(email: str) -> int | None:
    """Whose log an event naming an email belongs in: the person's organisation; for an address
    nobody has, the one organisation whose people use that domain (a password spray against
    made-up addresses at oakfield.example is Oakfield's business), else none."""
    if not email:
        return None
    known = User.objects.filter(email__iexact=email).values_list("organisation_id", flat=True)
    if known:
        return known[0]
    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        return None
    owners = list(
        User.objects.filter(email__iendswith=f"@{domain}", organisation__isnull=False)
        .values_list("organisation_id", flat=True)
        .distinct()[:2]
    )
    return owners[0] if len(owners) == 1 else None


def record_repeatable_event(kind: str, *, request, user, detail: str) -> SecurityEvent:
    """A refusal that a script or a stuck page may repeat thousands of times: repeats by the same
    person at the same page within a few minutes add to one event's count."""
    since = timezone.now() - timedelta(minutes=settings.SECURITY_EVENT_COALESCE_MINUTES)
    path = request.get_full_path()[:500] if request is not None else ""
    same = SecurityEvent.objects.filter(
        kind=kind, user=user, path=path, detail=detail[:500], created_at__gte=since
    )
    if same.update(repeats=F("repeats") + 1, last_seen_at=timezone.now()):
        return same.order_by("-created_at").first()
    return record_event(kind, request=request, user=user, detail=detail)


def record_permission_denied(request, capability: str) -> None:
    record_repeatable_event(
        Kind.PERMISSION_DENIED,
        request=request,
        user=request.user,
        detail=f"Needs capability {capability}",
    )


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _locked_until(failures: list[datetime], limit: int) -> datetime | None:
    """Given failure times newest first, when the lock ends, or None if not locked."""
    if len(failures) < limit:
        return None
    latest = failures[0]
    # The latest failure completes a lock when `limit` failures fall within one window of it.
    if latest - failures[limit - 1] > _window():
        return None
    until = latest + _window()
    return until if until > timezone.now() else None


def account_locked_until(email: str) -> datetime | None:
    """An account locks after LOGIN_FAILURE_LIMIT failures; signing in, or setting a new password
    through a reset link, starts the count again."""
    since = timezone.now() - 2 * _window()
    limit = settings.LOGIN_FAILURE_LIMIT
    fresh_start = (
        SecurityEvent.objects.filter(
            kind__in=[Kind.LOGIN_SUCCEEDED, Kind.PASSWORD_CHANGED],
            email=email,
            created_at__gte=since,
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    failures = SecurityEvent.objects.filter(
        kind=Kind.LOGIN_FAILED, email=email, created_at__gte=fresh_start or since
    )
    times = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:limit])
    return _locked_until(times, limit)


def address_locked_until(ip: str) -> datetime | None:
    """An address locks when it fails for many different accounts, or very many times, within
    one window: a spray. One person's typos, or a team sharing a router, do not lock it."""
    now = timezone.now()
    failures = SecurityEvent.objects.filter(
        kind=Kind.LOGIN_FAILED, ip_address=ip, created_at__gte=now - _window()
    )
    seen = failures.aggregate(
        total=Count("id"), accounts=Count("email", distinct=True), latest=Max("created_at")
    )
    if (
        seen["accounts"] < settings.LOGIN_ADDRESS_ACCOUNT_LIMIT
        and seen["total"] < settings.LOGIN_ADDRESS_FAILURE_LIMIT
    ):
        return None
    until = seen["latest"] + _window()
    return until if until > now else None


def lockout_until(*, email: str, ip: str | None) -> datetime | None:
    """When sign-in reopens for this account or address, or None when it is open now."""
    email = (email or "").strip().lower()
    ends = [
        end
        for end in (
            account_locked_until(email) if email else None,
            address_locked_until(ip) if ip else None,
        )
        if end
    ]
    return max(ends) if ends else None


#: Serialises sign-in attempts for one account within this process (SQLite and tests); on
#: PostgreSQL an advisory lock does it across every process.
_local_attempts = threading.Lock()
ATTEMPT_LOCK_NAMESPACE = 7_351_003


@contextmanager
def _one_attempt_at_a_time(email: str):
    """Check the lock, try the password and count a failure as one step per account, so forty
    wrong passwords at once are checked against the limit one by one, not all before any counts."""
    if connection.vendor == "postgresql":
        key = zlib.crc32(email.encode()) - 2**31
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [ATTEMPT_LOCK_NAMESPACE, key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ATTEMPT_LOCK_NAMESPACE, key])
        return
    with _local_attempts:
        yield


def _record_failure(request, email: str) -> None:
    record_event(Kind.LOGIN_FAILED, request=request, email=email)
    if lockout_until(email=email, ip=client_ip(request)):
        record_event(
            Kind.LOCKED_OUT,
            request=request,
            email=email,
            detail=f"{settings.LOGIN_FAILURE_LIMIT} failed attempts: locked for "
            f"{settings.LOGIN_LOCKOUT_MINUTES} minutes",
        )


class ThrottledModelBackend(ModelBackend):
    """Email and password sign-in that refuses while the account or the address is locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        email = username.strip().lower()
        with _one_attempt_at_a_time(email):
            if lockout_until(email=email, ip=client_ip(request)):
                raise PermissionDenied("Sign-in is locked for this account or address.")
            user = super().authenticate(request, username=username, password=password, **kwargs)
            if user is None:
                _record_failure(request, email)
                if request is not None:
                    request._caregov_failure_recorded = True
            return user


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    if getattr(request, "_caregov_failure_recorded", False):
        return  # counted by the backend, inside its lock
    email = (credentials.get("username") or credentials.get("email") or "").strip().lower()
    if lockout_until(email=email, ip=client_ip(request)):
        # Already locked: note the attempt, but do not extend the lock with it.
        record_event(Kind.LOCKED_OUT, request=request, email=email, detail="Attempt while locked")
        return
    _record_failure(request, email)


def password_reset_allowed(*, email: str, ip: str | None) -> bool:
    """Whether another reset email may go now: a few an hour per account and per address."""
    since = timezone.now() - timedelta(hours=1)
    sent = SecurityEvent.objects.filter(kind=Kind.PASSWORD_RESET_REQUESTED, created_at__gte=since)
    if sent.filter(email=email.strip().lower()).count() >= settings.PASSWORD_RESET_ACCOUNT_LIMIT:
        return False
    return not (ip and sent.filter(ip_address=ip).count() >= settings.PASSWORD_RESET_ADDRESS_LIMIT)


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
