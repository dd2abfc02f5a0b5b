"""JSON shapes of accounts, token amounts, instructions and transactions, as real Solana nodes send them.

Everything here is pure (no ledger, no locks): functions take solders objects and return either solders
RPC types or plain JSON-ready Python values.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcSimulateTransactionResult

SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
MEMO_V1_PROGRAM = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")  # wrapped SOL
COMPUTE_BUDGET_PROGRAM = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
ADDRESS_LOOKUP_TABLE_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")

TOKEN_PROGRAM_NAMES = {TOKEN_PROGRAM: "spl-token", TOKEN_2022_PROGRAM: "spl-token-2022"}
MEMO_PROGRAMS = (MEMO_PROGRAM, MEMO_V1_PROGRAM)

TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
ACCOUNT_TYPE_MINT = 1
ACCOUNT_TYPE_ACCOUNT = 2

# Token-2022 extension type numbers -> the camelCase names the RPC uses.
EXTENSION_NAMES = {
    1: "transferFeeConfig",
    2: "transferFeeAmount",
    3: "mintCloseAuthority",
    4: "confidentialTransferMint",
    5: "confidentialTransferAccount",
    6: "defaultAccountState",
    7: "immutableOwner",
    8: "memoTransfer",
    9: "nonTransferable",
    10: "interestBearingConfig",
    11: "cpiGuard",
    12: "permanentDelegate",
    13: "nonTransferableAccount",
    14: "transferHook",
    15: "transferHookAccount",
    16: "confidentialTransferFeeConfig",
    17: "confidentialTransferFeeAmount",
    18: "metadataPointer",
    19: "tokenMetadata",
    20: "groupPointer",
    21: "tokenGroup",
    22: "groupMemberPointer",
    23: "tokenGroupMember",
}

# ---------------------------------------------------------------------------------------------- base58

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError:
            raise ValueError(f"invalid base58 character {char!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


# ---------------------------------------------------------------------------------------- token amounts


def ui_amount_string(amount: int, decimals: int) -> str:
    """The exact decimal string of `amount` base units, trailing zeros trimmed ("0.001", "52.998", "0")."""
    if decimals == 0:
        return str(amount)
    whole, frac = divmod(amount, 10**decimals)
    frac_text = str(frac).rjust(decimals, "0").rstrip("0")
    return f"{whole}.{frac_text}" if frac_text else str(whole)


def ui_token_amount_json(amount: int, decimals: int, *, zero_as_null: bool = False) -> dict[str, Any]:
    """`uiTokenAmount` as nodes write it. An account's balance (getTokenAccountBalance, jsonParsed
    accounts, getTokenSupply, getTokenLargestAccounts) of zero has `uiAmount: 0.0`; a transaction's
    pre/post token balance of zero has `uiAmount: null` (`zero_as_null`), because nodes read those back
    from their ledger storage, which keeps no zero."""
    text = ui_amount_string(amount, decimals)
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": None if zero_as_null and not amount else float(Decimal(text)),
        "uiAmountString": text,
    }


# -------------------------------------------------------------------------------- token account decoding


@dataclass(frozen=True)
class TokenAccountState:
    """The fields of an SPL token account (same layout for Token and Token-2022)."""

    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    state: int  # 0 uninitialized, 1 initialized, 2 frozen
    is_native: int | None
    delegated_amount: int
    close_authority: Pubkey | None
    program_id: Pubkey
    extensions: tuple[int, ...] = ()


@dataclass(frozen=True)
class MintState:
    mint_authority: Pubkey | None
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: Pubkey | None
    program_id: Pubkey
    extensions: tuple[int, ...] = ()


def _coption_pubkey(data: bytes, offset: int) -> Pubkey | None:
    tag = struct.unpack_from("<I", data, offset)[0]
    return Pubkey.from_bytes(data[offset + 4 : offset + 36]) if tag == 1 else None


def _extension_types(data: bytes) -> tuple[int, ...]:
    """Token-2022 TLV extension types after the account-type byte at offset 165."""
    types = []
    pos = TOKEN_ACCOUNT_LEN + 1
    while pos + 4 <= len(data):
        ext_type, length = struct.unpack_from("<HH", data, pos)
        if ext_type == 0:  # uninitialized padding
            break
        types.append(ext_type)
        pos += 4 + length
    return tuple(types)


def decode_token_account(account: Account | None) -> TokenAccountState | None:
    """Decode a token account of either token program; None when it is not one."""
    if account is None or account.owner not in TOKEN_PROGRAM_NAMES:
        return None
    data = bytes(account.data)
    if len(data) < TOKEN_ACCOUNT_LEN:
        return None
    extensions: tuple[int, ...] = ()
    if len(data) > TOKEN_ACCOUNT_LEN:
        if account.owner != TOKEN_2022_PROGRAM or data[TOKEN_ACCOUNT_LEN] != ACCOUNT_TYPE_ACCOUNT:
            return None
        extensions = _extension_types(data)
    state = data[108]
    if state == 0:
        return None
    native_tag = struct.unpack_from("<I", data, 109)[0]
    return TokenAccountState(
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=struct.unpack_from("<Q", data, 64)[0],
        delegate=_coption_pubkey(data, 72),
        state=state,
        is_native=struct.unpack_from("<Q", data, 113)[0] if native_tag == 1 else None,
        delegated_amount=struct.unpack_from("<Q", data, 121)[0],
        close_authority=_coption_pubkey(data, 129),
        program_id=account.owner,
        extensions=extensions,
    )


def decode_mint(account: Account | None) -> MintState | None:
    if account is None or account.owner not in TOKEN_PROGRAM_NAMES:
        return None
    data = bytes(account.data)
    extensions: tuple[int, ...] = ()
    if len(data) == MINT_LEN:
        pass
    elif (
        account.owner == TOKEN_2022_PROGRAM
        and len(data) > TOKEN_ACCOUNT_LEN
        and data[TOKEN_ACCOUNT_LEN] == ACCOUNT_TYPE_MINT
    ):
        extensions = _extension_types(data)
    else:
        return None
    if not data[45]:
        return None
    return MintState(
        mint_authority=_coption_pubkey(data, 0),
        supply=struct.unpack_from("<Q", data, 36)[0],
        decimals=data[44],
        is_initialized=bool(data[45]),
        freeze_authority=_coption_pubkey(data, 46),
        program_id=account.owner,
        extensions=extensions,
    )


# ------------------------------------------------------------------------------------ account encoding

MintLookup = Callable[[Pubkey], "MintState | None"]


def parse_account_data(account: Account, mint_lookup: MintLookup) -> dict[str, Any] | None:
    """The `data` object of a jsonParsed account ({program, parsed, space}); None when not parseable."""
    program = TOKEN_PROGRAM_NAMES.get(account.owner)
    if program is None:
        return None
    space = len(account.data)
    token = decode_token_account(account)
    if token is not None:
        mint = mint_lookup(token.mint)
        if mint is None:
            return None
        info: dict[str, Any] = {
            "isNative": token.is_native is not None,
            "mint": str(token.mint),
            "owner": str(token.owner),
            "state": {1: "initialized", 2: "frozen"}.get(token.state, "uninitialized"),
            "tokenAmount": ui_token_amount_json(token.amount, mint.decimals),
        }
        if token.delegate is not None:
            info["delegate"] = str(token.delegate)
            info["delegatedAmount"] = ui_token_amount_json(token.delegated_amount, mint.decimals)
        if token.is_native is not None:
            info["rentExemptReserve"] = ui_token_amount_json(token.is_native, mint.decimals)
        if token.close_authority is not None:
            info["closeAuthority"] = str(token.close_authority)
        if token.extensions:
            info["extensions"] = [
                {"extension": EXTENSION_NAMES.get(t, "unparseableExtension")} for t in token.extensions
            ]
        return {"program": program, "parsed": {"info": info, "type": "account"}, "space": space}
    mint_state = decode_mint(account)
    if mint_state is not None:
        info = {
            "decimals": mint_state.decimals,
            "freezeAuthority": str(mint_state.freeze_authority) if mint_state.freeze_authority else None,
            "isInitialized": mint_state.is_initialized,
            "mintAuthority": str(mint_state.mint_authority) if mint_state.mint_authority else None,
            "supply": str(mint_state.supply),
        }
        if mint_state.extensions:
            info["extensions"] = [
                {"extension": EXTENSION_NAMES.get(t, "unparseableExtension")} for t in mint_state.extensions
            ]
        return {"program": program, "parsed": {"info": info, "type": "mint"}, "space": space}
    return None


class EncodingError(ValueError):
    """An account cannot be written in the requested encoding (the RPC layer maps it to an error)."""


def account_json(
    account: Account,
    encoding: str,
    mint_lookup: MintLookup,
    data_slice: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One account object as in getAccountInfo / getMultipleAccounts results."""
    raw = bytes(account.data)
    data: Any = None
    if encoding == "jsonParsed":
        data = parse_account_data(account, mint_lookup)
        encoding = "base64"  # the fallback for accounts no parser understands
    if data is None:
        if data_slice:
            offset = int(data_slice.get("offset", 0))
            raw = raw[offset : offset + int(data_slice.get("length", 0))]
        if encoding == "base64":
            data = [base64.b64encode(raw).decode(), "base64"]
        elif encoding == "base58":
            if len(raw) > 128:
                raise EncodingError(
                    "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding."
                )
            data = [b58encode(raw), "base58"]
        elif encoding == "binary":  # deprecated legacy alias: a bare base58 string
            if len(raw) > 128:
                raise EncodingError(
                    "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding."
                )
            data = b58encode(raw)
        else:
            raise EncodingError(f"Invalid params: unsupported encoding: {encoding}")
    return {
        "data": data,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": account.rent_epoch,
        "space": len(account.data),
    }


