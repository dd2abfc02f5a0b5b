"""Parsing keypairs and addresses from settings and user input.

``FEE_PAYER_KEYPAIR`` may be given the ways Solana users keep keys:

- the JSON byte array of a ``solana-keygen`` keypair file, as a string (``"[12,34,...]"``);
- the base58 string wallets export (Phantom, Solflare: 64 bytes, 87-88 characters);
- a list (or tuple, bytes) of the 64 integers.

Error messages never repeat the secret. (Encrypting the one-time wallets' secrets is another matter, and
another module: ``solana_payments.keys``.)
"""

import json
import logging

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

logger = logging.getLogger(__name__)

KEYPAIR_LENGTH = 64
PUBKEY_LENGTH = 32

BASE58_ALPHABET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


def _base58_bytes(text: str, name: str) -> bytes:
    """The bytes of a base58 key, decoded by solders: 64 for a keypair (the size of a signature), 32 for
    a public key (which the caller refuses with a hint).

    ``ValueError`` naming what is wrong (a character outside base58, another length), never the text.
    """
    if not set(text) <= BASE58_ALPHABET:
        raise ValueError(
            f"{name} is neither a JSON byte array ('[1,2,...]') nor a base58 string "
            "(it contains a character that is not base58)"
        )
    try:
        return bytes(Signature.from_string(text))
    except ValueError:
        pass
    try:
        return bytes(Pubkey.from_string(text))
    except ValueError:
        raise ValueError(
            f"{name} (base58) must hold {KEYPAIR_LENGTH} bytes (secret key then public key)"
        ) from None


def _keypair_from_bytes(raw: bytes, what: str) -> Keypair:
    if len(raw) != KEYPAIR_LENGTH:
        hint = ""
        if len(raw) == PUBKEY_LENGTH:
            hint = " (32 bytes is a public key or a bare seed, not a keypair)"
        raise ValueError(
            f"{what} must hold {KEYPAIR_LENGTH} bytes (secret key then public key), got {len(raw)}{hint}"
        )
    secret, public = raw[:32], raw[32:]
    keypair = Keypair.from_seed(secret)
    if bytes(keypair.pubkey()) != public:
        raise ValueError(f"{what} is inconsistent: its last 32 bytes are not the public key of its secret")
    return keypair


def _keypair_from_ints(values, what: str) -> Keypair:
    values = list(values)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise ValueError(f"{what} must be a list of integers between 0 and 255")
    return _keypair_from_bytes(bytes(values), what)


def parse_keypair(value, *, name: str = "FEE_PAYER_KEYPAIR") -> Keypair:
    """Return a :class:`Keypair` from a JSON byte-array string, a base58 string or a list of ints.

    Raises ``ValueError`` with a message naming ``name`` (and never the secret) for anything else.
    """
    if isinstance(value, Keypair):
        return value
    if value is None:
        raise ValueError(f"{name} is not set")
    if isinstance(value, bytes | bytearray):
        return _keypair_from_bytes(bytes(value), name)
    if isinstance(value, list | tuple):
        return _keypair_from_ints(value, name)
    if not isinstance(value, str):
        raise ValueError(
            f"{name} must be a JSON byte array string, a base58 string or a list of 64 integers, "
            f"not {type(value).__name__}"
        )
    text = value.strip()
    if not text:
        raise ValueError(f"{name} is empty")
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError:
            raise ValueError(f"{name} looks like a JSON byte array but is not valid JSON") from None
        if not isinstance(values, list):
            raise ValueError(f"{name} must be a JSON array of 64 integers")
        return _keypair_from_ints(values, name)
    return _keypair_from_bytes(_base58_bytes(text, name), f"{name} (base58)")


def parse_pubkey(value) -> Pubkey:
    """Return a :class:`Pubkey` from a base58 address; ``ValueError`` "... is not a valid Solana address"."""
    if isinstance(value, Pubkey):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{type(value).__name__} is not a valid Solana address")
    text = value.strip()
    shown = text if len(text) <= 60 else text[:57] + "..."
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise ValueError(f"{shown!r} is not a valid Solana address") from None
