import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregov.settings")

app = Celery("caregov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _give_way_to_the_web(**kwargs) -> None:
    """The worker's processes run at a lower CPU priority than the web server's (nice 10 by
    default, CELERY_WORKER_NICE): on a small machine, 50 team leaders submitting at once are
    answered first, and the figures their audits change are rewritten with the CPU left over.
    What the worker does (imports, packs, figures) shows as under way while it runs; no request
    waits for it."""
    os.nice(int(os.environ.get("CELERY_WORKER_NICE", "10")))