# ---------------------------------------------------------------------------------- transaction errors

_INSTRUCTION_ERROR_TEXT = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "DuplicateAccountIndex": "instruction contains duplicate accounts",
    "ExecutableModified": "instruction changed executable bit of an account",
    "RentEpochModified": "instruction modified rent epoch of an account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountDataSizeChanged": "program other than the account's owner changed the size of the account data",
    "AccountNotExecutable": "instruction expected an executable account",
    "AccountBorrowFailed": "instruction tries to borrow reference for an account which is already borrowed",
    "AccountBorrowOutstanding": "instruction left account with an outstanding borrowed reference",
    "DuplicateAccountOutOfSync": "instruction modifications of multiply-passed account differ",
    "InvalidError": "program returned invalid error code",
    "ExecutableDataModified": "instruction changed executable accounts data",
    "ExecutableLamportChange": "instruction changed the balance of an executable account",
    "ExecutableAccountNotRentExempt": "executable accounts must be rent exempt",
    "UnsupportedProgramId": "Unsupported program id",
    "CallDepth": "Cross-program invocation call depth too deep",
    "MissingAccount": "An account required by the instruction is missing",
    "ReentrancyNotAllowed": "Cross-program invocation reentrancy not allowed for this instruction",
    "MaxSeedLengthExceeded": "Length of the seed is too long for address generation",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "InvalidRealloc": "Failed to reallocate account data",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "ProgramEnvironmentSetupFailure": "Failed to create program execution environment",
    "ProgramFailedToComplete": "Program failed to complete",
    "ProgramFailedToCompile": "Program failed to compile",
    "Immutable": "Account is immutable",
    "IncorrectAuthority": "Incorrect authority provided",
    "AccountNotRentExempt": "An account does not have enough lamports to be rent-exempt",
    "InvalidAccountOwner": "Invalid account owner",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "UnsupportedSysvar": "Unsupported sysvar",
    "IllegalOwner": "Provided owner is not allowed",
    "MaxAccountsDataAllocationsExceeded": (
        "Accounts data allocations exceeded the maximum allowed per transaction"
    ),
    "MaxAccountsExceeded": "Max accounts exceeded",
    "MaxInstructionTraceLengthExceeded": "Max instruction trace length exceeded",
    "BuiltinProgramsMustConsumeComputeUnits": "Builtin programs must consume compute units",
}

