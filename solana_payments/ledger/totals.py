"""The totals kept beside the ledger, each a sum of transfer rows.

- a wallet's ``swept`` and ``refunded``: per asset, its outgoing rows of that kind (refunds paid from the
  refund wallet left out: they never moved the wallet's own balance);
- a payment's ``refunded_amount``: its refund rows in the paid token, from either wallet.

They are stored so that a list, a filter or a batch of a thousand wallets reads a total without reading
rows, and they are written only here, from the rows written in the same transaction: ``add_out`` adds the
rows just recorded, ``refunded_amount`` sums the payment's rows again, ``wallet_totals`` sums a wallet's.
"""

from django.db.models import Sum

from ..models import Transfer, TransferDirection, TransferKind

TOTAL_OF_KIND = {TransferKind.SWEEP: "swept", TransferKind.REFUND: "refunded"}


def moves_wallet(row):
    """Whether ``row`` moved the one-time wallet's own balance (a refund from the refund wallet did not)."""
    return not row.from_refund_wallet


def add_out(wallet, rows):
    """Add ``wallet``'s outgoing ``rows`` (just recorded) to its ``swept``/``refunded``; returns the names
    of the fields that changed."""
    changed = []
    for row in rows:
        field = TOTAL_OF_KIND.get(row.kind)
        if field is None or row.direction != TransferDirection.OUT or not moves_wallet(row):
            continue
        totals = dict(getattr(wallet, field) or {})
        key = row.token.asset_key
        totals[key] = int(totals.get(key, 0)) + row.amount
        setattr(wallet, field, totals)
        if field not in changed:
            changed.append(field)
    return changed


def wallet_totals(wallet_pks):
    """``{wallet pk: {"swept": {asset: units}, "refunded": {asset: units}}}``, summed from the rows."""
    found = {pk: {"swept": {}, "refunded": {}} for pk in wallet_pks}
    sums = (
        Transfer.objects.filter(
            wallet_id__in=list(wallet_pks),
            direction=TransferDirection.OUT,
            kind__in=list(TOTAL_OF_KIND),
            from_refund_wallet=False,
        )
        .values("wallet_id", "kind", "token__mint")
        .annotate(total=Sum("amount"))
    )
    for entry in sums:
        key = entry["token__mint"] or "native"
        found[entry["wallet_id"]][TOTAL_OF_KIND[entry["kind"]]][key] = entry["total"]
    return found


def refunded_amount(payment):
    """Base units of the payment's token refunded so far, from either wallet: the sum of its refund rows."""
    if payment.paid_token_id is None:
        return 0
    return (
        Transfer.objects.filter(
            payment=payment,
            token_id=payment.paid_token_id,
            direction=TransferDirection.OUT,
            kind=TransferKind.REFUND,
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
