"""Token accounts and mints decoded from raw account bytes, ATA addresses and rent constants.

The layouts are shared by the Token program and Token-2022 (whose accounts carry extensions after the
165-byte base), so one decoder serves both:

token account: mint [0:32], owner [32:64], amount u64 LE [64:72], delegate COption<Pubkey> [72:108],
state u8 [108], is_native COption<u64> [109:121], delegated amount [121:129],
close authority COption<Pubkey> [129:165].

mint: mint authority COption<Pubkey> [0:36], supply u64 [36:44], decimals u8 [44], is_initialized [45],
freeze authority COption<Pubkey> [46:82].
"""

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey
from solders.token import associated

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")
TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)
# The token programs by the short names the app stores ("token", "token-2022").
PROGRAM_BY_NAME = {"token": TOKEN_PROGRAM_ID, "token-2022": TOKEN_2022_PROGRAM_ID}

MINT_SIZE = 82
TOKEN_ACCOUNT_SIZE = 165
TOKEN_2022_ATA_SIZE = 170  # 165 + account type + ImmutableOwner extension header

# Rent-exempt minimums (lamports) at the current rent rate.
RENT_EXEMPT_MINIMUM = 890_880  # an account with no data (a plain SOL wallet)
TOKEN_ACCOUNT_RENT = 2_039_280  # a 165-byte token account (Token program ATA)
TOKEN_2022_ATA_RENT = 2_074_080  # a 170-byte Token-2022 ATA

ACCOUNT_STATE_UNINITIALIZED = 0
ACCOUNT_STATE_INITIALIZED = 1
ACCOUNT_STATE_FROZEN = 2

_TOKEN_2022_ACCOUNT_TYPE_MINT = 1
_TOKEN_2022_ACCOUNT_TYPE_ACCOUNT = 2


def is_token_program(program_id) -> bool:
    return program_id in TOKEN_PROGRAMS


def _check_token_program(token_program):
    if token_program not in TOKEN_PROGRAMS:
        raise ValueError(f"{token_program} is not the Token or Token-2022 program")


def ata_size(token_program) -> int:
    """Data size of an associated token account created by the ATA program."""
    _check_token_program(token_program)
    return TOKEN_2022_ATA_SIZE if token_program == TOKEN_2022_PROGRAM_ID else TOKEN_ACCOUNT_SIZE


def ata_rent(token_program) -> int:
    """Rent-exempt minimum of an ATA (what the fee payer pays to create it and gets back on close)."""
    _check_token_program(token_program)
    return TOKEN_2022_ATA_RENT if token_program == TOKEN_2022_PROGRAM_ID else TOKEN_ACCOUNT_RENT


def get_associated_token_address(
    owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID
) -> Pubkey:
    """The ATA of ``owner`` for ``mint``, derived by solders; it differs per token program.

    ``ValueError`` for a program that is neither Token nor Token-2022 (its "ATA" would be an address no
    program can create).
    """
    _check_token_program(token_program)
    return associated.get_associated_token_address(owner, mint, token_program)


def _coption_pubkey(data: bytes, offset: int) -> Pubkey | None:
    (tag,) = struct.unpack_from("<I", data, offset)
    return Pubkey(data[offset + 4 : offset + 36]) if tag == 1 else None


@dataclass(frozen=True)
class TokenAccount:
    """A decoded SPL token account (Token or Token-2022)."""

    mint: Pubkey
    owner: Pubkey
    amount: int
    state: int
    delegate: Pubkey | None = None
    delegated_amount: int = 0
    close_authority: Pubkey | None = None
    is_native: bool = False
    address: Pubkey | None = None
    token_program: Pubkey | None = None
    lamports: int | None = None

    @property
    def is_frozen(self) -> bool:
        return self.state == ACCOUNT_STATE_FROZEN


def decode_token_account(data: bytes, *, address=None, token_program=None, lamports=None) -> TokenAccount:
    """Decode a token account from bytes; ``ValueError`` when too short, a mint, or uninitialized."""
    data = bytes(data)
    if len(data) < TOKEN_ACCOUNT_SIZE:
        raise ValueError(f"token account data is {len(data)} bytes, expected at least {TOKEN_ACCOUNT_SIZE}")
    if len(data) > TOKEN_ACCOUNT_SIZE and data[TOKEN_ACCOUNT_SIZE] != _TOKEN_2022_ACCOUNT_TYPE_ACCOUNT:
        raise ValueError("data is not a token account (Token-2022 account type byte says otherwise)")
    state = data[108]
    if state == ACCOUNT_STATE_UNINITIALIZED:
        raise ValueError("token account is not initialized")
    (amount,) = struct.unpack_from("<Q", data, 64)
    (native_tag,) = struct.unpack_from("<I", data, 109)
    (delegated_amount,) = struct.unpack_from("<Q", data, 121)
    return TokenAccount(
        mint=Pubkey(data[0:32]),
        owner=Pubkey(data[32:64]),
        amount=amount,
        state=state,
        delegate=_coption_pubkey(data, 72),
        delegated_amount=delegated_amount,
        close_authority=_coption_pubkey(data, 129),
        is_native=native_tag == 1,
        address=address,
        token_program=token_program,
        lamports=lamports,
    )


def token_account_from_account(account, address=None) -> TokenAccount | None:
    """Decode a solders ``Account`` owned by a token program; None when missing or not a token account."""
    if account is None or not is_token_program(account.owner):
        return None
    try:
        return decode_token_account(
            account.data, address=address, token_program=account.owner, lamports=account.lamports
        )
    except ValueError:
        return None


@dataclass(frozen=True)
class MintInfo:
    """A decoded SPL mint (Token or Token-2022)."""

    decimals: int
    token_program: Pubkey
    supply: int = 0
    mint_authority: Pubkey | None = None
    freeze_authority: Pubkey | None = None
    is_initialized: bool = True
    address: Pubkey | None = None
    data_size: int = MINT_SIZE

    @property
    def has_extensions(self) -> bool:
        return self.data_size > MINT_SIZE


def decode_mint(data: bytes, *, token_program=TOKEN_PROGRAM_ID, address=None) -> MintInfo:
    """Decode a mint from its bytes; ``ValueError`` when it is not one."""
    data = bytes(data)
    if len(data) < MINT_SIZE:
        raise ValueError(f"mint data is {len(data)} bytes, expected at least {MINT_SIZE}")
    if len(data) == TOKEN_ACCOUNT_SIZE or (
        len(data) > TOKEN_ACCOUNT_SIZE and data[TOKEN_ACCOUNT_SIZE] != _TOKEN_2022_ACCOUNT_TYPE_MINT
    ):
        raise ValueError("data is a token account, not a mint")
    if MINT_SIZE < len(data) <= TOKEN_ACCOUNT_SIZE:
        raise ValueError(f"data of {len(data)} bytes is not a mint")
    (supply,) = struct.unpack_from("<Q", data, 36)
    return MintInfo(
        decimals=data[44],
        token_program=token_program,
        supply=supply,
        mint_authority=_coption_pubkey(data, 0),
        freeze_authority=_coption_pubkey(data, 46),
        is_initialized=bool(data[45]),
        address=address,
        data_size=len(data),
    )


def mint_from_account(account, address=None) -> MintInfo | None:
    """Decode a solders ``Account`` holding a mint; None when missing or not a mint."""
    if account is None or not is_token_program(account.owner):
        return None
    try:
        return decode_mint(account.data, token_program=account.owner, address=address)
    except ValueError:
        return None
