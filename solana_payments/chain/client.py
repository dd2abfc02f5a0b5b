"""The RPC client every operation uses: batching, bounded concurrency, retries, counting.

``ChainClient`` sits on solana-py's ``AsyncClient``: requests go through its HTTP provider (one httpx2
session), bodies are built with solders' request types and answers are parsed with solders' response types.
What it adds, because solana-py does not do it:

- batching (``getMultipleAccounts`` 100 keys a call, ``getSignatureStatuses`` 256) and independent calls
  run concurrently, at most ``concurrency`` requests in flight;
- retries of transport errors, timeouts, HTTP 408/429/5xx and JSON-RPC -32005 / 429 with exponential
  backoff and jitter, honouring ``Retry-After``, until ``max_retry_seconds`` is spent, then
  ``ChainUnavailable`` (its message shows the URL without credentials);
- an optional client-side rate limit (requests per second);
- ``stats``: requests by method, retries and errors, for the run to record what it cost;
- ``sendTransaction`` is never re-sent after a lost response: ``SendOutcomeUnknown`` carries the signature
  so the caller asks the chain about it.

Operations are ordinary sync Django code: the client runs its own event loop in a private thread and the
public methods block and return plain data or solders objects. Nothing touches the ORM in a coroutine.

    with ChainClient.from_settings() as chain:
        accounts = chain.get_accounts(addresses)
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import random
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solders.account import Account
from solders.account_decoder import UiAccountEncoding
from solders.commitment_config import CommitmentLevel
from solders.pubkey import Pubkey
from solders.rpc.config import (
    RpcAccountInfoConfig,
    RpcContextConfig,
    RpcSendTransactionConfig,
    RpcSignaturesForAddressConfig,
    RpcSignatureStatusConfig,
    RpcTokenAccountsFilterProgramId,
    RpcTransactionConfig,
)
from solders.rpc.requests import (
    GetAccountInfo,
    GetBalance,
    GetBlockHeight,
    GetLatestBlockhash,
    GetMinimumBalanceForRentExemption,
    GetMultipleAccounts,
    GetSignaturesForAddress,
    GetSignatureStatuses,
    GetSlot,
    GetTokenAccountsByOwner,
    GetTransaction,
    SendRawTransaction,
)
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
    RpcBlockhash,
    SendTransactionResp,
)
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus, UiTransactionEncoding

from ..exceptions import (
    ChainError,
    ChainUnavailable,
    RpcError,
    SendOutcomeUnknown,
    TransactionAlreadyProcessed,
    TransactionFailed,
)
from .accounts import MintInfo, TokenAccount, mint_from_account, token_account_from_account

logger = logging.getLogger(__name__)

MULTIPLE_ACCOUNTS_BATCH = 100
SIGNATURE_STATUSES_BATCH = 256
SIGNATURES_FOR_ADDRESS_MAX = 1000

# HTTP statuses worth another try: timeouts, rate limits and server-side trouble (not 501/505).
RETRY_HTTP_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})
# JSON-RPC error codes worth another try: node unhealthy / behind, and rate limits sent as a JSON-RPC error.
NODE_UNHEALTHY = -32005
RETRY_RPC_CODES = frozenset({NODE_UNHEALTHY, 429})
PREFLIGHT_FAILURE = -32002

BACKOFF_BASE = 0.2  # seconds before the first retry (jittered)
BACKOFF_MAX = 5.0  # cap on one backoff pause (Retry-After may ask for more)

_COMMITMENTS = {
    "processed": CommitmentLevel.Processed,
    "confirmed": CommitmentLevel.Confirmed,
    "finalized": CommitmentLevel.Finalized,
}
_COMMITMENT_RANK = {"processed": 0, "confirmed": 1, "finalized": 2}
_CONFIRMATION_STATUSES = (
    (TransactionConfirmationStatus.Processed, "processed"),
    (TransactionConfirmationStatus.Confirmed, "confirmed"),
    (TransactionConfirmationStatus.Finalized, "finalized"),
)


def confirmation_level(status) -> str | None:
    """'processed' / 'confirmed' / 'finalized' for a solders ``TransactionStatus`` (None when unknown)."""
    if status is None:
        return None
    value = status.confirmation_status
    for member, name in _CONFIRMATION_STATUSES:
        if value == member:
            return name
    # Old nodes send no confirmationStatus: confirmations null means rooted (finalized).
    return "finalized" if status.confirmations is None else "processed"


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


# --------------------------------------------------------------------------------------------------
# URLs without secrets


_SECRET_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{16,}")


def _looks_secret(segment: str) -> bool:
    """A path segment that is probably an API key (QuickNode, Alchemy, Ankr... put them in the path)."""
    if not _SECRET_SEGMENT.fullmatch(segment):
        return False
    return len(segment) >= 24 or (any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment))


def redact_url(url: str) -> str:
    """``url`` fit for logs and messages: no user:password, no query string, no key-like path segment."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid RPC URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    path = "/".join("***" if _looks_secret(segment) else segment for segment in parts.path.split("/"))
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))


