"""Creating payments, and the helpers that settle them."""

import datetime
import logging
import math

from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .amounts import format_units, to_base_units
from .bulk import update_rows
from .chain.accounts import RENT_EXEMPT_MINIMUM as EMPTY_ACCOUNT_RENT_LAMPORTS
from .conf import app_settings
from .keys import new_wallet_secret
from .models import (
    OneTimeWallet,
    Payment,
    PaymentException,
    PaymentOption,
    PaymentStatus,
    PaymentToken,
    WalletState,
)
from .pricing import clean_price, price_options, stored_rate
from .signals import payment_accepted, payment_expired, payment_flagged, payment_initiated
from .wallet_accounts import TokenAccountsUnconfirmed

logger = logging.getLogger(__name__)

PAYMENT_FIELDS = ("label", "message", "email", "user", "metadata")


def create_payment(options=None, *, price=None, currency=None, tokens=None, expires_in=None, **fields):
    """Create an ``initiated`` payment with its one-time wallet and options.

    Priced in tokens: ``options`` maps a token symbol to an amount in token units, e.g.
    ``{"SOL": Decimal("0.5")}``. Priced in the shop's currency: ``price=Decimal("25.00"), currency="EUR",
    tokens=["SOL", "USDC"]`` computes each option's amount from rates read now (``RATE_SOURCES``), rounded
    up to the token's smallest unit, and keeps the price, the currency and each option's rate; when no
    source gives a usable rate, ``RateUnavailable`` is raised and nothing is written.
    ``expires_in`` is seconds or a ``timedelta`` (default ``PAYMENT_VALIDITY_SECONDS``).
    Other keyword arguments fill the payment's customer fields (label, message, email, user, metadata).

    Everything is written in one database transaction; when ``CREATE_ATAS_ON_PAYMENT`` is on, the
    wallet's token accounts are created on chain inside it, so a chain outage leaves nothing behind.
    If their transaction was sent but did not confirm in time, it may still land: the wallet alone is
    kept, in ``payment_expired``, so reclaim returns the rent; ``TokenAccountsUnconfirmed`` is raised.
    """
    unknown = sorted(set(fields) - set(PAYMENT_FIELDS))
    if unknown:
        raise TypeError(f"create_payment() got unexpected fields: {', '.join(unknown)}")
    _check_fields(fields)
    if price is None and currency is None and tokens is None:
        amounts = [(token, base, {}) for token, base in _validated_amounts(options)]
        deadline = timezone.now() + _validity(expires_in)
        receiver = _receiver_address()
    elif options is not None:
        raise ValueError("Give either options (amounts in tokens) or price, currency and tokens, not both.")
    else:
        deadline = timezone.now() + _validity(expires_in)  # everything else is checked before rates are read
        receiver = _receiver_address()
        amounts, fields = _priced_amounts(price, currency, tokens), dict(fields)
        fields["price"], fields["currency"] = clean_price(price, currency)

    keypair, encrypted = new_wallet_secret()
    try:
        return _create(keypair, encrypted, receiver, deadline, amounts, fields)
    except TokenAccountsUnconfirmed:
        _keep_orphan_wallet(keypair, encrypted, receiver, [(token, base) for token, base, _ in amounts])
        raise


def _priced_amounts(price, currency, symbols):
    """``[(token, base units, option fields)]`` for a price in a currency, from rates read now."""
    price, currency = clean_price(price, currency)
    if isinstance(symbols, str) or not symbols:
        raise ValueError("tokens must list at least one token symbol.")
    tokens = _active_tokens(symbols)
    amounts = []
    for option in price_options(price, currency, tokens):
        quote = option.quote
        _check_arrivable(option.token, option.amount, format_units(option.amount, option.token.decimals))
        amounts.append(
            (
                option.token,
                option.amount,
                {
                    "rate": stored_rate(quote.rate),
                    "rate_source": quote.source[:64],
                    "rate_published_at": quote.published_at,
                    "rate_confidence": stored_rate(quote.confidence),
                    "off_peg": option.off_peg,
                },
            )
        )
    return amounts


