"""Writing the ledger: a wallet's new transfers read from the chain, and the app's own transfers recorded
from the transactions it built and confirmed.

A wallet's accounts (the wallet itself for SOL, its associated token account per token) are read with
``getSignaturesForAddress`` from the newest signature already recorded (``history_cursor``), then
``getTransaction`` for the signatures not yet in the ledger. A wallet never read before is read from its
first transaction, so the ledger of a payment made before it existed fills itself on first use. Rows are
written once per (signature, position), at ``PAYMENT_ACCEPTANCE_COMMITMENT``.
"""

import datetime

from django.db import transaction
from solders.pubkey import Pubkey

from ..bulk import update_rows
from ..chain.accounts import PROGRAM_BY_NAME, get_associated_token_address
from ..conf import app_settings
from ..models import OneTimeWallet, PaymentToken, Refund, Transfer, TransferDirection, TransferKind
from .facts import dust_threshold


class WalletBook:
    """What the reader needs to know of one wallet: its tokens, payment, receiver and dust thresholds."""

    def __init__(self, wallet, tokens, payment=None, *, read=None):
        self.wallet = wallet
        self.payment = payment
        self.tokens = list(tokens)
        self._thresholds = None
        self.read = read  # the addresses whose history to read now (None: every account of the wallet)
        self.accounts = {wallet.address: None}  # address -> token (None for SOL)
        for token in self.tokens:
            if not token.is_native:
                account = get_associated_token_address(
                    Pubkey.from_string(wallet.address),
                    Pubkey.from_string(token.mint),
                    PROGRAM_BY_NAME[token.token_program],
                )
                self.accounts[str(account)] = token

    @property
    def thresholds(self):
        """``{token pk: base units}`` below which an incoming transfer is dust (read when first needed)."""
        if self._thresholds is None:
            options = self.payment.options.all() if self.payment is not None else ()
            prices = {o.token_id: o.amount for o in options}
            self._thresholds = {t.pk: dust_threshold(t, prices.get(t.pk, 0)) for t in self.tokens}
        return self._thresholds

    def transfer(self, *, token, amount, direction, **fields):
        return Transfer(
            wallet=self.wallet,
            payment=self.payment,
            token=token,
            amount=amount,
            direction=direction,
            is_dust=direction == TransferDirection.IN and amount < self.thresholds.get(token.pk, 0),
            **fields,
        )


def sync(chain, books, *, save=True, recorded=None):
    """Bring the ledger of each ``WalletBook`` up to date with the chain.

    ``recorded`` is ``{wallet pk: [Transfer]}`` as already read from the database (read here when not
    given). Returns the same for every book's wallet, the new transfers added (not saved when ``save`` is
    false, as in a dry run).
    """
    if not books:
        return {}
    lookups = [
        (book, address)
        for book in books
        for address in book.accounts
        if book.read is None or address in book.read
    ]
    histories = chain.get_signatures_for_addresses(
        [address for _, address in lookups],
        untils=[(book.wallet.history_cursor or {}).get(address) for book, address in lookups],
        commitment=app_settings.PAYMENT_ACCEPTANCE_COMMITMENT,
    )
    wallet_pks = [book.wallet.pk for book in books]
    if recorded is None:
        recorded = ledgers(wallet_pks)
    known = {pk: {t.signature for t in recorded.get(pk, ())} for pk in wallet_pks}
    cursors, wanted = {}, {}  # wallet pk -> {address: newest signature}; signature -> (books, slot)
    for (book, address), history in zip(lookups, histories, strict=True):
        cursor = book.wallet.history_cursor or {}
        if history or address not in cursor:  # "" marks an account read that had no history yet
            newest = str(history[0].signature) if history else ""
            cursors.setdefault(book.wallet.pk, dict(cursor))[address] = newest
        for entry in history:
            signature = str(entry.signature)
            if entry.err is None and signature not in known.get(book.wallet.pk, set()):
                wanted.setdefault(signature, ({}, entry))[0][book.wallet.pk] = book
    rows = []
    if wanted:
        signatures = list(wanted)
        refunds = set(Refund.objects.filter(signature__in=signatures).values_list("signature", flat=True))
        fee_payer = _fee_payer_address()
        sol = PaymentToken.objects.filter(mint__isnull=True).first()
        for signature, tx in zip(
            signatures,
            chain.get_transactions(signatures, commitment=app_settings.PAYMENT_ACCEPTANCE_COMMITMENT),
            strict=True,
        ):
            if tx is None or tx.transaction.meta is None:
                continue
            members, entry = wanted[signature]
            for book in members.values():
                rows.extend(transfers_in(tx, book, signature, sol=sol, fee_payer=fee_payer, refunds=refunds))
    found = {pk: list(recorded.get(pk, ())) for pk in wallet_pks}
    for row in rows:
        found[row.wallet.pk].append(row)
    if save:
        changed = []
        for book in books:
            if book.wallet.pk in cursors:
                book.wallet.history_cursor = cursors[book.wallet.pk]
                changed.append(book.wallet)
        with transaction.atomic():  # the rows and the cursors that say they were read, together
            if rows:
                Transfer.objects.bulk_create(rows, ignore_conflicts=True)
            update_rows(OneTimeWallet, changed, ["history_cursor"])
        announce_received(rows, found)
    return found