_TRANSACTION_ERROR_TEXT = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "ClusterMaintenance": "Transactions are currently disabled due to cluster maintenance",
    "AccountBorrowOutstanding": (
        "Transaction processing left an account with an outstanding borrowed reference"
    ),
    "WouldExceedMaxBlockCostLimit": "Transaction would exceed max Block Cost Limit",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "WouldExceedMaxAccountCostLimit": "Transaction would exceed max account limit within the block",
    "WouldExceedAccountDataBlockLimit": "Transaction would exceed account data limit within the block",
    "TooManyAccountLocks": "Transaction locked too many accounts",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "InvalidAddressLookupTableOwner": "Transaction loads an address table account with an invalid owner",
    "InvalidAddressLookupTableData": "Transaction loads an address table account with invalid data",
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "InvalidRentPayingAccount": "Transaction leaves an account with a lower balance than rent-exempt minimum",
    "WouldExceedMaxVoteCostLimit": "Transaction would exceed max Vote Cost Limit",
    "WouldExceedAccountDataTotalLimit": "Transaction would exceed total account data limit",
    "MaxLoadedAccountsDataSizeExceeded": "Transaction exceeded max loaded accounts data size cap",
    "InvalidLoadedAccountsDataSizeLimit": (
        "LoadedAccountsDataSizeLimit set for transaction must be greater than 0."
    ),
    "ResanitizationNeeded": (
        "Sanitized transaction differed before/after feature activiation. Needs to be resanitized."
    ),
    "UnbalancedTransaction": "Sum of account balances before and after transaction do not match",
    "ProgramCacheHitMaxLimit": "Program cache hit max limit",
    "CommitCancelled": "Commit cancelled",
}


