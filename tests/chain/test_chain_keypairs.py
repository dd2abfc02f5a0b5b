"""FEE_PAYER_KEYPAIR and address parsing: the accepted formats, and errors that never echo the secret."""

import json

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from solana_payments.chain.keypairs import parse_keypair, parse_pubkey


@pytest.fixture
def keypair():
    return Keypair()


def test_json_byte_array_string(keypair):
    assert parse_keypair(json.dumps(list(bytes(keypair)))) == keypair
    assert parse_keypair("  " + json.dumps(list(bytes(keypair)), indent=1) + "\n") == keypair


def test_base58_string(keypair):
    assert parse_keypair(str(keypair)) == keypair
    assert parse_keypair(str(keypair) + "\n") == keypair


def test_list_tuple_bytes_and_keypair(keypair):
    assert parse_keypair(list(bytes(keypair))) == keypair
    assert parse_keypair(tuple(bytes(keypair))) == keypair
    assert parse_keypair(bytes(keypair)) == keypair
    assert parse_keypair(keypair) is keypair


@pytest.mark.parametrize(
    "value, message",
    [
        (None, "not set"),
        ("", "empty"),
        ("[1, 2,", "not valid JSON"),
        ('{"a": 1}', "neither"),
        ("[1, 2, 3]", "64 bytes"),
        ("[" + ",".join(["300"] * 64) + "]", "between 0 and 255"),
        ("0OIl" * 20, "not base58"),
        (12345, "not int"),
        ([True] * 64, "between 0 and 255"),
    ],
)
def test_invalid_values(value, message):
    with pytest.raises(ValueError, match=message):
        parse_keypair(value)


def test_public_key_alone_is_refused_with_a_hint(keypair):
    with pytest.raises(ValueError, match="32 bytes is a public key"):
        parse_keypair(str(keypair.pubkey()))


def test_inconsistent_keypair_is_refused_without_echoing_it(keypair):
    raw = bytes(keypair)[:32] + bytes(Keypair().pubkey())
    with pytest.raises(ValueError) as info:
        parse_keypair(list(raw))
    assert "inconsistent" in str(info.value)
    secret = str(list(raw)[:8])[1:-1]
    assert secret not in str(info.value)


def test_error_messages_never_contain_the_secret(keypair):
    text = str(keypair)[:-2] + "0O"  # invalid base58 with the rest of the secret
    with pytest.raises(ValueError) as info:
        parse_keypair(text)
    assert str(keypair)[:20] not in str(info.value)
    assert "FEE_PAYER_KEYPAIR" in str(info.value)


def test_parse_pubkey():
    key = Keypair().pubkey()
    assert parse_pubkey(str(key)) == key
    assert parse_pubkey(f"  {key} ") == key
    assert parse_pubkey(key) is key
    assert parse_pubkey("11111111111111111111111111111111") == Pubkey.default()


@pytest.mark.parametrize("value", ["", "abc", "0" * 44, "1" * 45, str(Keypair()), None, 5])
def test_parse_pubkey_errors(value):
    with pytest.raises(ValueError, match="not a valid Solana address"):
        parse_pubkey(value)


def test_base58_of_another_length_is_refused(keypair):
    with pytest.raises(ValueError, match="must hold 64 bytes"):
        parse_keypair(str(keypair)[:60])
