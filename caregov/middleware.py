"""Session lifetime limits and the read-only rule for commissioners."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from caregov import access
from caregov.models import SecurityEvent
from caregov.security import record_event, record_repeatable_event

# Writing the session on every request is wasteful; a minute's precision is plenty.
SEEN_PRECISION_SECONDS = 60


class SessionLifetimeMiddleware:
    """End a session after inactivity or after its absolute lifetime, whichever comes first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now().timestamp()
            started = request.session.get("caregov_started", now)
            seen = request.session.get("caregov_seen", now)
            idle = settings.SESSION_IDLE_MINUTES * 60
            absolute = settings.SESSION_ABSOLUTE_MINUTES * 60
            reason = None
            if now - seen > idle:
                minutes = settings.SESSION_IDLE_MINUTES
                reason = f"You were signed out after {minutes} minutes without activity."
            elif now - started > absolute:
                hours = settings.SESSION_ABSOLUTE_MINUTES // 60
                reason = f"You were signed out because sessions last at most {hours} hours."
            if reason:
                record_event(
                    SecurityEvent.Kind.SESSION_EXPIRED, request=request, user=user, detail=reason
                )
                request._caregov_session_expired = True
                logout(request)
                messages.info(request, f"{reason} Sign in again to carry on.")
                return redirect_to_login(request.get_full_path())
            request.session.setdefault("caregov_started", started)
            if now - seen >= SEEN_PRECISION_SECONDS or "caregov_seen" not in request.session:
                request.session["caregov_seen"] = now
        return self.get_response(request)


class ReadOnlyRoleMiddleware:
    """Refuse every change from a person whose roles are all read-only (commissioners)."""

    SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            request.method not in self.SAFE_METHODS
            and user is not None
            and user.is_authenticated
            and access.is_read_only(user)
            and request.path != reverse("logout")
            # Their own second factor changes no record: a commissioner may set one up too.
            and not request.path.startswith(reverse("second_factor"))
        ):
            record_repeatable_event(
                SecurityEvent.Kind.READ_ONLY_WRITE_REFUSED,
                request=request,
                user=user,
                detail=f"{request.method} refused: commissioners can read but not change records",
            )
            return render(
                request,
                "403.html",
                {"reason": "Your access is read-only, so caregov cannot save changes for you."},
                status=403,
            )
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy and a Permissions-Policy on every response, and
    `Cache-Control: no-store` on everything a signed-in person sees (care tablets are shared, and
    the back button must not show the last person's audits or exports).

    Scripts come only from caregov's own static files: the pages have no inline script. Styles
    allow 'unsafe-inline' for one reason: Plotly's browser charts add their own style rules at run
    time (plotly.js issue #2355); no script can be injected through a style.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
