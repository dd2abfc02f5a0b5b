"""Pyth PriceUpdateV2 accounts: the layout decoded from bytes, and the mainnet feed addresses."""

from decimal import Decimal

import pytest
from solders.pubkey import Pubkey

from solana_payments.chain.pyth import (
    ACCOUNT_SIZE,
    DISCRIMINATOR,
    PARTIAL,
    RECEIVER_PROGRAM_ID,
    NotAPriceFeed,
    PriceFeed,
    decode_price_feed,
    encode_price_feed,
    feed_account_address,
)
from solana_payments.conf import DEFAULTS

FEED = PriceFeed(
    feed_id=bytes(range(32)),
    price=15_012_345_678,
    conf=7_500_000,
    exponent=-8,
    publish_time=1_764_800_000,
    posted_slot=321,
)


def test_a_fully_verified_update_decodes_to_its_price_confidence_and_publish_time():
    data = encode_price_feed(FEED)
    assert len(data) == ACCOUNT_SIZE == 134
    assert data[:8] == DISCRIMINATOR == bytes.fromhex("22f123639d7ef4cd")
    # the byte layout, field by field: price i64 right after the 32-byte feed id, at 41 + 32
    assert int.from_bytes(data[73:81], "little", signed=True) == FEED.price
    decoded = decode_price_feed(data, RECEIVER_PROGRAM_ID)
    assert decoded == FEED
    assert decoded.value == Decimal("150.12345678")
    assert decoded.confidence == Decimal("0.075")


def test_partial_verification_another_owner_or_other_bytes_are_not_prices():
    with pytest.raises(NotAPriceFeed, match="partially verified"):
        decode_price_feed(encode_price_feed(FEED, verification=PARTIAL, signatures=5))
    with pytest.raises(NotAPriceFeed, match="owned by"):
        decode_price_feed(encode_price_feed(FEED), Pubkey.default())
    with pytest.raises(NotAPriceFeed, match="not a PriceUpdateV2"):
        decode_price_feed(b"\0" * ACCOUNT_SIZE)
    with pytest.raises(NotAPriceFeed):
        decode_price_feed(encode_price_feed(FEED)[:60])


def test_the_default_feeds_are_the_push_oracles_mainnet_accounts_of_the_published_feed_ids():
    feed_ids = {
        "SOL": "0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d",
        "USDC": "0xeaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a",
        "PYUSD": "0xc1da1b73d7f01e7ddd54b3766cf7fcd644395ad14f70aa706ec5384c59e76692",
        "EUR": "0xa995d00bb36a63cef7fd2c287dc105fc8f3d93779f062f09551b0af3e81ec30b",
    }
    assert {code: str(feed_account_address(i)) for code, i in feed_ids.items()} == DEFAULTS["PYTH_FEEDS"]
