"""JSON-RPC method handlers: each takes the request's `params` and returns the `result` value.

Transactions, statuses, signature lists, blockhashes and simulation results are built with solders' RPC
types (their serde shapes are the nodes'), then the known differences between solders' output and real
nodes are patched: `status: {"Err": ...}`, `uiAmount: null` for a zero balance in a transaction's meta,
`stackHeight: 1` on top-level instructions, keys nodes skip when empty (`returnData`, `costUnits`),
`loadedAddresses` absent from jsonParsed, the request's `id` (in server.py) and -32002's `code`. Accounts
are written directly in the nodes' shape (with `space`, which solders leaves null), see
encoding.account_json.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from typing import Any

from solders.account import Account
from solders.account_decoder import UiTokenAmount
from solders.hash import Hash
from solders.message import MessageHeader, from_bytes_versioned
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetLatestBlockhashResp,
    GetSignaturesForAddressResp,
    GetSignatureStatusesResp,
    GetTransactionResp,
    RpcBlockhash,
    RpcConfirmedTransactionStatusWithSignature,
    RpcResponseContext,
    RpcSimulateTransactionResult,
)
from solders.signature import Signature
from solders.transaction import Legacy, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import (
    EncodedConfirmedTransactionWithStatusMeta,
    EncodedTransactionWithStatusMeta,
    TransactionConfirmationStatus,
    TransactionErrorFieldless,
    TransactionStatus,
    UiAddressTableLookup,
    UiCompiledInstruction,
    UiInnerInstructions,
    UiLoadedAddresses,
    UiParsedMessage,
    UiRawMessage,
    UiTransaction,
    UiTransactionStatusMeta,
    UiTransactionTokenBalance,
)

from .encoding import (
    TOKEN_PROGRAM_NAMES,
    EncodingError,
    account_json,
    b58decode,
    b58encode,
    decode_token_account,
    error_text,
    ui_token_amount_json,
)
from .instructions import parsed_account_keys, ui_instruction
from .ledger import Ledger
from .logs import node_logs
from .records import (
    BLOCK_HEIGHT_LAG,
    COMMITMENT_LEVELS,
    CONFIRMED,
    FINALIZED,
    MAX_TRANSACTION_SIZE,
    PROCESSED,
    STATUS_CACHE_SLOTS,
    LedgerError,
    TokenBalance,
    TransactionRejected,
    TxRecord,
    message_fee,
    message_flags,
)

logger = logging.getLogger(__name__)

API_VERSION = "2.2.16"
FEATURE_SET = 3294202862
TRANSACTION_TYPE = "solana_transaction::versioned::VersionedTransaction"
MAX_BASE58_SIZE = 1683
MAX_BASE64_SIZE = 1644
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
MAX_SIGNATURES_LIMIT = 1000
GENESIS_HASH = "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY"

# JSON-RPC error codes used by nodes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
BLOCK_NOT_AVAILABLE = -32004
NODE_UNHEALTHY = -32005
PREFLIGHT_FAILURE = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
UNSUPPORTED_TRANSACTION_VERSION = -32015
MIN_CONTEXT_SLOT_NOT_REACHED = -32016

_CONFIRMATION_STATUS = {
    PROCESSED: TransactionConfirmationStatus.Processed,
    CONFIRMED: TransactionConfirmationStatus.Confirmed,
    FINALIZED: TransactionConfirmationStatus.Finalized,
}


class ErrorResponse(Exception):
    """The JSON-RPC error object this node answers with: {"code", "message", "data"?}.

    Raised by a handler, sent by the server; what a client makes of it is
    ``solana_payments.exceptions.ErrorResponse``.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> ErrorResponse:
    return ErrorResponse(INVALID_PARAMS, message)


def _result(resp: Any) -> Any:
    """The `result` member of a solders *Resp serialisation."""
    return json.loads(resp.to_json())["result"]


def _param(params: list, index: int, default: Any = None) -> Any:
    return params[index] if len(params) > index and params[index] is not None else default


def _config(params: list, index: int) -> dict[str, Any]:
    value = _param(params, index, {})
    if not isinstance(value, dict):
        raise invalid_params(f"Invalid params: expected a config object at position {index}")
    return {key: item for key, item in value.items() if item is not None}  # null means "the default"


