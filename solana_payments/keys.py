"""Wallet secrets: keypair generation, encryption at rest with MultiFernet, and key rotation.

``ONE_TIME_WALLETS_ENCRYPTION_KEY`` is one Fernet key or a list of them: the first encrypts, every key
decrypts, so keys can be rotated without downtime (add the new key first, rotate, then drop the old one).
A secret is decrypted only where a transaction is signed; errors name the wallet, never the ciphertext.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from solders.keypair import Keypair

from .conf import app_settings
from .exceptions import WalletKeyError


def configured_keys():
    """The configured Fernet keys as a list of strings, first one encrypting."""
    value = app_settings.ONE_TIME_WALLETS_ENCRYPTION_KEY
    if not value:
        return []
    if isinstance(value, (str, bytes)):
        value = [value]
    return [k.decode() if isinstance(k, bytes) else k for k in value]


def key_errors(keys):
    """A list of human-readable problems with ``keys`` (empty when every key is a valid Fernet key)."""
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(f"key {position} is not a valid Fernet key (32 url-safe base64-encoded bytes)")
    return problems


def get_fernet():
    keys = configured_keys()
    if not keys:
        raise ImproperlyConfigured("SOLANA_PAYMENTS['ONE_TIME_WALLETS_ENCRYPTION_KEY'] is not set.")
    problems = key_errors(keys)
    if problems:
        raise ImproperlyConfigured(
            "SOLANA_PAYMENTS['ONE_TIME_WALLETS_ENCRYPTION_KEY']: " + "; ".join(problems)
        )
    return MultiFernet([Fernet(k) for k in keys])


def encrypt_keypair(keypair, fernet=None):
    return (fernet or get_fernet()).encrypt(bytes(keypair)).decode("ascii")


def decrypt_keypair(token, *, wallet_id=None, fernet=None):
    try:
        secret = (fernet or get_fernet()).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError, TypeError):
        raise WalletKeyError(
            f"Cannot decrypt the secret of wallet {wallet_id}: none of the configured "
            "ONE_TIME_WALLETS_ENCRYPTION_KEY keys matches it."
        ) from None
    return Keypair.from_bytes(secret)


def new_wallet_secret():
    """A fresh keypair and its encrypted secret."""
    keypair = Keypair()
    return keypair, encrypt_keypair(keypair)


def rotate_wallet_keys(*, batch_size=500):
    """Re-encrypt every wallet's secret under the first key. Idempotent; returns counts.

    Rows already under the first key are left untouched. A wallet no key can decrypt stops the
    rotation with ``WalletKeyError`` naming it; rows of finished batches stay rotated.
    """
    from django.db import transaction

    from .models import OneTimeWallet

    fernet = get_fernet()
    primary = Fernet(configured_keys()[0])
    counts = {"checked": 0, "rotated": 0, "unchanged": 0}
    last_pk = 0
    while True:
        batch = list(
            OneTimeWallet.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .only("pk", "encrypted_secret")[:batch_size]
        )
        if not batch:
            return counts
        changed = []
        for wallet in batch:
            counts["checked"] += 1
            token = wallet.encrypted_secret.encode("ascii")
            if _is_under(primary, token):
                counts["unchanged"] += 1
                continue
            try:
                wallet.encrypted_secret = fernet.rotate(token).decode("ascii")
            except InvalidToken:
                raise WalletKeyError(
                    f"Cannot decrypt the secret of wallet {wallet.pk}: "
                    "none of the configured keys matches it."
                ) from None
            changed.append(wallet)
        with transaction.atomic():
            OneTimeWallet.objects.bulk_update(changed, ["encrypted_secret"])
        counts["rotated"] += len(changed)
        last_pk = batch[-1].pk


def _is_under(fernet, token):
    try:
        fernet.decrypt(token)
    except InvalidToken:
        return False
    return True
