"""Turning payment signals into webhook deliveries, and delivering them with django-q2.

- A signal (sent on commit) writes one ``WebhookDelivery`` per endpoint that wants the event. A unique
  constraint on ``(endpoint, event_key)`` keeps it to one row per event and endpoint, however often the
  signal fires.
- ``deliver(delivery_id, attempt)`` is the django-q2 task. Its arguments are ids only (never the secret).
  It claims the row with a conditional update (``pending`` with exactly ``attempt`` attempts made ->
  ``sending``), so a task delivered twice sends once.
- A failed attempt (no 2xx, a timeout, a refused connection) is retried through a one-off django-q2
  schedule after ``WEBHOOK_BACKOFF_SECONDS``, doubling each time (at most an hour), until
  ``WEBHOOK_RETRY_SECONDS`` after the event; then the delivery is ``failed``.

Signature: header ``Solana-Payments-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256(secret, ``"<t>.<body>"``) over the exact bytes of the body.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request

from django.db import transaction
from django.utils import timezone

from ..conf import app_settings
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Solana-Payments-Signature"
MAX_BACKOFF_SECONDS = 3600
USER_AGENT = "solana-payments-webhooks"
ENDPOINTS_CACHE_KEY = "solana_payments:webhooks:active-endpoints"
ENDPOINTS_CACHE_SECONDS = 5  # a run announcing thousands of payments looks the endpoints up once


# -- events ---------------------------------------------------------------------------------------------


def event_key(event, payment):
    """What makes an event unique: a payment is accepted or expired once, flagged once per exception."""
    if event == WebhookEvent.PAYMENT_FLAGGED:
        return f"{event}:{payment.reference}:{payment.exception}"
    return f"{event}:{payment.reference}"


def event_payload(event, payment, *, created):
    """The body of an event: the payment's public status, plus the label, metadata and payer a shop's
    server needs to find its order (never the customer's email)."""
    from ..payment_status import public_status

    return {
        "type": str(event),
        "created": int(created.timestamp()),
        "data": {
            **public_status(payment),
            "payer": payment.payer or None,
            "label": payment.label,
            "metadata": payment.metadata,
        },
    }


def record_event(event, payment):
    """Write the deliveries of ``event`` for ``payment`` and queue them. Returns the deliveries queued."""
    endpoints = [e for e in active_endpoints() if e.wants(event)]
    if not endpoints:
        return []
    now = timezone.now()
    key = event_key(event, payment)
    payload = event_payload(event, payment, created=now)
    retry_until = now + datetime.timedelta(seconds=app_settings.WEBHOOK_RETRY_SECONDS)
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                event_key=key,
                payment=payment,
                payload={**payload, "id": key},
                retry_until=retry_until,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,  # the event was recorded already: one delivery per event and endpoint
    )
    fresh = list(
        WebhookDelivery.objects.filter(
            endpoint__in=endpoints, event_key=key, status=DeliveryStatus.PENDING, attempts=0
        )
    )
    for delivery in fresh:
        queue(delivery)
    return fresh


def active_endpoints():
    """The active endpoints, cached for a few seconds (and forgotten whenever one is saved or deleted)."""
    from django.core.cache import cache

    endpoints = cache.get(ENDPOINTS_CACHE_KEY)
    if endpoints is None:
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        cache.set(ENDPOINTS_CACHE_KEY, endpoints, ENDPOINTS_CACHE_SECONDS)
    return endpoints


def forget_endpoints(**kwargs):
    from django.core.cache import cache

    cache.delete(ENDPOINTS_CACHE_KEY)


def queue(delivery):
    """Hand the delivery's next attempt to django-q2 once the current transaction commits."""
    from django_q.tasks import async_task

    def send():
        async_task(
            "solana_payments.webhooks.delivery.deliver",
            delivery.pk,
            delivery.attempts,
            task_name=f"solana_payments-webhook-{delivery.pk}-{delivery.attempts}",
            group="solana_payments-webhooks",
        )

    transaction.on_commit(send)


def connect_signals():
    """Called from ``AppConfig.ready()``: each payment signal becomes a webhook event."""
    from .. import signals

    for signal, event in (
        (signals.payment_accepted, WebhookEvent.PAYMENT_ACCEPTED),
        (signals.payment_expired, WebhookEvent.PAYMENT_EXPIRED),
        (signals.payment_flagged, WebhookEvent.PAYMENT_FLAGGED),
        (signals.payment_refunded, WebhookEvent.PAYMENT_REFUNDED),
    ):
        signal.connect(_receiver(event), dispatch_uid=f"solana_payments.webhooks.{event}", weak=False)
    from django.db.models.signals import post_delete, post_save

    for model_signal in (post_save, post_delete):
        model_signal.connect(
            forget_endpoints, sender=WebhookEndpoint, dispatch_uid="solana_payments.webhooks.forget"
        )


def _receiver(event):
    def receive(sender, payment, **kwargs):
        record_event(event, payment)

    return receive