def _pubkey(value: Any) -> Pubkey:
    try:
        return Pubkey.from_string(value)
    except (ValueError, TypeError):
        raise invalid_params("Invalid param: Invalid") from None


def _signature(value: Any) -> Signature:
    try:
        return Signature.from_string(value)
    except (ValueError, TypeError):
        raise invalid_params("Invalid param: Invalid") from None


def _commitment(config: dict[str, Any], default: int = FINALIZED) -> int:
    name = config.get("commitment")
    if name is None:
        return default
    if name not in COMMITMENT_LEVELS:
        raise invalid_params(f"Invalid params: unknown variant `{name}`")
    return COMMITMENT_LEVELS[name]


def _confirmed_commitment(config: dict[str, Any]) -> int:
    level = _commitment(config)
    if level < CONFIRMED:
        raise invalid_params("Method does not support commitment below `confirmed`")
    return level


def _token_balance(balance: TokenBalance) -> UiTransactionTokenBalance:
    amount = ui_token_amount_json(balance.amount, balance.decimals, zero_as_null=True)
    return UiTransactionTokenBalance(
        balance.account_index,
        balance.mint,
        UiTokenAmount(amount["uiAmount"], balance.decimals, amount["amount"], amount["uiAmountString"]),
        balance.owner,
        balance.program_id,
    )


def _decode_wire_transaction(encoded: Any, encoding: str) -> tuple[bytes, VersionedTransaction]:
    """Decode as agave's `decode_and_deserialize` does, with its size limits and messages."""
    if not isinstance(encoded, str):
        raise invalid_params("Invalid params: expected an encoded transaction string")
    if encoding == "base58":
        if len(encoded) > MAX_BASE58_SIZE:
            raise invalid_params(
                f"base58 encoded {TRANSACTION_TYPE} too large: {len(encoded)} bytes "
                f"(max: encoded/raw {MAX_BASE58_SIZE}/{MAX_TRANSACTION_SIZE})"
            )
        try:
            wire = b58decode(encoded)
        except ValueError as exc:
            raise invalid_params(f"invalid base58 encoding: {exc}") from None
    elif encoding == "base64":
        if len(encoded) > MAX_BASE64_SIZE:
            raise invalid_params(
                f"base64 encoded {TRANSACTION_TYPE} too large: {len(encoded)} bytes "
                f"(max: encoded/raw {MAX_BASE64_SIZE}/{MAX_TRANSACTION_SIZE})"
            )
        try:
            wire = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_params(f"invalid base64 encoding: {exc}") from None
    else:
        raise invalid_params(
            f"Invalid params: unsupported encoding: {encoding}. Supported encodings: base58, base64"
        )
    if len(wire) > MAX_TRANSACTION_SIZE:
        raise invalid_params(
            f"decoded {TRANSACTION_TYPE} too large: {len(wire)} bytes (max: {MAX_TRANSACTION_SIZE} bytes)"
        )
    try:
        tx = VersionedTransaction.from_bytes(wire)
    except Exception as exc:  # solders raises its own error types
        raise invalid_params(f"failed to deserialize {TRANSACTION_TYPE}: {exc}") from None
    try:
        tx.sanitize()
    except Exception as exc:
        raise invalid_params(f"invalid transaction: {exc}") from None
    return wire, tx


def check_transaction_version(record: TxRecord, max_version: Any) -> None:
    """-32015 for a versioned transaction the client did not say it supports."""
    version = record.transaction.version()
    if version != Legacy.Legacy and (max_version is None or int(version) > int(max_version)):
        raise ErrorResponse(
            UNSUPPORTED_TRANSACTION_VERSION,
            f"Transaction version ({int(version)}) is not supported by the requesting client. "
            "Please try the request again with the following configuration parameter: "
            f'"maxSupportedTransactionVersion": {int(version)}',
        )


def _signatures_valid(tx: VersionedTransaction) -> bool:
    try:
        return all(tx.verify_with_results())
    except Exception:
        return False