def _words(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def error_json(err: Any) -> Any:
    """A solders TransactionErrorType as its RPC JSON value: "AlreadyProcessed", {"InstructionError": ...}."""
    if err is None:
        return None
    return json.loads(RpcSimulateTransactionResult(err=err).to_json())["err"]


def error_text(err: Any) -> str:
    """The Display text of a transaction error (JSON form), as in "Transaction simulation failed: ..."."""
    if isinstance(err, str):
        return _TRANSACTION_ERROR_TEXT.get(err, _words(err))
    if isinstance(err, dict) and len(err) == 1:
        ((kind, value),) = err.items()
        if kind == "InstructionError":
            index, inner = value
            if isinstance(inner, dict):
                ((ikind, ivalue),) = inner.items()
                if ikind == "Custom":
                    text = f"custom program error: {ivalue:#x}"
                elif ikind == "BorshIoError":
                    text = f"Failed to serialize or deserialize account data: {ivalue}"
                else:
                    text = f"{_words(ikind)}: {ivalue}"
            else:
                text = _INSTRUCTION_ERROR_TEXT.get(inner, _words(str(inner)))
            return f"Error processing Instruction {index}: {text}"
        if kind == "InsufficientFundsForRent":
            index = value.get("account_index") if isinstance(value, dict) else value
            return f"Transaction results in an account ({index}) with insufficient funds for rent"
        if kind == "DuplicateInstruction":
            return f"Transaction contains a duplicate instruction ({value}) that is not allowed"
        if kind == "ProgramExecutionTemporarilyRestricted":
            index = value.get("account_index") if isinstance(value, dict) else value
            return (
                f"Execution of the program referenced by account at index {index} is temporarily restricted."
            )
        return f"{_words(kind)}: {value}"
    return str(err)
