"""Wallet secrets: keypair generation and encryption at rest with MultiFernet (rotation: ``key_rotation``).

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
