"""Pyth price feed accounts on Solana, decoded from raw account bytes.

A feed is a ``PriceUpdateV2`` account of the Pyth Solana Receiver program (an Anchor account). Its bytes,
little-endian, Borsh-serialized:

    [0:8]    Anchor discriminator, sha256("account:PriceUpdateV2")[:8]
    [8:40]   write authority (Pubkey)
    [40]     verification level: 0 = Partial, followed by one byte (signatures checked); 1 = Full
    then the price feed message:
             feed id [32], price i64, conf u64, exponent i32, publish time i64 (unix seconds),
             previous publish time i64, EMA price i64, EMA conf u64
    then     posted slot u64

The price is ``price * 10**exponent`` and its confidence interval ``± conf * 10**exponent``. A mainnet feed
that Pyth keeps updated (a "sponsored" feed) lives at a program-derived address of the Pyth push oracle:
``feed_account_address(feed_id)``. Only fully verified updates are read as prices: a partially verified
one was checked against fewer Wormhole guardian signatures.
"""

import hashlib
import struct
from dataclasses import dataclass
from decimal import Decimal

from solders.pubkey import Pubkey

RECEIVER_PROGRAM_ID = Pubkey.from_string("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ")
PUSH_ORACLE_PROGRAM_ID = Pubkey.from_string("pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT")
DISCRIMINATOR = hashlib.sha256(b"account:PriceUpdateV2").digest()[:8]
ACCOUNT_SIZE = 8 + 32 + 2 + 32 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 8  # the space the program allocates: 134

PARTIAL, FULL = 0, 1
_MESSAGE = struct.Struct(
    "<32sqQiqqqQ"
)  # feed id, price, conf, exponent, publish, prev publish, EMA price, EMA conf
_SLOT = struct.Struct("<Q")


class NotAPriceFeed(ValueError):
    """The account is missing, owned by another program, or its bytes are not a fully verified price."""


@dataclass(frozen=True)
class PriceFeed:
    feed_id: bytes
    price: int
    conf: int
    exponent: int
    publish_time: int  # unix seconds
    posted_slot: int

    @property
    def value(self) -> Decimal:
        return Decimal(self.price).scaleb(self.exponent)

    @property
    def confidence(self) -> Decimal:
        return Decimal(self.conf).scaleb(self.exponent)


def feed_account_address(feed_id, shard: int = 0) -> Pubkey:
    """Where the push oracle keeps the feed ``feed_id`` (32 bytes or hex, with or without ``0x``)."""
    if isinstance(feed_id, str):
        feed_id = bytes.fromhex(feed_id.removeprefix("0x"))
    if len(feed_id) != 32:
        raise ValueError("a Pyth feed id is 32 bytes")
    address, _bump = Pubkey.find_program_address(
        [shard.to_bytes(2, "little"), feed_id], PUSH_ORACLE_PROGRAM_ID
    )
    return address


def decode_price_feed(data: bytes, owner=RECEIVER_PROGRAM_ID) -> PriceFeed:
    """The price in a ``PriceUpdateV2`` account's bytes; raises :class:`NotAPriceFeed`."""
    if owner != RECEIVER_PROGRAM_ID:
        raise NotAPriceFeed(f"owned by {owner}, not the Pyth receiver program")
    data = bytes(data)
    if len(data) < 8 + 32 + 1 + _MESSAGE.size + _SLOT.size - 1 or data[:8] != DISCRIMINATOR:
        raise NotAPriceFeed("not a PriceUpdateV2 account")
    level = data[40]
    if level == PARTIAL:
        raise NotAPriceFeed("a partially verified price update")
    if level != FULL:
        raise NotAPriceFeed(f"unknown verification level {level}")
    offset = 41
    feed_id, price, conf, exponent, publish_time, _prev, _ema, _ema_conf = _MESSAGE.unpack_from(data, offset)
    (posted_slot,) = _SLOT.unpack_from(data, offset + _MESSAGE.size)
    return PriceFeed(feed_id, price, conf, exponent, publish_time, posted_slot)


def encode_price_feed(
    feed: PriceFeed, *, write_authority: Pubkey | None = None, verification=FULL, signatures: int = 0
) -> bytes:
    """The bytes of a ``PriceUpdateV2`` account holding ``feed`` (the local chain's feeds are made so),
    padded to the size the receiver program allocates."""
    level = bytes([PARTIAL, signatures]) if verification == PARTIAL else bytes([FULL])
    message = _MESSAGE.pack(
        feed.feed_id,
        feed.price,
        feed.conf,
        feed.exponent,
        feed.publish_time,
        feed.publish_time - 1,
        feed.price,
        feed.conf,
    )
    data = DISCRIMINATOR + bytes(write_authority or Pubkey.default()) + level + message
    data += _SLOT.pack(feed.posted_slot)
    return data.ljust(ACCOUNT_SIZE, b"\0")