def _keep_orphan_wallet(keypair, encrypted, receiver, amounts):
    """The wallet's token accounts may still land: keep its key, marked for reclaim, so no rent is lost."""
    from .chain.accounts import PROGRAM_BY_NAME, ata_rent

    OneTimeWallet.objects.create(
        address=str(keypair.pubkey()),
        encrypted_secret=encrypted,
        receiver_address=receiver,
        state=WalletState.PAYMENT_EXPIRED,
        rent_paid=sum(ata_rent(PROGRAM_BY_NAME[t.token_program]) for t, _ in amounts if not t.is_native),
        last_error="kept without a payment: its token accounts did not confirm in time; reclaim returns their rent",
    )


def _create(keypair, encrypted, receiver, deadline, amounts, fields):
    with transaction.atomic():
        wallet = OneTimeWallet.objects.create(
            address=str(keypair.pubkey()),
            encrypted_secret=encrypted,
            receiver_address=receiver,
        )
        payment = Payment.objects.create(wallet=wallet, expires_at=deadline, **fields)
        PaymentOption.objects.bulk_create(
            PaymentOption(payment=payment, token=token, amount=amount, **rate)
            for token, amount, rate in amounts
        )
        spl_tokens = [token for token, _, _ in amounts if not token.is_native]
        if spl_tokens and app_settings.CREATE_ATAS_ON_PAYMENT:
            create_wallet_token_accounts(wallet, keypair.pubkey(), spl_tokens)
        transaction.on_commit(lambda: _announce(payment_initiated, [payment], "payment_initiated"))
    return payment


def create_wallet_token_accounts(wallet, owner, tokens):
    """Create the wallet's associated token accounts on chain, paid by the fee payer; record the rent."""
    from .wallet_accounts import create_token_accounts

    rent = create_token_accounts(owner, tokens)
    wallet.rent_paid = rent
    wallet.save(update_fields=["rent_paid"])


def _receiver_address():
    from django.core.exceptions import ImproperlyConfigured

    from .chain.keypairs import parse_pubkey

    try:
        return str(parse_pubkey(app_settings.RECEIVER_ADDRESS))
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "SOLANA_PAYMENTS['RECEIVER_ADDRESS'] is not a valid Solana address: no payment can be swept to it."
        ) from None


def _check_fields(fields):
    """The customer's text and metadata, as every supported database can store them (``storable``)."""
    from .storable import check_json, check_text

    for name in ("label", "message", "email"):
        if name in fields:
            check_text(name, fields[name], Payment._meta.get_field(name).max_length)
    if fields.get("email"):
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(fields["email"])
        except ValidationError:
            raise ValueError("email is not a valid email address.") from None
    if "metadata" in fields:
        if not isinstance(fields["metadata"], dict):
            raise ValueError("metadata must be a JSON object.")
        check_json("metadata", fields["metadata"])


def _validity(expires_in):
    """The payment's validity: ``expires_in`` seconds (a finite number) or a ``timedelta``, more than 0
    and at most ``PAYMENT_MAX_VALIDITY_SECONDS`` (the token accounts' rent waits for the deadline)."""
    if expires_in is None:
        return datetime.timedelta(seconds=app_settings.PAYMENT_VALIDITY_SECONDS)
    if isinstance(expires_in, datetime.timedelta):
        seconds = expires_in.total_seconds()
    elif isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        seconds = expires_in
    else:
        raise ValueError(f"expires_in must be seconds or a timedelta, not {expires_in!r}.")
    if not math.isfinite(seconds):
        raise ValueError("expires_in must be a finite number of seconds.")
    if seconds <= 0:
        raise ValueError("expires_in must be in the future.")
    maximum = app_settings.PAYMENT_MAX_VALIDITY_SECONDS
    if seconds > maximum:
        raise ValueError(f"expires_in must be at most {maximum:g} seconds (PAYMENT_MAX_VALIDITY_SECONDS).")
    return datetime.timedelta(seconds=seconds)


def _validated_amounts(options):
    if not isinstance(options, dict) or not options:
        raise ValueError("options must map at least one token symbol to an amount.")
    tokens = _active_tokens(options)
    amounts = []
    for token in tokens:
        amount = options[token.symbol]
        base = to_base_units(amount, token.decimals, what=f"{token.symbol} amount")
        _check_arrivable(token, base, amount)
        amounts.append((token, base))
    return amounts