# --------------------------------------------------------------------------------------------------
# Parsing answers


class BadResponse(ChainError):
    """The node answered with something that is not a JSON-RPC response (HTML, garbage, truncated)."""


def _excerpt(text, limit=120) -> str:
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
                f"the node's answer to {method} is not JSON ({size} bytes: {_excerpt(body)!r})"
            ) from None
    return body


def rpc_error_from_object(error, *, method: str = "request") -> RpcError:
    """The project's exception for a JSON-RPC ``error`` object."""
    if not isinstance(error, dict):
        return RpcError(None, f"malformed error in the answer to {method}: {_excerpt(json.dumps(error))}")
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
            f"the node's answer to {method} is not a JSON-RPC response: {_excerpt(json.dumps(obj))}"
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


# --------------------------------------------------------------------------------------------------
# Counting


@dataclass
class ChainStats:
    """What a client cost: HTTP requests (retries included), each JSON-RPC method, retries, errors."""

    requests: int = 0
    calls_by_method: Counter = field(default_factory=Counter)
    retries: int = 0
    errors: int = 0  # failed attempts: transport/HTTP errors, JSON-RPC error objects, bad bodies
    rate_limited: int = 0  # HTTP 429 answers (or JSON-RPC 429 errors)
    gave_up: int = 0  # calls that ended in ChainUnavailable

    @property
    def total_requests(self) -> int:
        return self.requests

    @property
    def total_calls(self) -> int:
        return sum(self.calls_by_method.values())

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "calls_by_method": dict(sorted(self.calls_by_method.items())),
            "retries": self.retries,
            "errors": self.errors,
            "rate_limited": self.rate_limited,
            "gave_up": self.gave_up,
        }

    def reset(self) -> None:
        self.requests = self.retries = self.errors = self.rate_limited = self.gave_up = 0
        self.calls_by_method = Counter()


@dataclass(frozen=True)
class ChainHealth:
    ok: bool
    url: str
    slot: int | None = None
    latency_seconds: float | None = None
    error: str | None = None

    @property
    def latency_ms(self) -> int | None:
        return None if self.latency_seconds is None else round(self.latency_seconds * 1000)


def status_reached(status, commitment: str = "confirmed") -> bool:
    """Whether a solders ``TransactionStatus`` has reached ``commitment``."""
    level = confirmation_level(status)
    if level is None:
        return False
    return _COMMITMENT_RANK[level] >= _COMMITMENT_RANK[commitment]


# --------------------------------------------------------------------------------------------------
# Internals


class _Body:
    """A pre-serialised JSON-RPC body (single or batch) for solana-py's provider."""

    def __init__(self, text: str):
        self.text = text

    def to_json(self) -> str:
        return self.text


@dataclass
class _Failure:
    description: str
    retryable: bool
    retry_after: float | None = None
    maybe_sent: bool = True  # the node may have received (and acted on) the request
    unavailable: bool = False  # a non-retryable failure that still means "the node cannot serve us"
    http_status: int | None = None


class _OutcomeUnknown(Exception):
    def __init__(self, description):
        self.description = description
        super().__init__(description)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _as_pubkey(value) -> Pubkey:
    return value if isinstance(value, Pubkey) else Pubkey.from_string(str(value).strip())


def _as_signature(value) -> Signature:
    return value if isinstance(value, Signature) else Signature.from_string(str(value).strip())


