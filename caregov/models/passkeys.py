"""Passkeys (WebAuthn credentials) people use as their second factor."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Passkey(models.Model):
    """A passkey a person registered from a browser that supports WebAuthn."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    name = models.CharField(max_length=100)
    #: The credential id, base64url without padding, as the browser reports it.
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.name