class RpcHandlers:
    """The methods of the local node. `call(method, params)` returns a result or raises ErrorResponse."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.methods: dict[str, Callable[[list], Any]] = {
            "getAccountInfo": self.get_account_info,
            "getBalance": self.get_balance,
            "getBlockHeight": self.get_block_height,
            "getEpochInfo": self.get_epoch_info,
            "getFeeForMessage": self.get_fee_for_message,
            "getGenesisHash": lambda params: GENESIS_HASH,
            "getHealth": lambda params: "ok",
            "getIdentity": lambda params: {"identity": str(self.ledger.faucet.pubkey())},
            "getLatestBlockhash": self.get_latest_blockhash,
            "getMinimumBalanceForRentExemption": self.get_minimum_balance_for_rent_exemption,
            "getMultipleAccounts": self.get_multiple_accounts,
            "getRecentPrioritizationFees": self.get_recent_prioritization_fees,
            "getSignatureStatuses": self.get_signature_statuses,
            "getSignaturesForAddress": self.get_signatures_for_address,
            "getSlot": self.get_slot,
            "getTokenAccountBalance": self.get_token_account_balance,
            "getTokenAccountsByOwner": self.get_token_accounts_by_owner,
            "getTokenSupply": self.get_token_supply,
            "getTransaction": self.get_transaction,
            "getTransactionCount": lambda params: self.ledger.transaction_count,
            "getVersion": lambda params: {"feature-set": FEATURE_SET, "solana-core": API_VERSION},
            "isBlockhashValid": self.is_blockhash_valid,
            "requestAirdrop": self.request_airdrop,
            "sendTransaction": self.send_transaction,
            "simulateTransaction": self.simulate_transaction,
        }

    # ------------------------------------------------------------------------------------------ dispatch

    def call(self, method: str, params: Any) -> Any:
        handler = self.methods.get(method)
        if handler is None:
            raise ErrorResponse(METHOD_NOT_FOUND, "Method not found")
        if params is None:
            params = []
        if not isinstance(params, list):
            raise invalid_params("Invalid params: expected an array of parameters")
        with self.ledger.lock:
            self.ledger.sync()
            self._check_min_context_slot(params)
            try:
                return handler(params)
            except ErrorResponse:
                raise
            except EncodingError as exc:
                code = INVALID_REQUEST if "base 58" in str(exc) else INVALID_PARAMS
                raise ErrorResponse(code, str(exc)) from None
            except (TypeError, ValueError, KeyError, IndexError) as exc:
                raise invalid_params(f"Invalid params: {exc}") from None

    def _check_min_context_slot(self, params: list) -> None:
        for value in params:
            if isinstance(value, dict) and value.get("minContextSlot") is not None:
                slot = self.ledger.view_slot(_commitment(value))
                if int(value["minContextSlot"]) > slot:
                    raise ErrorResponse(
                        MIN_CONTEXT_SLOT_NOT_REACHED,
                        "Minimum context slot has not been reached",
                        {"contextSlot": slot},
                    )

    def _context(self) -> RpcResponseContext:
        return RpcResponseContext(self.ledger.slot, API_VERSION)

    def _context_json(self, commitment: int = CONFIRMED) -> dict[str, Any]:
        return {"apiVersion": API_VERSION, "slot": self.ledger.view_slot(commitment)}

    def _mint_lookup(self, mint: Pubkey):
        return self.ledger.mint_state(mint)

    def _account(self, account: Account | None, config: dict[str, Any]) -> dict[str, Any] | None:
        if account is None:
            return None
        return account_json(
            account, config.get("encoding", "binary"), self._mint_lookup, config.get("dataSlice")
        )

    # ------------------------------------------------------------------------------------------ accounts

    def get_account_info(self, params: list) -> Any:
        pubkey = _pubkey(_param(params, 0))
        config = _config(params, 1)
        commitment = _commitment(config)
        return {
            "context": self._context_json(commitment),
            "value": self._account(self.ledger.account_at(pubkey, commitment), config),
        }

    def get_multiple_accounts(self, params: list) -> Any:
        keys = _param(params, 0, [])
        if not isinstance(keys, list):
            raise invalid_params("Invalid params: expected an array of public keys")
        if len(keys) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        pubkeys = [_pubkey(k) for k in keys]
        config = _config(params, 1)
        config.setdefault("encoding", "base64")
        commitment = _commitment(config)
        return {
            "context": self._context_json(commitment),
            "value": [self._account(self.ledger.account_at(k, commitment), config) for k in pubkeys],
        }

    def get_balance(self, params: list) -> Any:
        pubkey = _pubkey(_param(params, 0))
        commitment = _commitment(_config(params, 1))
        account = self.ledger.account_at(pubkey, commitment)
        return {"context": self._context_json(commitment), "value": account.lamports if account else 0}

    def get_minimum_balance_for_rent_exemption(self, params: list) -> Any:
        size = _param(params, 0, 0)
        if not isinstance(size, int) or size < 0:
            raise invalid_params("Invalid params: data length must be a non-negative integer")
        return self.ledger.minimum_balance_for_rent_exemption(size)

    def get_token_account_balance(self, params: list) -> Any:
        pubkey = _pubkey(_param(params, 0))
        account = self.ledger.get_account(pubkey)
        if account is None:
            raise invalid_params("Invalid param: could not find account")
        token = decode_token_account(account)
        if token is None:
            raise invalid_params("Invalid param: not a Token account")
        mint = self.ledger.mint_state(token.mint)
        if mint is None:
            raise invalid_params("Invalid param: could not find mint")
        return {"context": self._context_json(), "value": ui_token_amount_json(token.amount, mint.decimals)}

    def get_token_supply(self, params: list) -> Any:
        mint_key = _pubkey(_param(params, 0))
        mint = self.ledger.mint_state(mint_key)
        if mint is None:
            raise invalid_params("Invalid param: not a Token mint")
        return {"context": self._context_json(), "value": ui_token_amount_json(mint.supply, mint.decimals)}

    def get_token_accounts_by_owner(self, params: list) -> Any:
        owner = _pubkey(_param(params, 0))
        return self.token_accounts(params, lambda token: token.owner == owner)

    def token_accounts(self, params: list, match: Callable[[Any], bool]) -> Any:
        """getTokenAccountsBy*: the token accounts that `match`, filtered by params[1] (mint or program)."""
        token_filter = _param(params, 1)
        if not isinstance(token_filter, dict) or len(token_filter) != 1:
            raise invalid_params("Invalid params: expected a filter object with `mint` or `programId`")
        config = _config(params, 2)
        mint = None
        if "mint" in token_filter:
            mint = _pubkey(token_filter["mint"])
            mint_account = self.ledger.get_account(mint)
            if mint_account is None or mint_account.owner not in TOKEN_PROGRAM_NAMES:
                raise invalid_params("Invalid param: could not find mint")
            program = mint_account.owner
        elif "programId" in token_filter:
            program = _pubkey(token_filter["programId"])
            if program not in TOKEN_PROGRAM_NAMES:
                raise invalid_params("Invalid param: unrecognized Token program id")
        else:
            raise invalid_params("Invalid params: expected a filter object with `mint` or `programId`")
        value = []
        for pubkey, account in self.ledger.program_accounts(program):
            token = decode_token_account(account)
            if token is None or not match(token) or (mint is not None and token.mint != mint):
                continue
            value.append({"account": self._account(account, config), "pubkey": str(pubkey)})
        return {"context": self._context_json(), "value": value}

    # --------------------------------------------------------------------------------------- blockhashes

    def get_latest_blockhash(self, params: list) -> Any:
        blockhash, last_valid = self.ledger.latest_blockhash()
        return _result(GetLatestBlockhashResp(RpcBlockhash(blockhash, last_valid), self._context()))

    def is_blockhash_valid(self, params: list) -> Any:
        try:
            blockhash = Hash.from_string(_param(params, 0))
        except (ValueError, TypeError):
            raise invalid_params("Invalid param: Invalid") from None
        return {"context": self._context_json(), "value": self.ledger.is_blockhash_valid(blockhash)}

    def get_fee_for_message(self, params: list) -> Any:
        try:
            message = from_bytes_versioned(base64.b64decode(_param(params, 0), validate=True))
        except Exception:
            raise invalid_params("Invalid params: invalid base64-encoded message") from None
        fee = message_fee(message) if self.ledger.is_blockhash_valid(message.recent_blockhash) else None
        return {"context": self._context_json(), "value": fee}

    def get_recent_prioritization_fees(self, params: list) -> Any:
        slot = self.ledger.slot
        return [{"prioritizationFee": 0, "slot": s} for s in range(max(slot - 149, 0), slot + 1)]

    # ---------------------------------------------------------------------------------------- cluster

    def get_slot(self, params: list) -> Any:
        return self.ledger.slot

    def get_block_height(self, params: list) -> Any:
        return self.ledger.block_height

    def get_epoch_info(self, params: list) -> Any:
        slot = self.ledger.slot
        schedule = self.ledger.svm.get_epoch_schedule()
        epoch, index = schedule.get_epoch_and_slot_index(slot)
        return {
            "absoluteSlot": slot,
            "blockHeight": slot - BLOCK_HEIGHT_LAG,
            "epoch": epoch,
            "slotIndex": index,
            "slotsInEpoch": schedule.get_slots_in_epoch(epoch),
            "transactionCount": self.ledger.transaction_count,
        }

    def request_airdrop(self, params: list) -> Any:
        pubkey = _pubkey(_param(params, 0))
        lamports = _param(params, 1)
        if not isinstance(lamports, int) or lamports <= 0:
            raise invalid_params("Invalid params: lamports must be a positive integer")
        try:
            return str(self.ledger.airdrop(pubkey, lamports))
        except LedgerError as exc:
            raise ErrorResponse(INTERNAL_ERROR, f"airdrop request failed: {exc}") from None

    # ------------------------------------------------------------------------------------- transactions

    def send_transaction(self, params: list) -> Any:
        config = _config(params, 1)
        _wire, tx = _decode_wire_transaction(_param(params, 0), config.get("encoding", "base58"))
        signature = tx.signatures[0]
        ledger = self.ledger
        if not config.get("skipPreflight", False):
            if not _signatures_valid(tx):
                raise ErrorResponse(
                    SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure"
                )
            try:
                ledger.preflight(tx)
            except TransactionRejected as exc:
                raise self._preflight_error(exc) from None
        elif not _signatures_valid(tx):
            return str(signature)  # forwarded, then dropped by the leader
        ledger.execute(tx)  # None when dropped (duplicate, expired blockhash): the node still answers
        return str(signature)

    @staticmethod
    def _preflight_error(exc: TransactionRejected) -> ErrorResponse:
        data = json.loads(
            RpcSimulateTransactionResult(
                err=exc.err,
                logs=exc.logs,
                accounts=None,
                units_consumed=exc.units_consumed,
                return_data=exc.return_data,
            ).to_json()
        )
        return ErrorResponse(
            PREFLIGHT_FAILURE, f"Transaction simulation failed: {error_text(exc.err_json)}", data
        )

    def simulate_transaction(self, params: list) -> Any:
        config = _config(params, 1)
        _wire, tx = _decode_wire_transaction(_param(params, 0), config.get("encoding", "base58"))
        sig_verify = bool(config.get("sigVerify", False))
        replace = bool(config.get("replaceRecentBlockhash", False))
        if sig_verify and replace:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        if sig_verify and not _signatures_valid(tx):
            raise ErrorResponse(SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")
        ledger = self.ledger
        replacement = None
        err = None
        logs: list[str] = []
        units = 0
        return_data = None
        inner = None
        post_accounts: dict[Pubkey, Account] = {}
        try:
            if replace:
                blockhash, last_valid = ledger.latest_blockhash()
                replacement = RpcBlockhash(blockhash, last_valid)
                if ledger.get_record(tx.signatures[0]) is not None:
                    raise TransactionRejected(TransactionErrorFieldless.AlreadyProcessed)
            else:
                ledger.check_transaction(tx)
            loaded_w, loaded_r = ledger.resolve_keys(tx.message)
            result = ledger.simulate(tx)
            if isinstance(result, FailedTransactionMetadata):
                meta = result.meta()
                err = result.err()
            else:
                meta = result.meta()
                post_accounts = dict(result.post_accounts())
            logs = node_logs(list(meta.logs()))
            units = meta.compute_units_consumed()
            rd = meta.return_data()
            return_data = rd if rd is not None and bytes(rd.data) else None
            if config.get("innerInstructions"):
                keys = list(tx.message.account_keys) + loaded_w + loaded_r
                inner = self._inner_instructions(meta.inner_instructions(), keys, parsed=True)
        except TransactionRejected as exc:
            err = exc.err
        value = json.loads(
            RpcSimulateTransactionResult(
                err=err,
                logs=logs,
                accounts=None,
                units_consumed=units,
                return_data=return_data,
                inner_instructions=inner,
                replacement_blockhash=replacement,
            ).to_json()
        )
        accounts_config = config.get("accounts")
        if accounts_config:
            encoding = accounts_config.get("encoding", "base64")
            addresses = [_pubkey(a) for a in accounts_config.get("addresses", [])]
            value["accounts"] = [
                self._account(post_accounts.get(a) if not err else None, {"encoding": encoding})
                for a in addresses
            ]
        value["fee"] = message_fee(tx.message) if err is None else None
        return {"context": self._context_json(), "value": value}

    # -------------------------------------------------------------------------------------- statuses

    def get_signature_statuses(self, params: list) -> Any:
        raw = _param(params, 0, [])
        if not isinstance(raw, list):
            raise invalid_params("Invalid params: expected an array of signatures")
        if len(raw) > MAX_SIGNATURE_STATUSES:
            raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
        signatures = [_signature(s) for s in raw]
        search = bool(_config(params, 1).get("searchTransactionHistory", False))
        ledger = self.ledger
        slot = ledger.slot
        statuses: list[TransactionStatus | None] = []
        errors: list[Any] = []
        for signature in signatures:
            record = ledger.get_record(signature)
            if record is None or (not search and record.slot < slot - STATUS_CACHE_SLOTS):
                statuses.append(None)
                errors.append(None)
                continue
            level = ledger.commitment_of(record)
            confirmations = (
                None if level == FINALIZED else (0 if level == PROCESSED else max(1, slot - record.slot))
            )
            statuses.append(
                TransactionStatus(record.slot, confirmations, None, record.err, _CONFIRMATION_STATUS[level])
            )
            errors.append(record.err_json)
        result = _result(GetSignatureStatusesResp(statuses, self._context()))
        for status, err in zip(result["value"], errors, strict=True):
            if status is not None and err is not None:
                status["status"] = {"Err": err}
        return result

    def get_signatures_for_address(self, params: list) -> Any:
        address = _pubkey(_param(params, 0))
        config = _config(params, 1)
        limit = config.get("limit")
        limit = MAX_SIGNATURES_LIMIT if limit is None else limit
        if not isinstance(limit, int) or limit <= 0 or limit > MAX_SIGNATURES_LIMIT:
            raise invalid_params(f"Invalid limit; max {MAX_SIGNATURES_LIMIT}")
        before = _signature(config["before"]) if config.get("before") else None
        until = _signature(config["until"]) if config.get("until") else None
        level = _confirmed_commitment(config)
        ledger = self.ledger
        records = ledger.signatures_for_address(
            address, limit=limit, before=before, until=until, min_commitment=level
        )
        items = [
            RpcConfirmedTransactionStatusWithSignature(
                record.signature,
                record.slot,
                record.err,
                record.memo,
                record.block_time,
                _CONFIRMATION_STATUS[ledger.commitment_of(record)],
            )
            for record in records
        ]
        return _result(GetSignaturesForAddressResp(items))

    # ------------------------------------------------------------------------------------ getTransaction

    def get_transaction(self, params: list) -> Any:
        signature = _signature(_param(params, 0))
        config = _param(params, 1, {})
        if isinstance(config, str):  # deprecated form: the encoding alone
            config = {"encoding": config}
        if not isinstance(config, dict):
            raise invalid_params("Invalid params: expected a config object")
        encoding = config.get("encoding", "json")
        if encoding not in ("json", "jsonParsed", "base64", "base58"):
            raise invalid_params(f"Invalid params: unknown variant `{encoding}`")
        level = _confirmed_commitment(config)
        max_version = config.get("maxSupportedTransactionVersion")
        record = self.ledger.get_record(signature)
        if record is None or self.ledger.commitment_of(record) < level:
            return None
        check_transaction_version(record, max_version)
        return self.encode_transaction(record, encoding, include_version=max_version is not None)

    def _inner_instructions(self, groups, keys: list[Pubkey], *, parsed: bool) -> list[UiInnerInstructions]:
        out = []
        for index, group in enumerate(groups):
            if not group:
                continue
            instructions = []
            for inner in group:
                ix = inner.instruction
                ix = ix() if callable(ix) else ix
                height = inner.stack_height
                height = height() if callable(height) else height
                if parsed:
                    instructions.append(
                        ui_instruction(
                            keys[ix.program_id_index],
                            [keys[i] for i in bytes(ix.accounts)],
                            bytes(ix.data),
                            height,
                        )
                    )
                else:
                    instructions.append(
                        UiCompiledInstruction(
                            ix.program_id_index, bytes(ix.accounts), b58encode(bytes(ix.data)), height
                        )
                    )
            out.append(UiInnerInstructions(index, instructions))
        return out

    def encode_transaction(self, record: TxRecord, encoding: str, *, include_version: bool) -> dict[str, Any]:
        tx = record.transaction
        message = tx.message
        keys = record.account_keys
        parsed = encoding == "jsonParsed"
        is_v0 = tx.version() != Legacy.Legacy
        lookups = None
        if is_v0:
            lookups = [
                UiAddressTableLookup(lk.account_key, bytes(lk.writable_indexes), bytes(lk.readonly_indexes))
                for lk in message.address_table_lookups
            ]
        meta = UiTransactionStatusMeta(
            record.err,
            record.fee,
            record.pre_balances,
            record.post_balances,
            inner_instructions=self._inner_instructions(record.inner_instructions, keys, parsed=parsed),
            log_messages=record.logs,
            pre_token_balances=[_token_balance(b) for b in record.pre_token_balances],
            post_token_balances=[_token_balance(b) for b in record.post_token_balances],
            rewards=[],
            loaded_addresses=UiLoadedAddresses(record.loaded_writable, record.loaded_readonly),
            return_data=record.return_data,
            compute_units_consumed=record.compute_units,
            cost_units=record.cost_units,
        )
        if encoding in ("base64", "base58"):
            encoded_tx: Any = tx
        else:
            static_keys = list(message.account_keys)
            if parsed:
                signer, writable = message_flags(message)
                ui_message: Any = UiParsedMessage(
                    parsed_account_keys(
                        static_keys, record.loaded_writable, record.loaded_readonly, signer, writable
                    ),
                    message.recent_blockhash,
                    [
                        ui_instruction(
                            keys[ix.program_id_index],
                            [keys[i] for i in bytes(ix.accounts)],
                            bytes(ix.data),
                            1,
                        )
                        for ix in message.instructions
                    ],
                    lookups,
                )
            else:
                header = message.header
                ui_message = UiRawMessage(
                    MessageHeader(
                        header.num_required_signatures,
                        header.num_readonly_signed_accounts,
                        header.num_readonly_unsigned_accounts,
                    ),
                    static_keys,
                    message.recent_blockhash,
                    [
                        UiCompiledInstruction(
                            ix.program_id_index, bytes(ix.accounts), b58encode(bytes(ix.data)), 1
                        )
                        for ix in message.instructions
                    ],
                    lookups,
                )
            encoded_tx = UiTransaction(list(tx.signatures), ui_message)
        version = tx.version() if include_version else None
        result = _result(
            GetTransactionResp(
                EncodedConfirmedTransactionWithStatusMeta(
                    record.slot,
                    EncodedTransactionWithStatusMeta(encoded_tx, meta, version),
                    record.block_time,
                )
            )
        )
        meta_json = result["meta"]
        if record.err is not None:
            meta_json["status"] = {"Err": meta_json["err"]}
        for key in ("returnData", "costUnits"):
            if meta_json.get(key) is None:
                meta_json.pop(key, None)
        if parsed:
            meta_json.pop("loadedAddresses", None)
        if encoding == "base58":
            result["transaction"] = [b58encode(bytes(tx)), "base58"]
        return result