# -- signing ----------------------------------------------------------------------------------------------


def sign(secret, timestamp, body):
    """The ``v1`` signature: hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under the endpoint's secret."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret, header, body, *, tolerance=300, now=None):
    """Check a ``Solana-Payments-Signature`` header against ``body`` (bytes); what a receiver does."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), parts.get("v1", ""))


# -- delivering ---------------------------------------------------------------------------------------------


def deliver(delivery_id, attempt):
    """The django-q2 task: one attempt of one delivery. A second run of the same task finds it claimed."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, attempts=attempt
    ).update(status=DeliveryStatus.SENDING, attempts=attempt + 1, last_attempt_at=now)
    if not claimed:
        logger.info(
            "webhook delivery %s attempt %s is not pending any more; nothing to do", delivery_id, attempt
        )
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    status_code, elapsed_ms, error = post(delivery)
    delivery.last_status_code, delivery.last_response_ms = status_code, elapsed_ms
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = (
            DeliveryStatus.SUCCEEDED,
            timezone.now(),
            "",
        )
        delivery.next_attempt_at = None
    else:
        delivery.last_error = error[:2000]
        delay = backoff_seconds(attempt)
        next_at = timezone.now() + datetime.timedelta(seconds=delay)
        if next_at > delivery.retry_until:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            logger.warning("webhook delivery %s failed for good: %s", delivery.pk, error)
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, next_at
            logger.info("webhook delivery %s failed (%s); retry in %s s", delivery.pk, error, delay)
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "last_status_code",
            "last_response_ms",
            "last_error",
            "delivered_at",
        ]
    )
    if delivery.status == DeliveryStatus.PENDING:
        schedule_retry(delivery)
    return delivery.status


def backoff_seconds(attempt):
    """The delay after failed attempt number ``attempt`` (0 first): 30 s, 60 s, 120 s, ... at most an hour."""
    return min(app_settings.WEBHOOK_BACKOFF_SECONDS * 2**attempt, MAX_BACKOFF_SECONDS)


def schedule_retry(delivery):
    """A one-off django-q2 schedule runs the next attempt at ``next_attempt_at``."""
    from django_q.models import Schedule

    Schedule.objects.create(
        name=f"solana_payments webhook {delivery.pk} attempt {delivery.attempts}",
        func="solana_payments.webhooks.delivery.deliver",
        args=f"{delivery.pk}, {delivery.attempts}",
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=delivery.next_attempt_at,
    )


def post(delivery):
    """POST the delivery's body, signed. Returns ``(status code or None, milliseconds, error or None)``."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: f"t={timestamp},v1={sign(delivery.endpoint.secret, timestamp, body)}",
        "Solana-Payments-Event": delivery.event,
        "Solana-Payments-Delivery": str(delivery.pk),
    }
    started = time.monotonic()
    try:
        request = urllib.request.Request(delivery.endpoint.url, data=body, method="POST", headers=headers)
    except ValueError as exc:  # not a URL at all: a failed attempt like any other, never a stuck one
        return None, 0, f"bad URL: {exc}"
    status_code, error = None, None
    try:
        with _opener().open(request, timeout=app_settings.WEBHOOK_TIMEOUT) as response:
            status_code = response.status
            response.read(1024)
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except TimeoutError:
        error = f"no response within {app_settings.WEBHOOK_TIMEOUT} s"
    except urllib.error.URLError as exc:
        reason = exc.reason
        error = (
            f"no response within {app_settings.WEBHOOK_TIMEOUT} s"
            if isinstance(reason, TimeoutError)
            else f"cannot connect: {reason}"
        )
    except (OSError, http.client.HTTPException) as exc:  # a reset connection, a garbled answer
        error = f"{type(exc).__name__}: {exc}"
    elapsed_ms = round((time.monotonic() - started) * 1000)
    if error is None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    return status_code, elapsed_ms, error


def _opener():
    """No redirects (a 3xx is a failure to fix at the endpoint, and the signature is for this URL only)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    return urllib.request.build_opener(NoRedirect)


def redeliver(deliveries):
    """Queue one more attempt of each delivery (the admin's action); the retry window starts again.

    A delivery whose attempt is in flight is left alone, unless that attempt is older than
    ``WEBHOOK_TIMEOUT`` plus a minute (its worker died). Returns the number queued.
    """
    queued = 0
    for delivery in deliveries:
        now = timezone.now()
        retry_until = now + datetime.timedelta(seconds=app_settings.WEBHOOK_RETRY_SECONDS)
        in_flight_since = now - datetime.timedelta(seconds=app_settings.WEBHOOK_TIMEOUT + 60)
        changed = (
            WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts)
            .exclude(status=DeliveryStatus.SENDING, last_attempt_at__gt=in_flight_since)
            .update(status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), retry_until=retry_until)
        )
        if changed:
            queue(delivery)
            queued += 1
    return queued
