"""Reading JSON-RPC answers: solders' response types, the node's error objects, bodies that are not JSON."""

import json
from typing import Any

from solders.rpc.responses import (
    GetAccountInfoMaybeJsonParsedResp,
    GetAccountInfoResp,
    GetBalanceResp,
    GetBlockHeightResp,
    GetHealthResp,
    GetLatestBlockhashResp,
    GetMinimumBalanceForRentExemptionResp,
    GetMultipleAccountsMaybeJsonParsedResp,
    GetMultipleAccountsResp,
    GetSignaturesForAddressResp,
    GetSignatureStatusesResp,
    GetSlotResp,
    GetTokenAccountsByOwnerJsonParsedResp,
    GetTokenAccountsByOwnerResp,
    GetTransactionResp,
    SendTransactionResp,
)

from .errors import BadResponse, RpcError, TransactionAlreadyProcessed, TransactionFailed

PREFLIGHT_FAILURE = -32002

# solders response type for each method the client (or a caller of parse_rpc_response) reads.
RESPONSE_TYPES = {
    "getAccountInfo": GetAccountInfoResp,
    "getBalance": GetBalanceResp,
    "getBlockHeight": GetBlockHeightResp,
    "getHealth": GetHealthResp,
    "getLatestBlockhash": GetLatestBlockhashResp,
    "getMinimumBalanceForRentExemption": GetMinimumBalanceForRentExemptionResp,
    "getMultipleAccounts": GetMultipleAccountsResp,
    "getSignaturesForAddress": GetSignaturesForAddressResp,
    "getSignatureStatuses": GetSignatureStatusesResp,
    "getSlot": GetSlotResp,
    "getTokenAccountsByOwner": GetTokenAccountsByOwnerResp,
    "getTransaction": GetTransactionResp,
    "sendTransaction": SendTransactionResp,
}
JSON_PARSED_RESPONSE_TYPES = {
    **RESPONSE_TYPES,
    "getAccountInfo": GetAccountInfoMaybeJsonParsedResp,
    "getMultipleAccounts": GetMultipleAccountsMaybeJsonParsedResp,
    "getTokenAccountsByOwner": GetTokenAccountsByOwnerJsonParsedResp,
}


def excerpt(text, limit=120) -> str:
    """``text`` on one line, cut to ``limit`` characters, for error messages."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_json_body(body, *, method: str = "request") -> Any:
    """``json.loads`` that turns a non-JSON body into :class:`BadResponse` with an excerpt of it."""
    if isinstance(body, str | bytes | bytearray):
        try:
            return json.loads(body)
        except ValueError:
            size = len(body)
            raise BadResponse(
                f"the node's answer to {method} is not JSON ({size} bytes: {excerpt(body)!r})"
            ) from None
    return body


def rpc_error_from_object(error, *, method: str = "request") -> RpcError:
    """The project's exception for a JSON-RPC ``error`` object."""
    if not isinstance(error, dict):
        return RpcError(None, f"malformed error in the answer to {method}: {excerpt(json.dumps(error))}")
    code = error.get("code")
    message = str(error.get("message", ""))
    return RpcError(code, message, error.get("data"))


def preflight_exception(error: RpcError, signature: str | None):
    """The exception for a failed sendTransaction: AlreadyProcessed, or TransactionFailed with err/logs."""
    data = error.data if isinstance(error.data, dict) else {}
    err = data.get("err")
    if err == "AlreadyProcessed" or "already been processed" in (error.message or "").lower():
        return TransactionAlreadyProcessed(signature, error.message or "already processed")
    if error.code == PREFLIGHT_FAILURE:
        exc = TransactionFailed(error.message, signature=signature, err=err, logs=data.get("logs") or [])
    else:
        exc = TransactionFailed(
            f"transaction rejected: RPC error {error.code}: {error.message}",
            signature=signature,
            err=err if err is not None else {"code": error.code, "message": error.message},
            logs=data.get("logs") or [],
        )
    exc.rpc_code = error.code
    return exc


def parse_rpc_response(method: str, body, *, json_parsed: bool = False):
    """Parse one JSON-RPC response (text, bytes or an already-decoded dict) for ``method``.

    Returns the solders value (``resp.value``). Raises :class:`RpcError` for an error object (a
    sendTransaction error becomes :class:`TransactionFailed` / :class:`TransactionAlreadyProcessed`), and
    :class:`BadResponse` for anything that is not a JSON-RPC response of the expected shape.
    """
    obj = load_json_body(body, method=method)
    if not isinstance(obj, dict) or ("result" not in obj and "error" not in obj):
        raise BadResponse(
            f"the node's answer to {method} is not a JSON-RPC response: {excerpt(json.dumps(obj))}"
        )
    if obj.get("error") is not None:
        error = rpc_error_from_object(obj["error"], method=method)
        if method == "sendTransaction":
            raise preflight_exception(error, None)
        raise error
    types = JSON_PARSED_RESPONSE_TYPES if json_parsed else RESPONSE_TYPES
    try:
        resp_type = types[method]
    except KeyError:
        return obj["result"]
    envelope = {"jsonrpc": "2.0", "id": 0, "result": obj["result"]}
    try:
        return resp_type.from_json(json.dumps(envelope)).value
    except Exception as exc:  # solders raises its own serde error types
        raise BadResponse(f"unexpected shape of the node's answer to {method}: {exc}") from None


def raw_result(data, method: str):
    """The plain ``result`` of a decoded JSON-RPC answer; its error object raised as :class:`RpcError`."""
    if isinstance(data, dict) and data.get("error") is not None:
        raise rpc_error_from_object(data["error"], method=method)
    if not isinstance(data, dict) or "result" not in data:
        raise BadResponse(f"the node's answer to {method} is not a JSON-RPC response")
    return data["result"]


def batch_results(data, requests: list[tuple[int, str]]) -> list:
    """Plain results of a decoded batch answer, in the order of ``requests`` ((id, method) pairs).

    An item that failed is returned as its :class:`RpcError` (not raised), so one bad item does not hide
    the others; the whole batch refused (an error object instead of a list) is raised.
    """
    if not isinstance(data, list):
        if isinstance(data, dict) and data.get("error") is not None:
            raise rpc_error_from_object(data["error"], method="batch")
        raise BadResponse(f"the node's answer to a batch is not a list: {excerpt(json.dumps(data))}")
    by_id = {item.get("id"): item for item in data if isinstance(item, dict)}
    results = []
    for request_id, method in requests:
        item = by_id.get(request_id)
        if item is None:
            results.append(RpcError(None, f"no answer for {method} in the batch response"))
        elif item.get("error") is not None:
            results.append(rpc_error_from_object(item["error"], method=method))
        else:
            results.append(item.get("result"))
    return results
