"""Creating payments, and the helpers that settle them."""

import datetime

from django.db import transaction
from django.utils import timezone

from .amounts import EMPTY_ACCOUNT_RENT_LAMPORTS, to_base_units
from .conf import app_settings
from .keys import new_wallet_secret
from .models import OneTimeWallet, Payment, PaymentOption, PaymentToken
from .signals import payment_initiated

PAYMENT_FIELDS = ("label", "message", "email", "user", "metadata")


def create_payment(options, *, expires_in=None, **fields):
    """Create an ``initiated`` payment with its one-time wallet and options.

    ``options`` maps a token symbol to an amount in token units, e.g. ``{"SOL": Decimal("0.5")}``.
    ``expires_in`` is seconds or a ``timedelta`` (default ``PAYMENT_VALIDITY_SECONDS``).
    Other keyword arguments fill the payment's customer fields (label, message, email, user, metadata).

    Everything is written in one database transaction; when ``CREATE_ATAS_ON_PAYMENT`` is on, the
    wallet's token accounts are created on chain inside it, so a chain outage leaves nothing behind.
    """
    unknown = sorted(set(fields) - set(PAYMENT_FIELDS))
    if unknown:
        raise TypeError(f"create_payment() got unexpected fields: {', '.join(unknown)}")
    amounts = _validated_amounts(options)
    deadline = timezone.now() + _validity(expires_in)

    keypair, encrypted = new_wallet_secret()
    with transaction.atomic():
        wallet = OneTimeWallet.objects.create(
            address=str(keypair.pubkey()),
            encrypted_secret=encrypted,
            receiver_address=app_settings.RECEIVER_ADDRESS or "",
        )
        payment = Payment.objects.create(wallet=wallet, expires_at=deadline, **fields)
        PaymentOption.objects.bulk_create(
            PaymentOption(payment=payment, token=token, amount=amount) for token, amount in amounts
        )
        spl_tokens = [token for token, _ in amounts if not token.is_native]
        if spl_tokens and app_settings.CREATE_ATAS_ON_PAYMENT:
            create_wallet_token_accounts(wallet, keypair.pubkey(), spl_tokens)
        transaction.on_commit(lambda: payment_initiated.send(sender=Payment, payment=payment))
    return payment


def create_wallet_token_accounts(wallet, owner, tokens):
    """Create the wallet's associated token accounts on chain, paid by the fee payer; record the rent."""
    from .chain.wallet_accounts import create_token_accounts

    rent = create_token_accounts(owner, tokens)
    wallet.rent_paid = rent
    wallet.save(update_fields=["rent_paid"])


def _validity(expires_in):
    if expires_in is None:
        return datetime.timedelta(seconds=app_settings.PAYMENT_VALIDITY_SECONDS)
    if isinstance(expires_in, datetime.timedelta):
        delta = expires_in
    elif isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        delta = datetime.timedelta(seconds=expires_in)
    else:
        raise ValueError(f"expires_in must be seconds or a timedelta, not {expires_in!r}.")
    if delta.total_seconds() <= 0:
        raise ValueError("expires_in must be in the future.")
    return delta


def _validated_amounts(options):
    if not isinstance(options, dict) or not options:
        raise ValueError("options must map at least one token symbol to an amount.")
    tokens = {t.symbol: t for t in PaymentToken.objects.filter(symbol__in=[str(s) for s in options])}
    amounts = []
    for symbol, amount in options.items():
        token = tokens.get(symbol)
        if token is None:
            raise ValueError(f"Unknown token {symbol!r}.")
        if not token.is_active:
            raise ValueError(f"Token {symbol} is not active.")
        base = to_base_units(amount, token.decimals, what=f"{symbol} amount")
        if token.is_native and base < EMPTY_ACCOUNT_RENT_LAMPORTS:
            raise ValueError(
                f"SOL amount {amount} is below the rent-exempt minimum of an empty account "
                f"({EMPTY_ACCOUNT_RENT_LAMPORTS} lamports, 0.00089088 SOL): "
                "such a payment could never arrive."
            )
        amounts.append((token, base))
    return amounts
