"""Parsed instructions (``jsonParsed``) of the System, Token, Token-2022, ATA and Memo programs."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction_status import (
    ParsedAccount as ParsedAccountTxStatus,
)
from solders.transaction_status import (
    ParsedAccountSource,
    ParsedInstruction,
    UiPartiallyDecodedInstruction,
)

from .encoding import (
    ATA_PROGRAM,
    EXTENSION_NAMES,
    MEMO_PROGRAMS,
    SYSTEM_PROGRAM,
    TOKEN_PROGRAM_NAMES,
    b58encode,
    ui_token_amount_json,
)

# ---------------------------------------------------------------------------------- instruction parsing


def _u64(data: bytes, offset: int) -> int:
    return struct.unpack_from("<Q", data, offset)[0]


def _parse_system(data: bytes, accounts: Sequence[str]) -> dict[str, Any] | None:
    if len(data) < 4:
        return None
    kind = struct.unpack_from("<I", data, 0)[0]
    if kind == 0 and len(data) >= 52 and len(accounts) >= 2:
        return {
            "info": {
                "lamports": _u64(data, 4),
                "newAccount": accounts[1],
                "owner": str(Pubkey.from_bytes(data[20:52])),
                "source": accounts[0],
                "space": _u64(data, 12),
            },
            "type": "createAccount",
        }
    if kind == 1 and len(data) >= 36 and accounts:
        return {
            "info": {"account": accounts[0], "owner": str(Pubkey.from_bytes(data[4:36]))},
            "type": "assign",
        }
    if kind == 2 and len(data) >= 12 and len(accounts) >= 2:
        return {
            "info": {"destination": accounts[1], "lamports": _u64(data, 4), "source": accounts[0]},
            "type": "transfer",
        }
    if kind == 8 and len(data) >= 12 and accounts:
        return {"info": {"account": accounts[0], "space": _u64(data, 4)}, "type": "allocate"}
    return None


def _authority(info: dict[str, Any], accounts: Sequence[str], index: int, name: str) -> None:
    """Single authority, or a multisig authority followed by its signers."""
    if len(accounts) > index + 1:
        info["multisig" + name[0].upper() + name[1:]] = accounts[index]
        info["signers"] = list(accounts[index + 1 :])
    else:
        info[name] = accounts[index]


def _parse_token(data: bytes, accounts: Sequence[str]) -> dict[str, Any] | None:
    if not data:
        return None
    kind = data[0]
    body = data[1:]

    def need(n_accounts: int, n_bytes: int = 0) -> bool:
        return len(accounts) >= n_accounts and len(body) >= n_bytes

    if kind == 3 and need(3, 8):  # Transfer
        info = {"source": accounts[0], "destination": accounts[1], "amount": str(_u64(body, 0))}
        _authority(info, accounts, 2, "authority")
        return {"info": info, "type": "transfer"}
    if kind == 12 and need(4, 9):  # TransferChecked
        info = {
            "source": accounts[0],
            "mint": accounts[1],
            "destination": accounts[2],
            "tokenAmount": ui_token_amount_json(_u64(body, 0), body[8]),
        }
        _authority(info, accounts, 3, "authority")
        return {"info": info, "type": "transferChecked"}
    if kind == 9 and need(3):  # CloseAccount
        info = {"account": accounts[0], "destination": accounts[1]}
        _authority(info, accounts, 2, "owner")
        return {"info": info, "type": "closeAccount"}
    if kind == 7 and need(3, 8):  # MintTo
        info = {"mint": accounts[0], "account": accounts[1], "amount": str(_u64(body, 0))}
        _authority(info, accounts, 2, "mintAuthority")
        return {"info": info, "type": "mintTo"}
    if kind == 14 and need(3, 9):  # MintToChecked
        info = {
            "mint": accounts[0],
            "account": accounts[1],
            "tokenAmount": ui_token_amount_json(_u64(body, 0), body[8]),
        }
        _authority(info, accounts, 2, "mintAuthority")
        return {"info": info, "type": "mintToChecked"}
    if kind == 8 and need(3, 8):  # Burn
        info = {"account": accounts[0], "mint": accounts[1], "amount": str(_u64(body, 0))}
        _authority(info, accounts, 2, "authority")
        return {"info": info, "type": "burn"}
    if kind == 15 and need(3, 9):  # BurnChecked
        info = {
            "account": accounts[0],
            "mint": accounts[1],
            "tokenAmount": ui_token_amount_json(_u64(body, 0), body[8]),
        }
        _authority(info, accounts, 2, "authority")
        return {"info": info, "type": "burnChecked"}
    if kind == 1 and need(4):  # InitializeAccount
        return {
            "info": {
                "account": accounts[0],
                "mint": accounts[1],
                "owner": accounts[2],
                "rentSysvar": accounts[3],
            },
            "type": "initializeAccount",
        }
    if kind == 16 and need(3, 32):  # InitializeAccount2
        return {
            "info": {
                "account": accounts[0],
                "mint": accounts[1],
                "owner": str(Pubkey.from_bytes(body[:32])),
                "rentSysvar": accounts[2],
            },
            "type": "initializeAccount2",
        }
    if kind == 18 and need(2, 32):  # InitializeAccount3
        return {
            "info": {"account": accounts[0], "mint": accounts[1], "owner": str(Pubkey.from_bytes(body[:32]))},
            "type": "initializeAccount3",
        }
    if kind in (0, 20) and len(body) >= 34:  # InitializeMint / InitializeMint2
        n_accounts = 2 if kind == 0 else 1
        if len(accounts) < n_accounts:
            return None
        info: dict[str, Any] = {
            "mint": accounts[0],
            "decimals": body[0],
            "mintAuthority": str(Pubkey.from_bytes(body[1:33])),
        }
        if body[33] == 1 and len(body) >= 66:
            info["freezeAuthority"] = str(Pubkey.from_bytes(body[34:66]))
        if kind == 0:
            info["rentSysvar"] = accounts[1]
        return {"info": info, "type": "initializeMint" if kind == 0 else "initializeMint2"}
    if kind == 17 and need(1):  # SyncNative
        return {"info": {"account": accounts[0]}, "type": "syncNative"}
    if kind == 21 and need(1):  # GetAccountDataSize
        types = [
            EXTENSION_NAMES.get(t, "unparseableExtension")
            for t in struct.unpack_from(f"<{len(body) // 2}H", body, 0)
        ]
        info = {"mint": accounts[0]}
        if types:
            info["extensionTypes"] = types
        return {"info": info, "type": "getAccountDataSize"}
    if kind == 22 and need(1):  # InitializeImmutableOwner
        return {"info": {"account": accounts[0]}, "type": "initializeImmutableOwner"}
    return None


def _parse_ata(data: bytes, accounts: Sequence[str]) -> dict[str, Any] | None:
    if len(accounts) < 6 or (data and data[0] not in (0, 1)) or len(data) > 1:
        return None
    return {
        "info": {
            "account": accounts[1],
            "mint": accounts[3],
            "source": accounts[0],
            "systemProgram": accounts[4],
            "tokenProgram": accounts[5],
            "wallet": accounts[2],
        },
        "type": "createIdempotent" if data == b"\x01" else "create",
    }


def memo_text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def ui_instruction(
    program_id: Pubkey,
    accounts: Sequence[Pubkey],
    data: bytes,
    stack_height: int | None,
):
    """A jsonParsed instruction: parsed for the programs nodes know, else partially decoded."""
    names = [str(a) for a in accounts]
    parsed: Any = None
    program = None
    if program_id == SYSTEM_PROGRAM:
        program, parsed = "system", _parse_system(data, names)
    elif program_id in TOKEN_PROGRAM_NAMES:
        program, parsed = TOKEN_PROGRAM_NAMES[program_id], _parse_token(data, names)
    elif program_id == ATA_PROGRAM:
        program, parsed = "spl-associated-token-account", _parse_ata(data, names)
    elif program_id in MEMO_PROGRAMS:
        program, parsed = "spl-memo", memo_text(data)
    if parsed is not None:
        return ParsedInstruction(program, program_id, parsed, stack_height)
    return UiPartiallyDecodedInstruction(program_id, list(accounts), b58encode(data), stack_height)


def parsed_account_keys(
    static_keys: Sequence[Pubkey],
    loaded_writable: Sequence[Pubkey],
    loaded_readonly: Sequence[Pubkey],
    signer_flags: Sequence[bool],
    writable_flags: Sequence[bool],
) -> list[ParsedAccountTxStatus]:
    keys = [
        ParsedAccountTxStatus(key, writable_flags[i], signer_flags[i], ParsedAccountSource.Transaction)
        for i, key in enumerate(static_keys)
    ]
    keys += [ParsedAccountTxStatus(k, True, False, ParsedAccountSource.LookupTable) for k in loaded_writable]
    keys += [ParsedAccountTxStatus(k, False, False, ParsedAccountSource.LookupTable) for k in loaded_readonly]
    return keys
