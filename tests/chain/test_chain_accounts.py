"""Token accounts and mints decoded from bytes (Token and Token-2022), ATA derivation, rent constants."""

import struct

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address as solders_ata

from solana_payments.chain.accounts import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    MINT_SIZE,
    RENT_EXEMPT_MINIMUM,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_ATA_RENT,
    TOKEN_2022_ATA_SIZE,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_ACCOUNT_RENT,
    TOKEN_ACCOUNT_SIZE,
    TOKEN_PROGRAM_ID,
    ata_rent,
    ata_size,
    decode_mint,
    decode_token_account,
    get_associated_token_address,
    mint_from_account,
    token_account_from_account,
)

USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")


def token_account_bytes(
    mint, owner, amount, *, program=TOKEN_PROGRAM_ID, state=1, delegate=None, close_authority=None
):
    data = bytearray(TOKEN_ACCOUNT_SIZE)
    data[0:32] = bytes(mint)
    data[32:64] = bytes(owner)
    struct.pack_into("<Q", data, 64, amount)
    if delegate:
        struct.pack_into("<I", data, 72, 1)
        data[76:108] = bytes(delegate)
    data[108] = state
    if close_authority:
        struct.pack_into("<I", data, 129, 1)
        data[133:165] = bytes(close_authority)
    if program == TOKEN_2022_PROGRAM_ID:
        # account type 2 (Account) then the ImmutableOwner extension: type 7, length 0
        data += bytes([2]) + struct.pack("<HH", 7, 0)
    return bytes(data)


def mint_bytes(decimals, supply=0, authority=None, freeze=None, extra=b""):
    data = bytearray(MINT_SIZE)
    if authority:
        struct.pack_into("<I", data, 0, 1)
        data[4:36] = bytes(authority)
    struct.pack_into("<Q", data, 36, supply)
    data[44] = decimals
    data[45] = 1
    if freeze:
        struct.pack_into("<I", data, 46, 1)
        data[50:82] = bytes(freeze)
    return bytes(data) + extra


def test_program_ids():
    assert str(TOKEN_PROGRAM_ID) == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
    assert str(TOKEN_2022_PROGRAM_ID) == "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
    assert str(ASSOCIATED_TOKEN_PROGRAM_ID) == "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
    assert SYSTEM_PROGRAM_ID == Pubkey.default()


@pytest.mark.parametrize("program", [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID])
def test_decode_token_account(program):
    mint, owner, delegate = (Keypair().pubkey() for _ in range(3))
    data = token_account_bytes(mint, owner, 2**64 - 1, program=program, delegate=delegate)
    assert len(data) == (TOKEN_2022_ATA_SIZE if program == TOKEN_2022_PROGRAM_ID else TOKEN_ACCOUNT_SIZE)
    token = decode_token_account(data, token_program=program)
    assert (token.mint, token.owner, token.amount) == (mint, owner, 2**64 - 1)
    assert token.delegate == delegate and token.close_authority is None and not token.is_frozen
    frozen = decode_token_account(token_account_bytes(mint, owner, 0, program=program, state=2))
    assert frozen.is_frozen and frozen.amount == 0


def test_decode_token_account_errors():
    with pytest.raises(ValueError, match="at least 165"):
        decode_token_account(b"\x00" * 100)
    with pytest.raises(ValueError, match="not initialized"):
        decode_token_account(token_account_bytes(USDC, USDC, 1, state=0))
    mint_2022 = mint_bytes(6) + bytes(TOKEN_ACCOUNT_SIZE - MINT_SIZE) + bytes([1])
    with pytest.raises(ValueError, match="not a token account"):
        decode_token_account(mint_2022)


def test_token_account_from_account_checks_the_owner_program():
    data = token_account_bytes(USDC, Keypair().pubkey(), 5)
    account = Account(TOKEN_ACCOUNT_RENT, data, TOKEN_PROGRAM_ID)
    token = token_account_from_account(account, address=USDC)
    assert (
        token.amount == 5 and token.lamports == TOKEN_ACCOUNT_RENT and token.token_program == TOKEN_PROGRAM_ID
    )
    assert token_account_from_account(Account(1, data, SYSTEM_PROGRAM_ID)) is None
    assert token_account_from_account(None) is None


@pytest.mark.parametrize("program", [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID])
def test_decode_mint(program):
    authority = Keypair().pubkey()
    info = decode_mint(mint_bytes(6, 10**12, authority), token_program=program)
    assert (info.decimals, info.supply, info.mint_authority, info.freeze_authority) == (
        6,
        10**12,
        authority,
        None,
    )
    assert info.token_program == program and info.is_initialized and not info.has_extensions
    account = Account(1_461_600, mint_bytes(9), program)
    assert mint_from_account(account).decimals == 9


def test_decode_token_2022_mint_with_extensions():
    data = mint_bytes(2, freeze=USDC) + bytes(TOKEN_ACCOUNT_SIZE - MINT_SIZE) + bytes([1]) + b"\x00" * 40
    info = decode_mint(data, token_program=TOKEN_2022_PROGRAM_ID)
    assert info.decimals == 2 and info.freeze_authority == USDC and info.has_extensions


def test_decode_mint_errors():
    with pytest.raises(ValueError):
        decode_mint(b"\x00" * 10)
    with pytest.raises(ValueError, match="token account"):
        decode_mint(token_account_bytes(USDC, USDC, 1))
    assert mint_from_account(Account(1, mint_bytes(6), SYSTEM_PROGRAM_ID)) is None


def test_ata_of_a_real_mainnet_account():
    # From a recorded getTokenAccountsByOwner answer: USDC account H51D... of owner 3i47...
    owner = Pubkey.from_string("3i476kTBBTy7pBGx4CXwJpJ6phuwLQgcwLTdHhU3c7ui")
    expected = Pubkey.from_string("H51DXRt3ubThhdhNeDMScfkbC5X4AWzYfHaZS3JKEfPh")
    assert get_associated_token_address(owner, USDC) == expected
    assert get_associated_token_address(owner, USDC, TOKEN_PROGRAM_ID) == expected


def test_ata_depends_on_the_token_program():
    owner, mint = Keypair().pubkey(), Keypair().pubkey()
    classic = get_associated_token_address(owner, mint, TOKEN_PROGRAM_ID)
    t22 = get_associated_token_address(owner, mint, TOKEN_2022_PROGRAM_ID)
    assert classic != t22
    assert classic == solders_ata(owner, mint, TOKEN_PROGRAM_ID)
    assert t22 == solders_ata(owner, mint, TOKEN_2022_PROGRAM_ID)
    with pytest.raises(ValueError):
        get_associated_token_address(owner, mint, SYSTEM_PROGRAM_ID)


def test_rent_constants_match_litesvm():
    svm = LiteSVM()
    assert svm.minimum_balance_for_rent_exemption(0) == RENT_EXEMPT_MINIMUM == 890_880
    assert svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_SIZE) == TOKEN_ACCOUNT_RENT == 2_039_280
    assert svm.minimum_balance_for_rent_exemption(TOKEN_2022_ATA_SIZE) == TOKEN_2022_ATA_RENT == 2_074_080
    assert (
        ata_rent(TOKEN_PROGRAM_ID) == TOKEN_ACCOUNT_RENT
        and ata_rent(TOKEN_2022_PROGRAM_ID) == TOKEN_2022_ATA_RENT
    )
    assert ata_size(TOKEN_2022_PROGRAM_ID) == 170 and ata_size(TOKEN_PROGRAM_ID) == 165
