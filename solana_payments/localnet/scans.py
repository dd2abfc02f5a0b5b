"""Methods that scan the accounts of a program: getProgramAccounts, getTokenLargestAccounts and
getTokenAccountsByDelegate (getTokenAccountsByOwner lives with the other account reads in rpc.py)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from solders.account import Account

from .encoding import b58decode, decode_token_account, ui_token_amount_json
from .rpc import _commitment, _config, _param, _pubkey, invalid_params

if TYPE_CHECKING:
    from .rpc import RpcHandlers

LARGEST_TOKEN_ACCOUNTS = 20
MAX_FILTERS = 4
MAX_MEMCMP_BYTES = 128


def _memcmp(spec: Any) -> tuple[int, bytes]:
    if not isinstance(spec, dict) or not isinstance(spec.get("offset"), int):
        raise invalid_params("Invalid params: memcmp needs an offset and bytes")
    raw, encoding = spec.get("bytes"), spec.get("encoding", "base58")
    if not isinstance(raw, str):
        raise invalid_params("Invalid params: memcmp needs an offset and bytes")
    try:
        wanted = base64.b64decode(raw, validate=True) if encoding == "base64" else b58decode(raw)
    except (binascii.Error, ValueError):
        raise invalid_params(f"Invalid param: invalid {encoding} data in memcmp filter") from None
    if len(wanted) > MAX_MEMCMP_BYTES:
        raise invalid_params("Invalid param: memcmp bytes too long")
    return spec["offset"], wanted


def account_filter(filters: Any):
    """A predicate on Account for getProgramAccounts' `filters` (dataSize, memcmp, tokenAccountState)."""
    if filters is None:
        filters = []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        raise invalid_params(f"Too many filters provided; max {MAX_FILTERS}")
    tests = []
    for item in filters:
        if not isinstance(item, dict) or len(item) != 1:
            raise invalid_params("Invalid params: a filter is {dataSize}, {memcmp} or {tokenAccountState}")
        ((kind, spec),) = item.items()
        if kind == "dataSize" and isinstance(spec, int):
            tests.append(lambda data, size=spec: len(data) == size)
        elif kind == "memcmp":
            offset, wanted = _memcmp(spec)
            tests.append(lambda data, o=offset, w=wanted: data[o : o + len(w)] == w)
        elif kind == "tokenAccountState":
            tests.append(None)  # checked on the decoded account below
        else:
            raise invalid_params(f"Invalid params: unknown filter `{kind}`")

    def matches(account: Account) -> bool:
        data = bytes(account.data)
        for test in tests:
            if test is None:
                if decode_token_account(account) is None:
                    return False
            elif not test(data):
                return False
        return True

    return matches


class ScanMethods:
    def __init__(self, handlers: RpcHandlers) -> None:
        self.handlers = handlers
        self.ledger = handlers.ledger

    def methods(self) -> dict[str, Any]:
        return {
            "getProgramAccounts": self.get_program_accounts,
            "getTokenAccountsByDelegate": self.get_token_accounts_by_delegate,
            "getTokenLargestAccounts": self.get_token_largest_accounts,
        }

    def get_program_accounts(self, params: list) -> Any:
        program = _pubkey(_param(params, 0))
        config = _config(params, 1)
        _commitment(config)
        matches = account_filter(config.get("filters"))
        value = [
            {"account": self.handlers._account(account, config), "pubkey": str(address)}
            for address, account in self.ledger.program_accounts(program)
            if matches(account)
        ]
        if config.get("withContext"):
            return {"context": self.handlers._context_json(), "value": value}
        return value

    def get_token_accounts_by_delegate(self, params: list) -> Any:
        delegate = _pubkey(_param(params, 0))
        return self.handlers.token_accounts(params, lambda token: token.delegate == delegate)

    def get_token_largest_accounts(self, params: list) -> Any:
        mint_key = _pubkey(_param(params, 0))
        _commitment(_config(params, 1))
        mint = self.ledger.mint_state(mint_key)
        if mint is None:
            raise invalid_params("Invalid param: not a Token mint")
        holders = []
        for address, account in self.ledger.program_accounts(mint.program_id):
            token = decode_token_account(account)
            if token is not None and token.mint == mint_key:
                holders.append((token.amount, str(address)))
        holders.sort(key=lambda item: (-item[0], item[1]))
        value = [
            {"address": address, **ui_token_amount_json(amount, mint.decimals)}
            for amount, address in holders[:LARGEST_TOKEN_ACCOUNTS]
        ]
        return {"context": self.handlers._context_json(), "value": value}


__all__ = ["ScanMethods", "account_filter"]
