import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from caregov.models import Organisation, Service


class DeviceCheck(models.Model):
    """A service's check of one of its tablets: does the ECM app open, sync and save a note."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    device = models.CharField(
        "Device", max_length=80, help_text="The tablet's label, like Lounge 2."
    )
    checked_on = models.DateField("Checked on")
    working = models.BooleanField("Working", default=True, help_text="Opens, syncs and saves.")
    note = models.TextField("What was found", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.device}, {self.checked_on:%-d %b %Y}"
