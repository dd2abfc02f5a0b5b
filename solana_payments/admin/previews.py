"""What an operation would do, for the confirmation page: a dry run of the operation itself
(``run_operation(..., dry_run=True)``), so the preview goes through the same code as the real run: eligible
records, skipped ones with their reasons, amounts, transactions and fees.
"""

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from ..amounts import format_units
from ..conf import app_settings
from ..exceptions import SolanaPaymentsError
from ..models import (
    ItemOutcome,
    OperationRun,
    RunStatus,
)
from ..operations import get_operation_class
from ..runs import request_run
from .display import token_amount
from .forms import InvalidSelection

PREVIEW_ROWS = 50
PREVIEW_MAX_RETRY_SECONDS = 5.0


@dataclass
class Preview:
    """What a dry run of the operation found, summed up for the confirmation page."""

    run: OperationRun
    records: int  # distinct records the operation would act on
    counts: dict  # items by outcome
    record_counts: dict  # distinct records by outcome (a record with two items is one row)
    planned: list  # the first would-do items
    skipped: list  # the first skipped items, with their reasons
    failed: list  # the first items the preview could not settle
    amounts: list  # "0.5 SOL", by token
    fees: int  # lamports
    rent: int  # lamports of rent that would return to the fee payer
    transactions: int | None  # None when the dry run could not tell

    @property
    def failed_outright(self):
        return self.run.status == RunStatus.FAILED

    @property
    def fees_sol(self):
        return format_units(self.fees, 9)

    @property
    def rent_sol(self):
        return format_units(self.rent, 9)

    @property
    def scanned(self):
        """How many records the operation looked at (reconcile checks every wallet, acting on few)."""
        return (self.run.counts or {}).get("scanned", 0)

    @property
    def more_planned(self):
        return max(0, self.record_counts.get(ItemOutcome.WOULD_DO, 0) - len(self.planned))

    @property
    def more_skipped(self):
        return max(0, self.record_counts.get(ItemOutcome.SKIPPED, 0) - len(self.skipped))

    @property
    def more_failed(self):
        return max(0, self.record_counts.get(ItemOutcome.FAILED, 0) - len(self.failed))


def planned_transactions(items):
    """Distinct transactions among the would-do items that pay a fee.

    Settling items carry the customer's signature and no fee, so only fee-bearing items count; a dry run
    records the signature each planned transaction would have.
    """
    return items.filter(fee__gt=0).exclude(signature="").values("signature").distinct().count()


def preview_operation(kind, *, ids, limit, user, trigger):
    """Dry-run the operation (the same code as the real run) and sum up what it would do.

    The chain client is the run's usual one, only less patient with a node that is down: someone is
    waiting for the page. Raises ``InvalidSelection`` when no client can be built from the settings.
    """
    from ..chain_client import chain_client

    try:
        chain = chain_client(
            max_retry_seconds=min(float(app_settings.RPC_MAX_RETRY_SECONDS), PREVIEW_MAX_RETRY_SECONDS)
        )
    except (SolanaPaymentsError, ValueError) as exc:
        raise InvalidSelection(f"The preview could not start: {exc}") from None
    try:
        run = request_run(kind, ids, limit=limit, dry_run=True, trigger=trigger, user=user, chain=chain)
    except ValueError as exc:
        raise InvalidSelection(f"Nothing was run: {exc}.") from None
    finally:
        chain.close()
    return summarize(run)


def summarize(run):
    items = run.items.all()
    planned = items.filter(outcome=ItemOutcome.WOULD_DO)
    record = get_operation_class(run.kind).model
    totals = planned.aggregate(records=Count(record, distinct=True), fees=Sum("fee"), rent=Sum("rent"))
    amounts = (
        planned.filter(amount__isnull=False, token__isnull=False)
        .values("token__symbol", "token__decimals")
        .annotate(total=Sum("amount"))
        .order_by("token__symbol")
    )
    by_outcome = items.values("outcome").order_by()
    by_outcome = by_outcome.annotate(
        n=Count("pk"),
        records=Count(record, distinct=True),
        loose=Count("pk", filter=Q(**{f"{record}__isnull": True})),
    )
    counts = {row["outcome"]: row["n"] for row in by_outcome}
    record_counts = {row["outcome"]: row["records"] + row["loose"] for row in by_outcome}
    rows = items.select_related("payment", "wallet", "token").order_by("pk")
    planned_rows, skipped_rows, failed_rows = (
        one_row_per_record(with_amount_text(rows.filter(outcome=outcome)[: PREVIEW_ROWS * 2]), record)
        for outcome in (ItemOutcome.WOULD_DO, ItemOutcome.SKIPPED, ItemOutcome.FAILED)
    )
    return Preview(
        run=run,
        records=totals["records"] or 0,
        counts=counts,
        record_counts=record_counts,
        planned=planned_rows,
        skipped=skipped_rows,
        failed=failed_rows,
        amounts=[f"{format_units(a['total'], a['token__decimals'])} {a['token__symbol']}" for a in amounts],
        fees=totals["fees"] or 0,
        rent=totals["rent"] or 0,
        transactions=planned_transactions(planned),
    )


def one_row_per_record(items, record):
    """At most ``PREVIEW_ROWS`` rows, one per record: the items of one record (an expired payment whose wallet
    has no token account left to close) make one row, their reasons and amounts joined, their fees added."""
    rows = {}
    for item in items:
        key = getattr(item, f"{record}_id") or ("item", item.pk)
        row = rows.get(key)
        if row is None:
            if len(rows) == PREVIEW_ROWS:
                break
            rows[key] = item
            continue
        if item.reason and item.reason not in row.reason:
            row.reason = f"{row.reason}; {item.reason}" if row.reason else item.reason
        if item.amount is not None:
            row.amount_text = (
                item.amount_text if row.amount is None else f"{row.amount_text}, {item.amount_text}"
            )
            row.amount = (row.amount or 0) + item.amount
        row.fee = (row.fee or 0) + (item.fee or 0)
    return list(rows.values())


def with_amount_text(items):
    items = list(items)
    for item in items:
        item.amount_text = token_amount(item.amount, item.token)
    return items
