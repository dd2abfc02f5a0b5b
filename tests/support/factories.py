"""Plain helpers that make records without touching the chain (the chain tests build real ones)."""

import datetime

from django.utils import timezone

from solana_payments.keys import new_wallet_secret
from solana_payments.models import OneTimeWallet, Payment, PaymentOption


def make_payments(count, tokens, *, status="initiated", expires_in=900, amounts=None):
    """``count`` payments with SOL and USDC options, made with bulk inserts. Returns (payments, keypairs)."""
    amounts = amounts or {"SOL": 1_000_000_000, "USDC": 25_000_000}
    keypairs, wallets = [], []
    for _ in range(count):
        keypair, encrypted = new_wallet_secret()
        keypairs.append(keypair)
        wallets.append(OneTimeWallet(address=str(keypair.pubkey()), encrypted_secret=encrypted))
    wallets = OneTimeWallet.objects.bulk_create(wallets)
    deadline = timezone.now() + datetime.timedelta(seconds=expires_in)
    payments = Payment.objects.bulk_create(
        [Payment(wallet=wallet, status=status, expires_at=deadline) for wallet in wallets]
    )
    PaymentOption.objects.bulk_create(
        [
            PaymentOption(payment=payment, token=tokens[symbol], amount=amount)
            for payment in payments
            for symbol, amount in amounts.items()
        ]
    )
    return payments, keypairs