def _chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ChainClient:
    """Sync facade over solana-py's AsyncClient with batching, retries, a rate limit and counting.

    ``ChainClient(url, commitment=..., timeout=..., rate_limit=..., max_retry_seconds=...,
    concurrency=..., headers=...)`` or ``ChainClient.from_settings()``. Use it as a context manager, or
    call :meth:`close`.
    """

    def __init__(
        self,
        url: str,
        *,
        commitment: str = "confirmed",
        timeout: float = 10.0,
        rate_limit: float = 0,
        max_retry_seconds: float = 30.0,
        concurrency: int = 4,
        headers: dict | None = None,
    ):
        if not url or urlsplit(str(url)).scheme not in ("http", "https"):
            raise ValueError(f"RPC URL must be an http(s) URL, got {redact_url(url) if url else url!r}")
        if commitment not in _COMMITMENTS:
            raise ValueError(f"commitment must be one of {', '.join(_COMMITMENTS)}, got {commitment!r}")
        self.url = str(url)
        self.safe_url = redact_url(self.url)
        self.commitment = commitment
        self.timeout = float(timeout) if timeout else None
        self.rate_limit = float(rate_limit or 0)
        self.max_retry_seconds = max(0.0, float(max_retry_seconds))
        self.concurrency = max(1, int(concurrency or 1))
        self.headers = dict(headers or {})
        self.stats = ChainStats()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._async_client: AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._rate_lock: asyncio.Lock | None = None
        self._next_request_at = 0.0
        self._closed = False
        self._finalizer = None
        self._ids = 0

    @classmethod
    def from_settings(cls, **overrides) -> ChainClient:
        """A client configured from ``SOLANA_PAYMENTS`` (read now, not at import time)."""
        from ..conf import app_settings

        if not app_settings.RPC_URL and "url" not in overrides:
            raise ChainError("SOLANA_PAYMENTS['RPC_URL'] is not set")
        options = {
            "url": app_settings.RPC_URL,
            "commitment": app_settings.RPC_COMMITMENT,
            "timeout": app_settings.RPC_TIMEOUT,
            "rate_limit": app_settings.RPC_RATE_LIMIT,
            "max_retry_seconds": app_settings.RPC_MAX_RETRY_SECONDS,
            "concurrency": app_settings.RPC_CONCURRENCY,
            "headers": app_settings.RPC_HEADERS,
        }
        options.update(overrides)
        return cls(options.pop("url"), **options)

    def __repr__(self) -> str:
        return f"<ChainClient {self.safe_url} commitment={self.commitment}>"

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RuntimeError("this ChainClient is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=self._run_loop, args=(loop,), name=f"solana-payments-rpc-{id(self):x}", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
                asyncio.run_coroutine_threadsafe(self._open(), loop).result()
                # A client dropped without close() must not leave its thread and session behind.
                self._finalizer = weakref.finalize(self, _abandon, loop, self._async_client)
            return self._loop

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    async def _open(self) -> None:
        self._async_client = AsyncClient(
            self.url,
            commitment=self.commitment,
            timeout=self.timeout,
            extra_headers=self.headers or None,
            max_transport_retries=0,  # retries are ours: a transport retry could re-send a transaction
        )
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._rate_lock = asyncio.Lock()

    def close(self) -> None:
        """Close the HTTP session and stop the client's event loop. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return
        if self._finalizer is not None:
            self._finalizer.detach()
        try:
            if self._async_client is not None:
                asyncio.run_coroutine_threadsafe(self._async_client.close(), loop).result(timeout=10)
        except Exception:  # closing must not raise over the caller's own error
            logger.debug("error closing the RPC session", exc_info=True)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=10)
            if not loop.is_running():
                loop.close()

    def _run(self, coro):
        try:
            loop = self._ensure_started()
        except BaseException:
            coro.close()
            raise
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    # -- transport, retries, counting ------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    async def _throttle(self) -> None:
        if self.rate_limit <= 0:
            return
        async with self._rate_lock:
            now = time.monotonic()
            start_at = max(now, self._next_request_at)
            self._next_request_at = start_at + 1.0 / self.rate_limit
        if start_at > now:
            await asyncio.sleep(start_at - now)

    async def _post(self, content: str) -> str:
        await self._throttle()
        async with self._semaphore:
            return await self._async_client._provider.make_request_unparsed(_Body(content))

    def _describe(self, text: str) -> str:
        text = str(text).replace(self.url, self.safe_url)
        # Drop anything URL-like that could still carry userinfo or a query string.
        return re.sub(r"https?://\S+", lambda m: redact_url(m.group(0).strip("'\"")), text)

    def _classify(self, exc: BaseException) -> _Failure:
        if isinstance(exc, SolanaRpcException) and exc.__cause__ is not None:
            exc = exc.__cause__
        if isinstance(exc, httpx2.HTTPStatusError):
            response = exc.response
            status = response.status_code
            description = f"HTTP {status} {response.reason_phrase or ''}".strip()
            try:
                body = response.text
            except Exception:
                body = ""
            if body:
                description += f": {_excerpt(self._describe(body), 100)}"
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if status == 429:
                self.stats.rate_limited += 1
            return _Failure(
                description,
                retryable=status in RETRY_HTTP_STATUSES,
                retry_after=retry_after,
                # 4xx: the node refused the request (429 included); 5xx/408: it may have acted on it.
                maybe_sent=status >= 500 or status == 408,
                unavailable=status in (401, 403) or status >= 500,
                http_status=status,
            )
        if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout):
            return _Failure(
                f"{type(exc).__name__}: {self._describe(exc) or 'connection failed'}", True, None, False
            )
        if isinstance(exc, httpx2.TimeoutException):
            return _Failure(f"{type(exc).__name__}: no answer within {self.timeout}s", True)
        if isinstance(exc, httpx2.TransportError):
            return _Failure(f"{type(exc).__name__}: {self._describe(exc) or 'transport error'}", True)
        if isinstance(exc, httpx2.HTTPError):
            return _Failure(f"{type(exc).__name__}: {self._describe(exc)}", False)
        if isinstance(exc, OSError):
            return _Failure(f"{type(exc).__name__}: {self._describe(exc)}", True, None, False)
        raise exc

    def _backoff(self, attempt: int) -> float:
        ceiling = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    async def _request(
        self,
        methods: Sequence[str],
        content: str,
        *,
        idempotent: bool = True,
        max_retry_seconds: float | None = None,
    ):
        """POST ``content`` with retries; return the decoded JSON (a dict, or a list for a batch).

        A JSON-RPC error with a retryable code (-32005, 429) is retried; any other error object is returned
        for the caller to interpret. ``idempotent=False`` (sendTransaction) never repeats a request the node
        may have received: it raises ``_OutcomeUnknown`` instead.
        """
        budget = self.max_retry_seconds if max_retry_seconds is None else max_retry_seconds
        method_label = methods[0] if len(set(methods)) == 1 else "batch"
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.stats.requests += 1
            self.stats.calls_by_method.update(methods)
            failure = None
            try:
                text = await self._post(content)
            except Exception as exc:
                failure = self._classify(exc)
            else:
                try:
                    data = load_json_body(text, method=method_label)
                except BadResponse as exc:
                    self.stats.errors += 1
                    if not idempotent:
                        raise _OutcomeUnknown(str(exc)) from None
                    raise
                failure = self._retryable_rpc_error(data)
                if failure is None:
                    return data
            self.stats.errors += 1
            if not idempotent and failure.maybe_sent:
                raise _OutcomeUnknown(failure.description)
            if not failure.retryable:
                if failure.unavailable:
                    self.stats.gave_up += 1
                    raise ChainUnavailable(self.safe_url, failure.description, attempts=attempt)
                raise ChainError(f"{method_label} to {self.safe_url} failed: {failure.description}")
            delay = self._backoff(attempt)
            if failure.retry_after is not None:
                delay = max(delay, failure.retry_after + random.uniform(0, 0.05))
            elapsed = time.monotonic() - started
            if elapsed + delay > budget:
                self.stats.gave_up += 1
                cause = failure.description
                if failure.retry_after is not None and failure.retry_after > budget - elapsed:
                    cause += f" (Retry-After {failure.retry_after:g}s is beyond the retry budget)"
                logger.log(
                    logging.WARNING if budget > 0 else logging.INFO,
                    "RPC %s to %s gave up after %d attempts (%.1fs): %s",
                    method_label,
                    self.safe_url,
                    attempt,
                    elapsed,
                    cause,
                )
                raise ChainUnavailable(self.safe_url, cause, attempts=attempt)
            self.stats.retries += 1
            logger.info(
                "RPC %s to %s failed (%s), retry %d in %.2fs",
                method_label,
                self.safe_url,
                failure.description,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)

    def _retryable_rpc_error(self, data) -> _Failure | None:
        items = data if isinstance(data, list) else [data]
        for item in items:
            error = item.get("error") if isinstance(item, dict) else None
            if isinstance(error, dict) and error.get("code") in RETRY_RPC_CODES:
                if error.get("code") == 429:
                    self.stats.rate_limited += 1
                # The node refused before doing anything: safe to repeat even a sendTransaction.
                return _Failure(
                    f"RPC error {error.get('code')}: {_excerpt(error.get('message', ''), 100)}",
                    retryable=True,
                    maybe_sent=False,
                )
        if isinstance(data, dict) and data.get("error") is not None:
            self.stats.errors += 1
        elif isinstance(data, list):
            self.stats.errors += sum(1 for i in data if isinstance(i, dict) and i.get("error") is not None)
        return None

    async def _call(self, method: str, request, *, json_parsed=False, max_retry_seconds=None):
        """One solders request with retries; returns the parsed solders value."""
        data = await self._request([method], request.to_json(), max_retry_seconds=max_retry_seconds)
        return parse_rpc_response(method, data, json_parsed=json_parsed)

    async def _gather(self, coros: Iterable):
        """Run coroutines concurrently (the semaphore bounds requests in flight); cancel all on failure."""
        tasks = [asyncio.ensure_future(coro) for coro in coros]
        try:
            return await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def _commitment(self, commitment: str | None) -> CommitmentLevel:
        commitment = commitment or self.commitment
        try:
            return _COMMITMENTS[commitment]
        except KeyError:
            raise ValueError(
                f"commitment must be one of {', '.join(_COMMITMENTS)}, got {commitment!r}"
            ) from None

    # -- raw calls -------------------------------------------------------------------------------

    def call(self, method: str, params: list | None = None):
        """Any JSON-RPC method, with retries and counting; returns the plain JSON ``result``."""

        async def run():
            body = {"jsonrpc": "2.0", "id": self._next_id(), "method": method}
            if params is not None:
                body["params"] = params
            data = await self._request([method], json.dumps(body))
            return _raw_result(data, method)

        return self._run(run())

    def call_batch(self, calls: Sequence[tuple[str, list | None]]) -> list:
        """Several JSON-RPC calls in one HTTP body; plain JSON results in input order.

        An item that failed is returned as its :class:`RpcError` (not raised), so one bad item does not hide
        the others. Every method in the body is counted in ``stats.calls_by_method``.
        """

        async def run():
            ids, bodies = [], []
            for method, params in calls:
                request_id = self._next_id()
                ids.append(request_id)
                body = {"jsonrpc": "2.0", "id": request_id, "method": method}
                if params is not None:
                    body["params"] = params
                bodies.append(body)
            data = await self._request([m for m, _ in calls], json.dumps(bodies))
            if not isinstance(data, list):
                if isinstance(data, dict) and data.get("error") is not None:
                    raise rpc_error_from_object(data["error"], method="batch")
                raise BadResponse(f"the node's answer to a batch is not a list: {_excerpt(json.dumps(data))}")
            by_id = {item.get("id"): item for item in data if isinstance(item, dict)}
            results = []
            for request_id, (method, _params) in zip(ids, calls, strict=True):
                item = by_id.get(request_id)
                if item is None:
                    results.append(RpcError(None, f"no answer for {method} in the batch response"))
                elif item.get("error") is not None:
                    results.append(rpc_error_from_object(item["error"], method=method))
                else:
                    results.append(item.get("result"))
            return results

        if not calls:
            return []
        return self._run(run())

    # -- reads -----------------------------------------------------------------------------------

    def get_accounts(self, pubkeys: Sequence, *, commitment: str | None = None) -> list[Account | None]:
        """Accounts in input order (None for missing), ``getMultipleAccounts`` base64, 100 keys a call."""
        keys = [_as_pubkey(p) for p in pubkeys]
        config = RpcAccountInfoConfig(
            encoding=UiAccountEncoding.Base64, commitment=self._commitment(commitment)
        )

        async def run():
            chunks = await self._gather(
                self._call("getMultipleAccounts", GetMultipleAccounts(chunk, config, id=self._next_id()))
                for chunk in _chunks(keys, MULTIPLE_ACCOUNTS_BATCH)
            )
            result = [account for chunk in chunks for account in chunk]
            if len(result) != len(keys):
                raise BadResponse(f"getMultipleAccounts returned {len(result)} accounts for {len(keys)} keys")
            return result

        return self._run(run()) if keys else []

    def get_account(self, pubkey, *, commitment: str | None = None) -> Account | None:
        config = RpcAccountInfoConfig(
            encoding=UiAccountEncoding.Base64, commitment=self._commitment(commitment)
        )
        return self._run(
            self._call("getAccountInfo", GetAccountInfo(_as_pubkey(pubkey), config, id=self._next_id()))
        )

    def get_token_accounts(
        self, addresses: Sequence, *, commitment: str | None = None
    ) -> list[TokenAccount | None]:
        """Token accounts (Token or Token-2022) decoded from bytes, in input order; None when missing."""
        keys = [_as_pubkey(a) for a in addresses]
        accounts = self.get_accounts(keys, commitment=commitment)
        return [token_account_from_account(acc, address=key) for key, acc in zip(keys, accounts, strict=True)]

    def get_token_accounts_by_owners(
        self, owners: Sequence, program_id, *, commitment: str | None = None
    ) -> list[list[tuple[Pubkey, Account]]]:
        """For each owner, ``[(address, Account)]`` of every token account it owns under ``program_id``
        (whatever the mint): one ``getTokenAccountsByOwner`` per owner, run concurrently."""
        config = RpcAccountInfoConfig(
            encoding=UiAccountEncoding.Base64, commitment=self._commitment(commitment)
        )
        program = RpcTokenAccountsFilterProgramId(_as_pubkey(program_id))

        async def run():
            return await self._gather(
                self._call(
                    "getTokenAccountsByOwner",
                    GetTokenAccountsByOwner(_as_pubkey(owner), program, config, id=self._next_id()),
                )
                for owner in owners
            )

        results = self._run(run()) if owners else []
        return [[(keyed.pubkey, keyed.account) for keyed in result] for result in results]

    def get_mints(self, mints: Sequence, *, commitment: str | None = None) -> list[MintInfo | None]:
        keys = [_as_pubkey(m) for m in mints]
        accounts = self.get_accounts(keys, commitment=commitment)
        return [mint_from_account(acc, address=key) for key, acc in zip(keys, accounts, strict=True)]

    def get_mint(self, mint, *, commitment: str | None = None) -> MintInfo:
        """Decimals and token program (the mint's owner) of ``mint``; ChainError if it is not a mint."""
        key = _as_pubkey(mint)
        account = self.get_account(key, commitment=commitment)
        if account is None:
            raise ChainError(f"mint {key} does not exist on {self.safe_url}")
        info = mint_from_account(account, address=key)
        if info is None:
            raise ChainError(f"account {key} (owner {account.owner}) is not a Token or Token-2022 mint")
        return info

    def get_balance(self, pubkey, *, commitment: str | None = None) -> int:
        request = GetBalance(
            _as_pubkey(pubkey), RpcContextConfig(commitment=self._commitment(commitment)), id=self._next_id()
        )
        return self._run(self._call("getBalance", request))

    def get_slot(self, *, commitment: str | None = None) -> int:
        request = GetSlot(RpcContextConfig(commitment=self._commitment(commitment)), id=self._next_id())
        return self._run(self._call("getSlot", request))

    def get_block_height(self, *, commitment: str | None = None) -> int:
        request = GetBlockHeight(
            RpcContextConfig(commitment=self._commitment(commitment)), id=self._next_id()
        )
        return self._run(self._call("getBlockHeight", request))

    def get_latest_blockhash(self, *, commitment: str | None = None) -> RpcBlockhash:
        """``RpcBlockhash`` with ``.blockhash`` (a solders Hash) and ``.last_valid_block_height``."""
        request = GetLatestBlockhash(
            RpcContextConfig(commitment=self._commitment(commitment)), id=self._next_id()
        )
        return self._run(self._call("getLatestBlockhash", request))

    def get_minimum_balance_for_rent_exemption(self, size: int, *, commitment: str | None = None) -> int:
        request = GetMinimumBalanceForRentExemption(
            int(size), self._commitment(commitment), id=self._next_id()
        )
        return self._run(self._call("getMinimumBalanceForRentExemption", request))

    def get_signature_statuses(
        self, signatures: Sequence, *, search_transaction_history: bool = True
    ) -> list:
        """solders ``TransactionStatus`` (or None when unknown) for each signature, 256 a call."""
        sigs = [_as_signature(s) for s in signatures]
        config = RpcSignatureStatusConfig(search_transaction_history=search_transaction_history)

        async def run():
            return await self._statuses(sigs, config)

        return self._run(run()) if sigs else []

    async def _statuses(self, sigs, config):
        chunks = await self._gather(
            self._call("getSignatureStatuses", GetSignatureStatuses(chunk, config, id=self._next_id()))
            for chunk in _chunks(sigs, SIGNATURE_STATUSES_BATCH)
        )
        result = [status for chunk in chunks for status in chunk]
        if len(result) != len(sigs):
            raise BadResponse(
                f"getSignatureStatuses returned {len(result)} statuses for {len(sigs)} signatures"
            )
        return result

    async def _signatures_for(self, address, limit, before, until, commitment):
        collected = []
        while True:
            page = (
                SIGNATURES_FOR_ADDRESS_MAX
                if limit is None
                else min(SIGNATURES_FOR_ADDRESS_MAX, limit - len(collected))
            )
            config = RpcSignaturesForAddressConfig(
                before=before, until=until, limit=page, commitment=commitment
            )
            batch = await self._call(
                "getSignaturesForAddress", GetSignaturesForAddress(address, config, id=self._next_id())
            )
            collected.extend(batch)
            if limit is None or len(batch) < page or len(collected) >= limit or not batch:
                return collected
            before = batch[-1].signature

    def get_signatures_for_address(
        self, address, *, limit: int | None = None, before=None, until=None, commitment: str | None = None
    ) -> list:
        """``RpcConfirmedTransactionStatusWithSignature`` newest first (pages of 1,000 when limit > 1,000)."""
        return self.get_signatures_for_addresses(
            [address], limit=limit, before=before, until=until, commitment=commitment
        )[0]

    def get_signatures_for_addresses(
        self,
        addresses: Sequence,
        *,
        limit: int | None = None,
        before=None,
        until=None,
        commitment: str | None = None,
    ) -> list[list]:
        """``getSignaturesForAddress`` for each address, concurrently; lists in input order."""
        keys = [_as_pubkey(a) for a in addresses]
        before_sig = _as_signature(before) if before else None
        until_sig = _as_signature(until) if until else None
        level = self._commitment(commitment)
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")

        async def run():
            return await self._gather(
                self._signatures_for(k, limit, before_sig, until_sig, level) for k in keys
            )

        return self._run(run()) if keys else []

    def get_transactions(self, signatures: Sequence, *, commitment: str | None = None) -> list:
        """``EncodedConfirmedTransactionWithStatusMeta`` (json, v0 allowed) or None, in input order."""
        sigs = [_as_signature(s) for s in signatures]
        level = self._commitment(commitment)
        if level == CommitmentLevel.Processed:
            level = CommitmentLevel.Confirmed  # getTransaction does not accept processed
        config = RpcTransactionConfig(
            encoding=UiTransactionEncoding.Json, commitment=level, max_supported_transaction_version=0
        )

        async def run():
            return await self._gather(
                self._call("getTransaction", GetTransaction(sig, config, id=self._next_id())) for sig in sigs
            )

        return self._run(run()) if sigs else []

    def get_transaction(self, signature, *, commitment: str | None = None):
        return self.get_transactions([signature], commitment=commitment)[0]

    def health(self) -> ChainHealth:
        """One ``getSlot`` without retries: slot and latency, or the error. Never raises ChainError."""
        started = time.monotonic()
        request = GetSlot(RpcContextConfig(commitment=self._commitment(None)), id=self._next_id())
        try:
            slot = self._run(self._call("getSlot", request, max_retry_seconds=0))
        except ChainError as exc:
            return ChainHealth(False, self.safe_url, None, time.monotonic() - started, str(exc))
        return ChainHealth(True, self.safe_url, slot, time.monotonic() - started)

    # -- writes ----------------------------------------------------------------------------------

    def send_transaction(
        self,
        tx: VersionedTransaction | Transaction,
        *,
        skip_preflight: bool = False,
        preflight_commitment: str | None = None,
        max_retries: int | None = None,
    ) -> str:
        """Send a signed transaction; returns its signature (base58).

        Raises :class:`TransactionFailed` (preflight failure, with ``err`` and ``logs``),
        :class:`TransactionAlreadyProcessed` (it landed before: check its status), and
        :class:`SendOutcomeUnknown` when the node may have received it but the answer was lost: it is never
        re-sent automatically. Requests the node refused outright (connection refused, HTTP 429, -32005)
        are retried within the bound, since nothing was sent.
        """
        if not tx.signatures or tx.signatures[0] == Signature.default():
            raise ValueError("the transaction is not signed")
        signature = str(tx.signatures[0])
        config = RpcSendTransactionConfig(
            skip_preflight=skip_preflight,
            preflight_commitment=self._commitment(preflight_commitment),
            max_retries=max_retries,
        )
        request = SendRawTransaction(bytes(tx), config, id=self._next_id())

        async def run():
            try:
                data = await self._request(["sendTransaction"], request.to_json(), idempotent=False)
            except _OutcomeUnknown as exc:
                logger.warning("sendTransaction %s: outcome unknown (%s)", signature, exc.description)
                raise SendOutcomeUnknown(signature, exc.description) from None
            if isinstance(data, dict) and data.get("error") is not None:
                raise preflight_exception(
                    rpc_error_from_object(data["error"], method="sendTransaction"), signature
                )
            try:
                returned = str(parse_rpc_response("sendTransaction", data))
            except BadResponse as exc:
                raise SendOutcomeUnknown(signature, str(exc)) from None
            if returned != signature:
                logger.warning("sendTransaction returned %s for a transaction signed %s", returned, signature)
            return signature

        return self._run(run())

    def confirm(
        self,
        signatures: Sequence,
        commitment: str | None = None,
        timeout: float = 60.0,
        poll_interval: float = 0.5,
    ) -> dict:
        """Poll ``getSignatureStatuses`` until every signature reached ``commitment`` or failed, or timeout.

        Returns ``{signature (str): TransactionStatus | None}`` with the last status seen: ``.err`` set for
        a failed transaction, ``None`` for one the node does not know. Check with :func:`status_reached`;
        no exception on timeout (the caller decides what an unconfirmed transaction means).
        """
        sigs = [_as_signature(s) for s in signatures]
        target = commitment or self.commitment
        self._commitment(target)
        config = RpcSignatureStatusConfig(search_transaction_history=True)

        async def run():
            result = {str(s): None for s in sigs}
            pending = list(dict.fromkeys(sigs))
            deadline = time.monotonic() + timeout
            while pending:
                statuses = await self._statuses(pending, config)
                still = []
                for sig, status in zip(pending, statuses, strict=True):
                    result[str(sig)] = status
                    if status is None or (status.err is None and not status_reached(status, target)):
                        still.append(sig)
                pending = still
                remaining = deadline - time.monotonic()
                if not pending or remaining <= 0:
                    break
                await asyncio.sleep(min(poll_interval, remaining))
            return result

        return self._run(run()) if sigs else {}


def _abandon(loop: asyncio.AbstractEventLoop, async_client: AsyncClient | None) -> None:
    """Finalizer of a client that was never closed: close its session and stop its loop, without blocking."""

    async def shutdown():
        try:
            if async_client is not None:
                await async_client.close()
        finally:
            asyncio.get_running_loop().stop()

    try:
        loop.call_soon_threadsafe(lambda: loop.create_task(shutdown()))
    except RuntimeError:  # the loop is already closed (interpreter exit)
        pass


def _raw_result(data, method):
    if isinstance(data, dict) and data.get("error") is not None:
        raise rpc_error_from_object(data["error"], method=method)
    if not isinstance(data, dict) or "result" not in data:
        raise BadResponse(f"the node's answer to {method} is not a JSON-RPC response")
    return data["result"]
