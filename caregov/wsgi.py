import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregov.settings")
application = get_wsgi_application()


def load_and_freeze() -> None:
    """Load every app's URLs and views now rather than on the first request, then move all that
    is loaded out of the garbage collector's generations. Otherwise a full collection walks
    these long-lived objects every few requests: on a dashboard of 40 services, 120 to 170 ms
    each time (bench/reporting_dashboard.py)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports the URL modules and their views)
    gc.collect()
    gc.freeze()


load_and_freeze()
