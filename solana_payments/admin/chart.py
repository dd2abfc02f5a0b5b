"""Payments per day by status over the last days, as the geometry of an inline SVG chart."""

import datetime
import logging

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import (
    Payment,
    PaymentStatus,
)
from .display import payment_status_words

logger = logging.getLogger(__name__)

CHART_DAYS = 30

CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM, CHART_TOP = 620, 180, 34, 22, 8

# Stacked from the bottom up: settled first, then open, then expired.
CHART_STATUSES = (
    PaymentStatus.FINALIZED,
    PaymentStatus.CONFIRMED,
    PaymentStatus.PROCESSED,
    PaymentStatus.INITIATED,
    PaymentStatus.EXPIRED,
)


def payments_chart(now):
    """Payments created per day by status over the last 30 days, as geometry for an inline SVG."""
    today = timezone.localdate(now)
    first = today - datetime.timedelta(days=CHART_DAYS - 1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    rows = (
        Payment.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "status")
        .annotate(n=Count("pk"))
    )
    counts = {(row["day"], row["status"]): row["n"] for row in rows}
    days = [first + datetime.timedelta(days=i) for i in range(CHART_DAYS)]
    totals = [sum(counts.get((day, s), 0) for s in CHART_STATUSES) for day in days]
    peak = max(totals) or 1
    plot_height = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    slot = (CHART_WIDTH - CHART_LEFT) / CHART_DAYS
    bars = []
    for index, day in enumerate(days):
        x = CHART_LEFT + index * slot + 1
        y = CHART_HEIGHT - CHART_BOTTOM
        segments, parts = [], []
        for status in CHART_STATUSES:
            n = counts.get((day, status), 0)
            if not n:
                continue
            height = plot_height * n / peak
            y -= height
            segments.append({"status": status, "x": _num(x), "y": _num(y), "height": _num(height)})
            parts.append(f"{n} {payment_status_words(status)}")
        bars.append(
            {
                "segments": segments,
                "title": f"{day:%Y-%m-%d}: " + (", ".join(parts) if parts else "no payments"),
            }
        )
    labels = [
        {"x": _num(CHART_LEFT + i * slot + offset), "text": f"{days[i]:%b %d}", "anchor": anchor}
        for i, offset, anchor in (
            (0, 0, "start"),
            (CHART_DAYS // 2, slot / 2, "middle"),
            (CHART_DAYS - 1, slot, "end"),
        )
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "top": CHART_TOP,
        "base": CHART_HEIGHT - CHART_BOTTOM,
        "bar_width": _num(slot - 2),
        "bars": bars,
        "labels": labels,
        "label_y": CHART_HEIGHT - 6,
        "peak": max(totals),
        "total": sum(totals),
        "legend": [(status, payment_status_words(status)) for status in CHART_STATUSES],
    }


def _num(value):
    """SVG coordinates as plain strings: the template must not localize them ("12,5" breaks SVG)."""
    return f"{value:.2f}"
