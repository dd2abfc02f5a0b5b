"""Four-eyes approval: runs that wait for a second person before they move money.

Held (``awaiting approval`` instead of queued):
- every refund, whatever starts it and whatever the amount;
- a run of another operation that moves money, started from the admin or a command, whose preview would
  move more of some token than ``APPROVAL_THRESHOLDS`` allows (``{"SOL": "10", "USDC": "1000"}``, token
  units, symbols matched whatever their case), counting what the same requester's runs moved in the last
  ``APPROVAL_WINDOW_SECONDS``, so that splitting a sweep with ``--ids`` or ``--limit`` keeps nothing
  under the threshold. Schedules are never held: the maintenance of ordinary payments keeps going.

A held run keeps its preview (a recorded dry run of the same operation over the same records). Another
user with ``solana_payments.approve_runs`` approves or rejects it after seeing that preview; the
requester never decides on their own run. An approved refund executes the previewed plan exactly (the
amount and destination of each payment are pinned in the run's parameters).

When the approved run starts, the chain is previewed again. The preview no longer holds, and the run
fails without moving anything, when:
- a record the approved preview would have acted on would now be skipped or fail, or
- some token would move more than the approved preview showed (any increase: the approver said yes to
  an amount, not to "about" it).
Less money moving (fees, an account already closed) is within what was approved.
"""

import datetime
from collections import Counter
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from .amounts import format_units
from .conf import app_settings
from .models import (
    ApprovalDecision,
    ItemOutcome,
    OperationItem,
    OperationRun,
    OperationTrigger,
    PaymentToken,
    RunStatus,
)

APPROVE_PERMISSION = "solana_payments.approve_runs"
MAX_THRESHOLD = Decimal(2**64 - 1)  # no token has more units than a u64 can count
HELD_TRIGGERS = (OperationTrigger.ADMIN_ACTION, OperationTrigger.DASHBOARD, OperationTrigger.COMMAND)


def clean_thresholds(value, known_symbols=()):
    """``{casefolded symbol: Decimal}`` from the setting, or ``ValueError`` saying what is wrong.

    Symbols match whatever their case (``"sol"`` is SOL); given the ``known_symbols``, one that names no
    token is an error. Amounts are decimal strings from 0 to ``MAX_THRESHOLD`` token units."""
    if not isinstance(value, dict):
        raise ValueError("APPROVAL_THRESHOLDS must map token symbols to amounts in token units")
    known = {str(s).casefold(): s for s in known_symbols}
    cleaned = {}
    for symbol, amount in value.items():
        try:
            number = Decimal(str(amount))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number < 0 or isinstance(amount, float):
            raise ValueError(
                f"APPROVAL_THRESHOLDS[{symbol!r}] must be a non-negative decimal string, not {amount!r}"
            )
        if number > MAX_THRESHOLD:
            raise ValueError(f"APPROVAL_THRESHOLDS[{symbol!r}] is more than any token can move: {amount!r}")
        key = str(symbol).casefold()
        if key in cleaned:
            raise ValueError(
                f"APPROVAL_THRESHOLDS names {symbol!r} twice (symbols match whatever their case)"
            )
        if known and key not in known:
            raise ValueError(
                f"APPROVAL_THRESHOLDS[{symbol!r}] names no token; the tokens are {', '.join(sorted(known.values()))}"
            )
        cleaned[key] = number
    return cleaned


def may_hold(operation_class, trigger):
    """Whether a run of ``operation_class`` started by ``trigger`` needs a preview to decide if it waits."""
    if operation_class.always_held:
        return True
    return operation_class.moves_money and trigger in HELD_TRIGGERS and bool(app_settings.APPROVAL_THRESHOLDS)


def items_of(run):
    """The items of ``run`` and of its steps' runs (a maintenance run's children)."""
    return OperationItem.objects.filter(Q(run=run) | Q(run__parent=run))


def planned_items(run):
    """The would-do items of a dry run (and of its steps' dry runs)."""
    return items_of(run).filter(outcome=ItemOutcome.WOULD_DO)


def planned_totals(run):
    """``{token: base units}`` the would-do items of a dry run plan to move."""
    rows = (
        planned_items(run)
        .filter(amount__isnull=False, token__isnull=False)
        .values_list("token", "amount")
        .order_by()
    )
    totals = Counter()
    for token, amount in rows:
        totals[token] += amount
    tokens = PaymentToken.objects.in_bulk(list(totals))
    return {tokens[pk]: total for pk, total in totals.items()}


