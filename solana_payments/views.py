"""The shop's side: a checkout page, a status endpoint its page asks (held until news: long polling), and an
optional create endpoint.

Mounted with ``path("pay/", include("solana_payments.urls"))`` under any prefix. A payment is found by
its public reference (a random UUID) only, never by its id.
"""

import asyncio
import json
import time
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import checkout_watch
from .amounts import format_units
from .conf import app_settings
from .exceptions import ChainUnavailable, SolanaPaymentsError
from .models import Payment
from .payment_status import is_open, public_status, status_key
from .rates import RateUnavailable
from .throttling import client_allowed


def _payment(reference):
    return get_object_or_404(Payment.objects.select_related("wallet", "paid_token"), reference=reference)


def _throttled(request, scope):
    allowed, retry_after = client_allowed(request, scope, app_settings.STATUS_RATE_LIMIT)
    if allowed:
        return None
    response = JsonResponse({"error": "Too many requests; try again later."}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


@never_cache
@require_GET
@transaction.non_atomic_requests
async def payment_status(request, reference):
    """``GET <prefix>/<reference>/status/``: the payment's public status as JSON (404 for an unknown one).

    With ``?wait=<key>`` (the ``status_key`` the page shows) the answer is held while the payment's key
    is still that one, up to ``CHECKOUT_HOLD_SECONDS`` and never past its deadline (long polling). A held
    request waits for news of the checkout watch without a database connection, and under ASGI without a
    thread (see ``checkout_watch``).
    """
    first = await sync_to_async(_status_now)(request, reference)
    if not isinstance(first, _Held):
        return first
    await _hold(first)
    return await sync_to_async(_status_after_hold)(first)


class _Held:
    def __init__(self, payment, key, seconds, asked_at, asked_mono):
        self.payment, self.key, self.seconds = payment, key, seconds
        self.asked_at, self.asked_mono = asked_at, asked_mono


def _status_now(request, reference):
    """The answer now, or ``_Held`` when it waits for news; the database connection is released."""
    asked_at, asked_mono = time.time(), time.monotonic()
    try:
        throttled = _throttled(request, "status")
        if throttled is not None:
            return throttled
        try:
            payment = _payment(reference)
        except Http404:
            return JsonResponse({"error": "No such payment."}, status=404)
        checkout_watch.mark_seen(payment)
        if checkout_watch.read_if_due() is not None:
            payment.refresh_from_db()
        status = public_status(payment)
        key = status_key(status)
        wanted = request.GET.get("wait")
        hold = app_settings.CHECKOUT_HOLD_SECONDS
        if wanted is None or wanted != key or not hold or not is_open(payment):
            return JsonResponse(status)
        # Never longer than the payment stays in the hot set without another request marking it seen.
        longest = checkout_watch.HOT_SECONDS - checkout_watch.SEEN_EVERY_SECONDS
        return _Held(payment, key, min(hold, longest, status["seconds_left"]), asked_at, asked_mono)
    finally:
        checkout_watch.release_connection()


async def _hold(held):
    """Wait until the watch has news of the payment that changes its key, or ``held.seconds`` pass."""
    bell = checkout_watch.bell
    waiter = checkout_watch.Waiter(held.payment.pk, held.asked_at, held.asked_mono)
    until = held.asked_mono + held.seconds
    bell.join(waiter)
    try:
        while (left := until - time.monotonic()) > 0:
            if bell.drives(waiter):
                await sync_to_async(checkout_watch.duties)()
                left = min(checkout_watch.DUTY_EVERY_SECONDS, until - time.monotonic())
            try:
                await asyncio.wait_for(waiter.event.wait(), max(0, left))
            except TimeoutError:
                continue
            waiter.event.clear()
            if waiter.news:
                waiter.news = False
                if await sync_to_async(_key_changed)(held):
                    return
    finally:
        bell.leave(waiter)


def _key_changed(held):
    try:
        payment = _payment(held.payment.reference)
        return status_key(public_status(payment)) != held.key
    finally:
        checkout_watch.release_connection()


def _status_after_hold(held):
    try:
        payment = _payment(held.payment.reference)
        checkout_watch.mark_seen(payment)
        return JsonResponse(public_status(payment))
    finally:
        checkout_watch.release_connection()


@never_cache
@require_GET
def checkout(request, reference):
    """``GET <prefix>/<reference>/``: the checkout page (works without JavaScript: reload it)."""
    throttled = _throttled(request, "checkout")
    if throttled is not None:
        return throttled
    payment = _payment(reference)
    checkout_watch.mark_seen(payment)
    if checkout_watch.read_if_due() is not None:
        payment.refresh_from_db()
    return TemplateResponse(request, "solana_payments/checkout.html", checkout_context(payment))


@never_cache
@require_GET
def checkout_panel(request, reference):
    """``GET <prefix>/<reference>/panel/``: the checkout's own markup alone, which the page's script swaps
    in when the status changes (a partial payment asks for the rest with a new QR code; paid shows what)."""
    throttled = _throttled(request, "checkout")
    if throttled is not None:
        return throttled
    payment = _payment(reference)
    return TemplateResponse(request, "solana_payments/includes/checkout.html", checkout_context(payment))


def checkout_context(payment):
    """The context of ``solana_payments/includes/checkout.html``, for a shop's own page that includes it.

    Each option carries ``amount_left`` (base units still to pay in its token), ``amount_left_text`` and
    ``pay_url`` (the transfer request for that remainder); ``paid_amount_text`` and ``explorer_url`` say
    what a settled payment received and where its transaction is.
    """
    from .explorer import explorer_url
    from .payment_status import amounts_left
    from .solana_pay import payment_options, transfer_request_url

    options = [option for option, _ in payment_options(payment)]
    left = amounts_left(payment, options)
    for option in options:
        option.amount_left = left[option.token_id]
        option.amount_left_text = format_units(option.amount_left, option.token.decimals)
        option.pay_url = transfer_request_url(option, amount=option.amount_left)
    status = public_status(payment)
    paid_token = payment.paid_token if payment.paid_token_id else None
    return {
        "payment": payment,
        "options": options,
        "status": status,
        "status_key": status_key(status),
        "received": [o for o in status["options"] if o["amount_paid"] != "0"],
        "paid_amount_text": format_units(payment.paid_amount or 0, paid_token.decimals) if paid_token else "",
        "explorer_url": explorer_url(payment.paid_signature) if payment.paid_signature else "",
        "status_url": reverse("solana_payments:status", args=[payment.reference]),
        "panel_url": reverse("solana_payments:checkout_panel", args=[payment.reference]),
        "poll_seconds": app_settings.CHECKOUT_POLL_SECONDS,
        "hold_seconds": app_settings.CHECKOUT_HOLD_SECONDS,
    }


CREATE_FIELDS = {
    "options",
    "price",
    "currency",
    "tokens",
    "expires_in",
    "label",
    "message",
    "email",
    "metadata",
}


@require_POST
def create(request):
    """``POST <prefix>/``: create a payment from a JSON body, if ``CREATE_PAYMENT_PERMISSION`` allows.

    Off (404) unless the setting names a callable; 403 when it returns false for this request; 400 with
    the reason for a body ``create_payment`` would refuse; 503 when the chain cannot be reached or, for
    a payment priced in a currency, when no rate source gives a usable rate.
    """
    permission = app_settings.CREATE_PAYMENT_PERMISSION
    if not permission:
        raise Http404("Creating payments over HTTP is not enabled.")
    if not import_string(permission)(request):
        return JsonResponse({"error": "You may not create payments."}, status=403)
    try:
        arguments = _create_arguments(request)
        from .payments import create_payment

        payment = create_payment(
            arguments.pop("options", None),
            user=request.user if request.user.is_authenticated else None,
            **arguments,
        )
    except (ValueError, TypeError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except RateUnavailable as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    except ChainUnavailable as exc:
        return JsonResponse({"error": f"The chain cannot be reached: {exc}"}, status=503)
    except SolanaPaymentsError as exc:
        return JsonResponse({"error": str(exc)}, status=502)
    from .solana_pay import payment_options

    body = public_status(payment)
    body["checkout_url"] = request.build_absolute_uri(
        reverse("solana_payments:checkout", args=[payment.reference])
    )
    body["status_url"] = request.build_absolute_uri(
        reverse("solana_payments:status", args=[payment.reference])
    )
    body["transfer_requests"] = {option.token.symbol: url for option, url in payment_options(payment)}
    return JsonResponse(body, status=201)


def _create_arguments(request):
    """The JSON body as ``create_payment`` arguments; ``ValueError`` with the reason when it is wrong.
    ``create_payment`` checks the values themselves (text, metadata, ``expires_in``)."""
    data = _json_object(request.body, parse_float=Decimal)  # amounts stay exact
    unknown = sorted(set(data) - CREATE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown fields: {', '.join(unknown)}.")
    if "options" not in data and "price" not in data:
        raise ValueError(
            "options is required (token symbols to amounts), or price, currency and tokens "
            "(a price in a currency)."
        )
    if "metadata" in data:
        data["metadata"] = _json_object(request.body)["metadata"]  # numbers as JSON stores them
    expires_in = data.get("expires_in")
    if isinstance(expires_in, Decimal):
        data["expires_in"] = float(expires_in)  # 1e400 is inf, which create_payment refuses
    return data


class _NotANumber(ValueError):
    pass


def _refuse_constant(name):
    raise _NotANumber(f"{name} is not a JSON number.")


def _json_object(body, **options):
    try:
        data = json.loads(body or b"null", parse_constant=_refuse_constant, **options)
    except _NotANumber:
        raise
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past Python's recursion limit
        raise ValueError("The body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise ValueError("The body must be a JSON object.")
    return data
