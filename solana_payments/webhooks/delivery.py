"""Turning payment signals into webhook deliveries, and delivering them with django-q2.

- A signal (sent on commit) writes one ``WebhookDelivery`` per endpoint that wants the event. A unique
  constraint on ``(endpoint, event_key)`` keeps it to one row per event and endpoint, however often the
  signal fires.
- ``deliver(delivery_id, attempt)`` is the django-q2 task. Its arguments are ids only (never the secret).
  It claims the row with a conditional update (``pending`` with exactly ``attempt`` attempts made ->
  ``sending``), so a task delivered twice sends once.
- A failed attempt (no 2xx, a timeout, a refused connection) is retried through a one-off django-q2
  schedule after ``WEBHOOK_BACKOFF_SECONDS``, doubling each time (at most an hour), or later when a 429 or
  5xx asks so with ``Retry-After``, until ``WEBHOOK_RETRY_SECONDS`` after the event; then the delivery is
  ``failed``.
- An endpoint that answers 410 Gone, or whose every attempt has failed for longer than
  ``WEBHOOK_RETRY_SECONDS``, is disabled (the dashboard says so); its deliveries are not sent until an
  operator turns it on again.

Signing: ``signing.py`` (Standard Webhooks). Sending: ``sending.py`` (one deadline per attempt).
Where it may be sent: ``addresses.py``.
"""

import datetime
import json
import logging
import time

from django.db import transaction
from django.utils import timezone

from ..conf import app_settings
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .sending import Outcome, send
from .signing import signature_headers

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600
USER_AGENT = "solana-payments-webhooks"
ENDPOINTS_CACHE_KEY = "solana_payments:webhooks:active-endpoints"
ENDPOINTS_CACHE_SECONDS = 5  # a run announcing thousands of payments looks the endpoints up once


# -- events ---------------------------------------------------------------------------------------------


def event_key(event, payment, transfer=None):
    """What makes an event unique: a payment is accepted or expired once, flagged once per exception,
    received once per transfer."""
    if event == WebhookEvent.PAYMENT_FLAGGED:
        return f"{event}:{payment.reference}:{payment.exception}"
    if transfer is not None:
        return f"{event}:{payment.reference}:{transfer.signature}:{transfer.position}"
    return f"{event}:{payment.reference}"


def event_payload(event, payment, *, created, transfer=None, received=None):
    """The body of an event: the payment's public status, plus the label, metadata and payer a shop's
    server needs to find its order (never the customer's email); for ``payment.received``, the transfer
    and what arrived so far in its token."""
    from ..amounts import format_units
    from ..payment_status import public_status

    data = {
        **public_status(payment),
        "payer": payment.payer or None,
        "label": payment.label,
        "metadata": payment.metadata,
    }
    if transfer is not None:
        decimals = transfer.token.decimals
        data["transfer"] = {
            "token": transfer.token.symbol,
            "amount": format_units(transfer.amount, decimals),
            "signature": transfer.signature,
            "block_time": transfer.block_time.isoformat() if transfer.block_time else None,
            "received_total": format_units(received or 0, decimals),
        }
    return {"type": str(event), "created": int(created.timestamp()), "data": data}


def record_event(event, payment, *, transfer=None, received=None):
    """Write the deliveries of ``event`` for ``payment`` and queue them. Returns the deliveries queued."""
    endpoints = [e for e in active_endpoints() if e.wants(event)]
    if not endpoints:
        return []
    now = timezone.now()
    key = event_key(event, payment, transfer)
    payload = event_payload(event, payment, created=now, transfer=transfer, received=received)
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
        (signals.payment_received, WebhookEvent.PAYMENT_RECEIVED),
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
    def receive(sender, payment, transfer=None, received=None, **kwargs):
        record_event(event, payment, transfer=transfer, received=received)

    return receive


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
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        outcome = Outcome(None, 0, "not sent: the endpoint is disabled")
    else:
        outcome = post(delivery)
    delivery.last_status_code, delivery.last_response_ms = outcome.status_code, outcome.elapsed_ms
    if outcome.error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = (
            DeliveryStatus.SUCCEEDED,
            timezone.now(),
            "",
        )
        delivery.next_attempt_at = None
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
    else:
        delivery.last_error = outcome.error[:2000]
        disabled = endpoint.is_active and endpoint_failed(endpoint, outcome, now)
        delay = max(backoff_seconds(attempt), outcome.retry_after or 0)
        next_at = timezone.now() + datetime.timedelta(seconds=delay)
        if disabled or not endpoint.is_active or next_at > delivery.retry_until:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            logger.warning("webhook delivery %s failed for good: %s", delivery.pk, outcome.error)
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, next_at
            logger.info("webhook delivery %s failed (%s); retry in %s s", delivery.pk, outcome.error, delay)
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


def endpoint_failed(endpoint, outcome, now):
    """Note a failed attempt on its endpoint; disable the endpoint when it answered 410 Gone, or has failed
    for longer than ``WEBHOOK_RETRY_SECONDS`` without one success. Returns whether it was disabled."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    endpoint.refresh_from_db(fields=["failing_since"])
    if outcome.status_code == 410:
        reason = "the endpoint answered 410 Gone"
    elif now - endpoint.failing_since > datetime.timedelta(seconds=app_settings.WEBHOOK_RETRY_SECONDS):
        reason = f"every attempt failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
    else:
        return False
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason
    )
    if disabled:
        forget_endpoints()
        logger.warning("webhook endpoint %s is disabled: %s", endpoint.pk, reason)
    return True


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
    """POST the delivery's body, signed; returns the attempt's ``Outcome``."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    try:
        signed = signature_headers(
            delivery.endpoint.signing_secrets(), delivery.payload["id"], int(time.time()), body
        )
    except ValueError as exc:
        return Outcome(None, 0, f"not sent: {exc}; make a new secret for the endpoint")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signed,
        "Solana-Payments-Event": delivery.event,
        "Solana-Payments-Delivery": str(delivery.pk),
    }
    return send(delivery.endpoint.url, body, headers)


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
