"""Holding a run for a second person's approval, and checking, when an approved run starts, that its
preview still holds (the rules are in ``approvals``)."""

from dataclasses import replace

from ..amounts import format_units
from ..approvals import hold_reason, items_of, may_hold, moved_recently, planned_items, planned_totals
from ..models import ItemOutcome, OperationRun, RunStatus
from ..operations import run_operation
from ..operations.request import RunRequest


def hold_if_needed(request, *, user, requester, trigger, chain=None):
    """Preview the run and, if it must wait, record it ``awaiting approval``.

    Returns ``(held run or None, preview or None)``: a run that goes ahead keeps the preview, so that what
    it is about to move counts in the requester's window until it has moved it."""
    operation_class = request.operation_class
    if not may_hold(operation_class, trigger):
        return None, None
    preview = run_operation(
        request.kind,
        request=replace(request, dry_run=True),
        trigger=trigger,
        user=user,
        chain=chain,
    )
    reason = hold_reason(operation_class, preview, moved_recently(user, trigger, requester))
    if not reason:
        return None, preview
    operation_class.refuse_if_open(request.ids)  # again: another run may have been asked for meanwhile
    parameters = {**request.parameters(), "held": reason, **operation_class.options_from_preview(preview)}
    held = OperationRun.objects.create(
        kind=request.kind,
        trigger=trigger,
        requested_by=user,
        requester=requester,
        parameters=parameters,
        status=RunStatus.AWAITING_APPROVAL,
        preview=preview,
    )
    return held, preview


def preview_still_holds(run, chain=None):
    """``""`` when a fresh dry run still matches the approved preview, else what changed."""
    approved = run.preview
    if approved is None:
        return ""
    request = RunRequest.from_parameters(run.kind, run.parameters, dry_run=True)
    fresh = run_operation(run.kind, request=request, trigger=run.trigger, user=run.requested_by, chain=chain)
    if fresh.status == RunStatus.FAILED:
        return f"the new preview failed: {fresh.error}"
    problems = []
    planned = planned_records(approved)
    still = planned_records(fresh)
    for kind, key, pk in sorted(planned - still):
        item = (
            items_of(fresh).filter(run__kind=kind, **{key: pk}).exclude(outcome=ItemOutcome.WOULD_DO).first()
        )
        problems.append(f"#{pk} would now not be done ({item.reason if item else 'no longer selected'})")
    before = planned_totals(approved)
    for token, total in planned_totals(fresh).items():
        if total > before.get(token, 0):
            problems.append(
                f"{format_units(total, token.decimals)} {token.symbol} would move, "
                f"{format_units(before.get(token, 0), token.decimals)} {token.symbol} were approved"
            )
    return "; ".join(problems)


def planned_records(preview):
    """``{(kind, item field, record id)}`` a preview (or its steps' previews) would act on."""
    from ..operations import get_operation_class

    found = set()
    for kind, payment, wallet in planned_items(preview).values_list("run__kind", "payment_id", "wallet_id"):
        key = get_operation_class(kind).record_key()
        pk = payment if key == "payment_id" else wallet
        if pk:
            found.add((kind, key, pk))
    return found
