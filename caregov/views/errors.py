from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.shortcuts import render


def bad_request(request, exception=None):
    """A request caregov refused to read: say plainly when it was too large, and what to do."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    context = {
        "too_big": isinstance(exception, RequestDataTooBig | TooManyFieldsSent),
        "limit_mb": f"{limit / 1024 / 1024:.1f}".removesuffix(".0"),
        "limit_chars": f"{limit // 1000 * 1000:,}",
    }
    return render(request, "400.html", context, status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", {"reason": str(exception) if exception else ""}, status=403)


def not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