def announce_received(new_rows, transfers):
    """``payment_received`` on commit for each new customer transfer into a payment's wallet (dust left
    out), with what its token received so far (``transfers``: every transfer of those wallets)."""
    from ..signals import payment_received

    incoming = [
        r
        for r in new_rows
        if r.payment is not None and r.direction == TransferDirection.IN and r.kind == TransferKind.PAYMENT
    ]
    if not incoming:
        return
    totals = {}
    for row in sorted(
        (r for rows in transfers.values() for r in rows if r.direction == TransferDirection.IN),
        key=lambda r: (r.slot or 0, r.pk or 0),
    ):
        key = (row.wallet_id, row.token_id)
        totals[key] = totals.get(key, 0) + row.amount
        totals[(row.signature, row.position)] = totals[key]

    def announce():
        for row in incoming:
            if row.is_dust:
                continue
            received = totals.get((row.signature, row.position), row.amount)
            payment_received.send_robust(
                sender=type(row.payment), payment=row.payment, transfer=row, received=received
            )

    transaction.on_commit(announce)


def ledgers(wallet_pks):
    """``{wallet pk: [Transfer]}`` from the database."""
    found = {pk: [] for pk in wallet_pks}
    for row in Transfer.objects.filter(wallet_id__in=list(wallet_pks)):
        found[row.wallet_id].append(row)
    return found


def _fee_payer_address():
    from ..chain.keypairs import parse_keypair

    try:
        return str(parse_keypair(app_settings.FEE_PAYER_KEYPAIR).pubkey())
    except (TypeError, ValueError):
        return ""