def _active_tokens(symbols):
    """The active ``PaymentToken`` of each symbol, in the order given; ``ValueError`` names the first
    unknown or inactive one."""
    symbols = [str(s) for s in symbols]
    tokens = {t.symbol: t for t in PaymentToken.objects.filter(symbol__in=symbols)}
    for symbol in symbols:
        token = tokens.get(symbol)
        if token is None:
            raise ValueError(f"Unknown token {symbol!r}.")
        if not token.is_active:
            raise ValueError(f"Token {symbol} is not active.")
    return [tokens[symbol] for symbol in dict.fromkeys(symbols)]


def _check_arrivable(token, base, amount):
    if token.is_native and base < EMPTY_ACCOUNT_RENT_LAMPORTS:
        raise ValueError(
            f"SOL amount {amount} is below the rent-exempt minimum of an empty account "
            f"({EMPTY_ACCOUNT_RENT_LAMPORTS} lamports, 0.00089088 SOL): "
            "such a payment could never arrive."
        )


# -- settling -------------------------------------------------------------------------------------


class Settlement:
    """One payment found paid: the assessment of its wallet and the chain's evidence."""

    def __init__(self, payment, assessment, evidence, exception=""):
        self.payment = payment
        self.assessment = assessment
        self.evidence = evidence
        self.exception = exception


def settle_payments(settlements, *, from_statuses=(PaymentStatus.INITIATED,), announce_flags=True):
    """Settle payments in bulk. Returns the payments settled.

    The update is guarded where the state lives: rows are re-read under ``select_for_update`` and only
    those still in ``from_statuses`` change, so two workers never settle the same payment twice.
    Signals and the ``ON_PAYMENT_ACCEPTED`` hook run on commit; a failing receiver is logged and never
    undoes the settlement. ``announce_flags=False`` leaves ``payment_flagged`` out (a decision by hand
    about an exception already announced).
    """
    if not settlements:
        return []
    status = PaymentStatus(app_settings.PAYMENT_ACCEPTANCE_COMMITMENT)
    by_pk = {s.payment.pk: s for s in settlements}
    with transaction.atomic():
        eligible = set(
            _locked(Payment.objects.filter(pk__in=list(by_pk), status__in=from_statuses)).values_list(
                "pk", flat=True
            )
        )
        settled = []
        for pk in eligible:
            s = by_pk[pk]
            payment = s.payment
            payment.status = status
            payment.exception = s.exception
            payment.paid_token = s.assessment.token
            payment.paid_amount = s.assessment.held
            if s.evidence is not None:
                payment.paid_signature = s.evidence.signature
                payment.payer = s.evidence.payer
                payment.paid_at = s.evidence.paid_at
            payment.paid_at = payment.paid_at or timezone.now()
            settled.append(payment)
        update_rows(
            Payment,
            settled,
            ["status", "exception", "paid_token", "paid_amount", "paid_signature", "payer", "paid_at"],
        )
        OneTimeWallet.objects.filter(
            pk__in=[p.wallet_id for p in settled], state__in=WALLET_STATES_BEFORE_FUNDS
        ).update(state=WalletState.RECEIVED_FUNDS, last_activity_at=timezone.now())
        flagged = [p for p in settled if p.exception]
        transaction.on_commit(lambda: _announce_accepted(settled))
        if announce_flags:
            transaction.on_commit(lambda: _announce_flagged(flagged))
    return settled


def flag_payments(flags):
    """``[(payment, exception, (token, received) or None)]``: set each payment's exception, guarded by the
    status and exception it was read with. ``(token, received)`` also records what the wallet received
    (for a payment that is not settled). Returns the payments flagged; ``payment_flagged`` follows on commit.
    """
    groups = {}  # one guarded UPDATE per (status read, exception read, new exception, what was received)
    for payment, exception, received in flags:
        key = (
            payment.status,
            payment.exception,
            exception,
            received[0].pk if received else None,
            received and received[1],
        )
        groups.setdefault(key, []).append((payment, received))
    now = timezone.now()
    with transaction.atomic():
        for (status, old, new, _, _), members in groups.items():
            values = {"exception": new, "updated_at": now}
            received = members[0][1]
            if received is not None:
                values["paid_token"], values["paid_amount"] = received
            pks = [payment.pk for payment, _ in members]
            Payment.objects.filter(pk__in=pks, status=status, exception=old).update(**values)
        changed = set(
            Payment.objects.filter(pk__in=[p.pk for p, _, _ in flags], updated_at=now).values_list(
                "pk", flat=True
            )
        )
        flagged = []
        for payment, exception, received in flags:
            if payment.pk in changed:
                payment.exception = exception
                if received is not None:
                    payment.paid_token, payment.paid_amount = received
                flagged.append(payment)
        transaction.on_commit(lambda: _announce_flagged(flagged))
    return flagged


