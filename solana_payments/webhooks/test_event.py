"""A test event an operator sends from the admin, to see an endpoint receive and verify a delivery.

It is delivered, signed, retried and logged like any event, with the type ``webhook.test`` and no payment:
a shop's receiver should answer 2xx and do nothing else.
"""

import datetime
import uuid

from django.utils import timezone

from ..conf import app_settings
from .delivery import queue
from .models import WebhookDelivery

TEST_EVENT = "webhook.test"


def send_test_event(endpoint):
    """Record a ``webhook.test`` delivery to ``endpoint`` and queue it; returns the delivery."""
    now = timezone.now()
    key = f"{TEST_EVENT}:{uuid.uuid4()}"
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=TEST_EVENT,
        event_key=key,
        payload={"type": TEST_EVENT, "created": int(now.timestamp()), "id": key, "data": {}},
        retry_until=now + datetime.timedelta(seconds=app_settings.WEBHOOK_RETRY_SECONDS),
        next_attempt_at=now,
    )
    queue(delivery)
    return delivery