def transfers_in(tx, book, signature, *, sol, fee_payer, refunds):
    """The rows ``tx`` (a confirmed transaction with its meta) makes for the wallet of ``book``."""
    meta = tx.transaction.meta
    keys = [str(k) for k in tx.transaction.transaction.message.account_keys]
    loaded = getattr(meta, "loaded_addresses", None)
    if loaded is not None:
        keys += [str(k) for k in loaded.writable] + [str(k) for k in loaded.readonly]
    when = _block_time(tx.block_time)
    common = {"signature": signature, "slot": tx.slot, "block_time": when, "fee": meta.fee}
    wallet = book.wallet
    rows = []
    if sol is not None and wallet.address in keys:
        index = keys.index(wallet.address)
        delta = meta.post_balances[index] - meta.pre_balances[index]
        if delta:
            other = _other_side(
                [
                    (i, post - pre)
                    for i, (pre, post) in enumerate(zip(meta.pre_balances, meta.post_balances, strict=False))
                ],
                index,
                delta,
            )
            counterparty = keys[other] if other is not None else ""
            rows.append(
                book.transfer(
                    token=sol,
                    amount=abs(delta),
                    direction=TransferDirection.IN if delta > 0 else TransferDirection.OUT,
                    position=index,
                    counterparty=counterparty,
                    kind=_kind(delta, counterparty, book, signature, fee_payer, refunds),
                    **common,
                )
            )
    tokens = {t.mint: t for t in book.tokens if not t.is_native}
    balances = {}  # account index -> [mint, owner, before, after]
    for when_index, entries in ((2, meta.pre_token_balances), (3, meta.post_token_balances)):
        for b in entries or []:
            entry = balances.setdefault(b.account_index, [str(b.mint), str(b.owner) if b.owner else "", 0, 0])
            entry[when_index] = int(b.ui_token_amount.amount)
    for index, (mint, owner, before, after) in balances.items():
        token = tokens.get(mint)
        if token is None or owner != wallet.address or after == before:
            continue
        delta = after - before
        other = _other_side([(i, b[3] - b[2]) for i, b in balances.items() if b[0] == mint], index, delta)
        counterparty = balances[other][1] if other is not None else ""
        rent = max(0, meta.pre_balances[index] - meta.post_balances[index]) if delta < 0 else 0
        rows.append(
            book.transfer(
                token=token,
                amount=abs(delta),
                direction=TransferDirection.IN if delta > 0 else TransferDirection.OUT,
                position=index,
                counterparty=counterparty,
                kind=_kind(delta, counterparty, book, signature, fee_payer, refunds),
                rent=rent,
                **common,
            )
        )
    return rows


def _other_side(deltas, index, delta):
    """The account index whose balance moved most the other way, or None."""
    opposite = [(abs(d), i) for i, d in deltas if i != index and d and (d > 0) != (delta > 0)]
    return max(opposite)[1] if opposite else None


def _kind(delta, counterparty, book, signature, fee_payer, refunds):
    if delta > 0:
        return TransferKind.TOP_UP if counterparty and counterparty == fee_payer else TransferKind.PAYMENT
    if signature in refunds:
        return TransferKind.REFUND
    if counterparty and counterparty == book.wallet.receiver_address:
        return TransferKind.SWEEP
    return TransferKind.UNKNOWN


def _block_time(timestamp):
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)


def record_sent(
    book,
    signature,
    account_keys,
    moves,
    *,
    kind,
    counterparty,
    fee=0,
    slot=None,
    when=None,
    save=True,
    paid_from=None,
):
    """Write the rows of a transaction the app built and saw confirmed (a sweep, a refund), from what it
    built rather than read back: ``moves`` is ``[(token, amount, rent)]`` out of ``book``'s wallet, or,
    with ``paid_from`` (the refund wallet's account that paid), out of the refund wallet for its payment."""
    from django.utils import timezone

    keys = [str(k) for k in account_keys]
    accounts = {token.pk if token is not None else None: address for address, token in book.accounts.items()}
    rows = []
    for token, amount, rent in moves:
        if paid_from is not None:
            address = str(paid_from)
        else:
            address = book.wallet.address if token.is_native else accounts.get(token.pk)
        if not amount or address not in keys:
            continue
        rows.append(
            book.transfer(
                token=token,
                amount=amount,
                direction=TransferDirection.OUT,
                position=keys.index(address),
                counterparty=counterparty,
                kind=kind,
                signature=signature,
                slot=slot,
                block_time=when or timezone.now(),
                fee=fee,
                rent=rent,
                from_refund_wallet=paid_from is not None,
            )
        )
    if save and rows:
        Transfer.objects.bulk_create(rows, ignore_conflicts=True)
    return rows