def hand_wallets_to_sweep(wallets):
    """Wallets found holding funds their state does not send to sweep go (back) to ``received_funds``,
    each guarded by the state it was read in. Returns the pks moved."""
    by_state = {}
    for wallet in wallets:
        by_state.setdefault(wallet.state, []).append(wallet.pk)
    now = timezone.now()
    for state, pks in by_state.items():
        OneTimeWallet.objects.filter(pk__in=pks, state=state).update(
            state=WalletState.RECEIVED_FUNDS, last_activity_at=now
        )
    moved = OneTimeWallet.objects.filter(
        pk__in=[w.pk for w in wallets], state=WalletState.RECEIVED_FUNDS, last_activity_at=now
    )
    return set(moved.values_list("pk", flat=True))
    return moved


def expire_payments(payments, *, underpaid=()):
    """Mark ``initiated`` payments ``expired`` (guarded). Underpaid ones keep their wallet for sweep and
    record what it received (``paid_token`` / ``paid_amount``, set by the caller)."""
    underpaid_pks = {p.pk for p in underpaid}
    all_payments = list(payments) + list(underpaid)
    with transaction.atomic():
        eligible = set(
            _locked(
                Payment.objects.filter(pk__in=[p.pk for p in all_payments], status=PaymentStatus.INITIATED)
            ).values_list("pk", flat=True)
        )
        expired = [p for p in all_payments if p.pk in eligible]
        for payment in expired:
            payment.status = PaymentStatus.EXPIRED
            payment.exception = PaymentException.UNDERPAID if payment.pk in underpaid_pks else ""
        update_rows(
            Payment, expired, ["exception", "paid_token", "paid_amount"], status=PaymentStatus.EXPIRED
        )
        OneTimeWallet.objects.filter(
            pk__in=[p.wallet_id for p in expired if p.pk not in underpaid_pks],
            state__in=WALLET_STATES_BEFORE_FUNDS,
        ).update(state=WalletState.PAYMENT_EXPIRED, last_activity_at=timezone.now())
        OneTimeWallet.objects.filter(
            pk__in=[p.wallet_id for p in expired if p.pk in underpaid_pks],
            state__in=WALLET_STATES_BEFORE_FUNDS,
        ).update(state=WalletState.RECEIVED_FUNDS, last_activity_at=timezone.now())
        transaction.on_commit(lambda: _announce(payment_expired, expired, "payment_expired"))
        transaction.on_commit(lambda: _announce_flagged([p for p in expired if p.exception]))
    return expired


WALLET_STATES_BEFORE_FUNDS = (
    WalletState.CREATED,
    WalletState.PROCESSING_PAYMENT,
    WalletState.PAYMENT_EXPIRED,
    WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED,
)


def _locked(queryset):
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def _announce(signal, payments, name):
    """Send ``signal`` for each payment; a failing receiver is logged and changes nothing already done."""
    for payment in payments:
        for receiver, result in signal.send_robust(sender=Payment, payment=payment):
            if isinstance(result, Exception):
                logger.error("%s receiver %r failed for payment %s: %r", name, receiver, payment.pk, result)


def _announce_flagged(payments):
    for payment in (p for p in payments if p.exception):
        results = payment_flagged.send_robust(sender=Payment, payment=payment, exception=payment.exception)
        for receiver, result in results:
            if isinstance(result, Exception):
                logger.error(
                    "payment_flagged receiver %r failed for payment %s: %r", receiver, payment.pk, result
                )


def _announce_accepted(payments):
    hook_path = app_settings.ON_PAYMENT_ACCEPTED
    hook = import_string(hook_path) if hook_path else None
    _announce(payment_accepted, payments, "payment_accepted")
    for payment in payments:
        if hook is not None:
            try:
                hook(payment)
            except Exception:
                logger.exception("ON_PAYMENT_ACCEPTED hook failed for payment %s", payment.pk)
