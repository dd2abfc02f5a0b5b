"""Parsing keypairs and addresses from settings and user input.

``FEE_PAYER_KEYPAIR`` may be given the ways Solana users keep keys:

- the JSON byte array of a ``solana-keygen`` keypair file, as a string (``"[12,34,...]"``);
- the base58 string wallets export (Phantom, Solflare: 64 bytes, 87-88 characters);
- a list (or tuple, bytes) of the 64 integers.

Error messages never repeat the secret.
"""

import json
import logging

from solders.keypair import Keypair
from solders.pubkey import Pubkey

logger = logging.getLogger(__name__)

KEYPAIR_LENGTH = 64
PUBKEY_LENGTH = 32

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}


def b58decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet); ValueError on a character outside it."""
    number = 0
    for char in text:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError:
            raise ValueError("contains a character that is not base58") from None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading_zeros + body


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
    try:
        raw = b58decode(text)
    except ValueError:
        raise ValueError(
            f"{name} is neither a JSON byte array ('[1,2,...]') nor a base58 string "
            "(it contains a character that is not base58)"
        ) from None
    return _keypair_from_bytes(raw, f"{name} (base58)")


def parse_pubkey(value) -> Pubkey:
    """Return a :class:`Pubkey` from a base58 address; ``ValueError`` "... is not a valid Solana address"."""
    if isinstance(value, Pubkey):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{type(value).__name__} is not a valid Solana address")
    text = value.strip()
    shown = text if len(text) <= 60 else text[:57] + "..."
    try:
        raw = b58decode(text)
    except ValueError:
        raw = b""
    if len(raw) != PUBKEY_LENGTH or not (32 <= len(text) <= 44):
        raise ValueError(f"{shown!r} is not a valid Solana address")
    return Pubkey(raw)


def keypair_to_base58(keypair: Keypair) -> str:
    """The 64-byte base58 form wallets import (the inverse of :func:`parse_keypair` for strings)."""
    return str(keypair)