def hold_reason(operation_class, preview, recent=None):
    """Why a run of ``operation_class`` whose dry run is ``preview`` waits for approval, or ``""``.
    ``recent`` is what the same requester's runs moved within the window (``moved_recently``):
    ``{token: base units}``."""
    if operation_class.always_held:
        return operation_class.held_reason or f"every {operation_class.kind} run waits for a second person"
    limits = clean_thresholds(app_settings.APPROVAL_THRESHOLDS)
    recent = recent or {}
    for token, planned in sorted(planned_totals(preview).items(), key=lambda pair: pair[0].symbol):
        limit = limits.get(token.symbol.casefold())
        if limit is None:
            continue
        before = recent.get(token, 0)
        allowed = int(limit * 10**token.decimals)
        if planned + before > allowed:
            amount = f"{format_units(planned, token.decimals)} {token.symbol}"
            if before:
                amount += (
                    f" ({format_units(planned + before, token.decimals)} {token.symbol} with what the same "
                    f"requester's runs moved in the last {app_settings.APPROVAL_WINDOW_SECONDS:g} s)"
                )
            return f"would move {amount}, more than the approval threshold of {limit.normalize():f} {token.symbol}"
    return ""


def moved_recently(user, trigger, requester="", now=None):
    """``{token: base units}`` that the requester's runs moved, or are about to move, within the last
    ``APPROVAL_WINDOW_SECONDS``: what finished runs did, what queued and running runs were previewed to
    do (the larger of the two while one runs). A command run without a user counts with the runs of the
    same ``requester`` name. Runs a second person approved, rejected or that were cancelled are not
    counted."""
    window = app_settings.APPROVAL_WINDOW_SECONDS
    if not window:
        return {}
    since = (now or timezone.now()) - datetime.timedelta(seconds=window)
    runs = (
        OperationRun.objects.filter(created_at__gte=since, parameters__dry_run=False)
        .exclude(status__in=(RunStatus.AWAITING_APPROVAL, RunStatus.REJECTED, RunStatus.CANCELLED))
        .exclude(decision=ApprovalDecision.APPROVED)
    )
    if user is not None and user.is_authenticated:
        runs = runs.filter(requested_by=user)
    elif requester:
        runs = runs.filter(requested_by__isnull=True, requester=requester)
    else:
        runs = runs.filter(requested_by__isnull=True, trigger=trigger)
    previews = dict(
        runs.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING), preview__isnull=False).values_list(
            "preview_id", "pk"
        )
    )
    done = _totals_by_run(OperationItem.objects.filter(run__in=runs, outcome=ItemOutcome.DONE))
    planned = _totals_by_run(
        OperationItem.objects.filter(run_id__in=list(previews), outcome=ItemOutcome.WOULD_DO), previews
    )
    totals = Counter()
    for run_and_token in done.keys() | planned.keys():
        totals[run_and_token[1]] += max(done.get(run_and_token, 0), planned.get(run_and_token, 0))
    tokens = PaymentToken.objects.in_bulk(list(totals))
    return {tokens[pk]: total for pk, total in totals.items()}


def _totals_by_run(items, run_of_preview=None):
    """``{(run id, token id): base units}`` of ``items``, in one query; a preview's items are counted for
    the run it previewed (``run_of_preview``)."""
    rows = (
        items.filter(amount__isnull=False, token__isnull=False)
        .values("run_id", "token_id")
        .annotate(total=Sum("amount"))
        .values_list("run_id", "token_id", "total")
        .order_by()
    )
    return {((run_of_preview or {}).get(run, run), token): total for run, token, total in rows}


def check_decider(run, user):
    if not user.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("approving runs needs the approve_runs permission")
    asked = run.requested_by_id is not None and run.requested_by_id == user.pk
    if asked or (run.requester and run.requester == user.get_username()):
        raise PermissionDenied("a run is approved by someone other than the person who asked for it")


def approve(run, user):
    """Approve a held run: it is queued on django-q2 to run what was previewed."""
    from .run_queue import send_to_queue

    check_decider(run, user)
    with transaction.atomic():
        changed = OperationRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_APPROVAL).update(
            status=RunStatus.QUEUED,
            decision=ApprovalDecision.APPROVED,
            decided_by=user,
            decided_at=timezone.now(),
        )
        if not changed:
            raise ValueError(f"run #{run.pk} is not awaiting approval")
        send_to_queue(run)
    run.refresh_from_db()
    return run


def reject(run, user, reason=""):
    check_decider(run, user)
    now = timezone.now()
    changed = OperationRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_APPROVAL).update(
        status=RunStatus.REJECTED,
        decision=ApprovalDecision.REJECTED,
        decided_by=user,
        decided_at=now,
        finished_at=now,
        decision_reason=" ".join(str(reason or "").split())[:300],
    )
    if not changed:
        raise ValueError(f"run #{run.pk} is not awaiting approval")
    run.refresh_from_db()
    return run
