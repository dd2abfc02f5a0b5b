"""Webhook endpoints (managed in the admin) and their deliveries (the delivery log)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    PAYMENT_RECEIVED = (
        "payment.received",
        _("payment received (each customer transfer, with the running total)"),
    )
    PAYMENT_ACCEPTED = "payment.accepted", _("payment accepted")
    PAYMENT_EXPIRED = "payment.expired", _("payment expired")
    PAYMENT_FLAGGED = "payment.flagged", _("payment flagged (underpaid, overpaid, paid late)")
    PAYMENT_REFUNDED = "payment.refunded", _("payment refunded")


def new_webhook_secret():
    from .signing import new_secret

    return new_secret()


def validate_url(url):
    from .addresses import validate_webhook_url

    validate_webhook_url(url)


class WebhookEndpoint(models.Model):
    """A URL of the shop's that is told about payment events, signed with its own secret."""

    url = models.URLField(
        max_length=500,
        validators=[validate_url],
        help_text=_("The shop's HTTPS URL that receives the events."),
    )
    secret = models.CharField(
        max_length=200,
        default=new_webhook_secret,
        editable=False,
        help_text=_("Signs every delivery (Standard Webhooks). Shown once, when it is made."),
    )
    previous_secret = models.CharField(
        max_length=200,
        blank=True,
        editable=False,
        help_text=_("While the secret rotates, deliveries are signed with this one too."),
    )
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    failing_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("The first failed attempt since the last success.")
    )
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    events = models.JSONField(default=list, blank=True, help_text=_("The events sent to this URL."))
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("webhook endpoint")

    def __str__(self):
        return self.description or self.url

    def wants(self, event):
        return self.is_active and event in (self.events or [])

    def signing_secrets(self):
        """The secrets that sign a delivery: the current one, then the previous one while it rotates."""
        return [self.secret] + ([self.previous_secret] if self.previous_secret else [])


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")  # waiting for its (next) attempt
    SENDING = "sending", _("sending")  # an attempt is in flight
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")  # no 2xx before WEBHOOK_RETRY_SECONDS ran out


class WebhookDelivery(models.Model):
    """One event for one endpoint: delivered once, retried with backoff, logged."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    event_key = models.CharField(
        max_length=200, help_text=_("What makes the event unique, e.g. payment.accepted:<reference>.")
    )
    payment = models.ForeignKey(
        "solana_payments.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField(help_text=_("The body sent, fixed when the event happened."))
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    retry_until = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_key"], name="solana_payments_one_delivery_per_event"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="sp_delivery_status_next")]

    def __str__(self):
        return f"{self.event} #{self.pk}"
