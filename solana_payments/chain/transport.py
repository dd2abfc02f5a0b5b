"""Posting JSON-RPC bodies over HTTP: one httpx session, bounded concurrency, a rate limit, retries, counting.

What a node or its proxy may answer, and what is done about it:

- transport errors, timeouts, HTTP 408/429/5xx and JSON-RPC -32005 / 429 are retried with exponential
  backoff and jitter, honouring ``Retry-After``, until ``max_retry_seconds`` is spent, then
  ``ChainUnavailable`` (its message shows the URL without credentials);
- a request that is not idempotent (``sendTransaction``) is never repeated once the node may have received
  it: ``OutcomeUnknown`` is raised instead, so the caller asks the chain about its signature;
- every attempt is counted in the ``ChainStats`` given (requests, each method, retries, errors).
"""

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx2

from .errors import BadResponse, ChainError, ChainUnavailable
from .parsing import excerpt, load_json_body
from .stats import ChainStats
from .urls import redact_text, redact_url

logger = logging.getLogger(__name__)

# HTTP statuses worth another try: timeouts, rate limits and server-side trouble (not 501/505).
RETRY_HTTP_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})
# JSON-RPC error codes worth another try: node unhealthy / behind, and rate limits sent as a JSON-RPC error.
NODE_UNHEALTHY = -32005
RETRY_RPC_CODES = frozenset({NODE_UNHEALTHY, 429})

BACKOFF_BASE = 0.2  # seconds before the first retry (jittered)
BACKOFF_MAX = 5.0  # cap on one backoff pause (Retry-After may ask for more)


class OutcomeUnknown(Exception):
    """A request that must not be repeated may have reached the node, but its answer was lost."""

    def __init__(self, description):
        self.description = description
        super().__init__(description)


@dataclass
class _Failure:
    description: str
    retryable: bool
    retry_after: float | None = None
    maybe_sent: bool = True  # the node may have received (and acted on) the request
    unavailable: bool = False  # a non-retryable failure that still means "the node cannot serve us"
    http_status: int | None = None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (a number or an HTTP date); None when absent or odd."""
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


def backoff(attempt: int) -> float:
    """The jittered pause before retry number ``attempt``."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** (attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


class Transport:
    """One HTTP session to ``url``, used from one event loop: :meth:`open` in it, then :meth:`request`."""

    def __init__(
        self,
        url: str,
        *,
        stats: ChainStats,
        timeout: float | None = None,
        rate_limit: float = 0,
        max_retry_seconds: float = 30.0,
        concurrency: int = 4,
        headers: dict | None = None,
    ):
        self.url = url
        self.safe_url = redact_url(url)
        self.stats = stats
        self.timeout = timeout
        self.rate_limit = rate_limit
        self.max_retry_seconds = max_retry_seconds
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.concurrency = concurrency
        self._session: httpx2.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._rate_lock: asyncio.Lock | None = None
        self._next_request_at = 0.0

    async def open(self) -> None:
        options = {"http2": True}
        if self.timeout is not None:
            options["timeout"] = httpx2.Timeout(self.timeout)
        self._session = httpx2.AsyncClient(**options)
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._rate_lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.aclose()

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
        # The rate limit is taken with a slot in hand: a request that waited for a slot never starts in a
        # burst with others whose turn came while they all waited.
        async with self._semaphore:
            await self._throttle()
            response = await self._session.post(self.url, content=content, headers=self.headers)
            response.raise_for_status()
            return response.text

    def _describe(self, text) -> str:
        return redact_text(text, self.url)

    def _classify(self, exc: BaseException) -> _Failure:
        if isinstance(exc, httpx2.HTTPStatusError):
            response = exc.response
            status = response.status_code
            description = f"HTTP {status} {response.reason_phrase or ''}".strip()
            try:
                body = response.text
            except Exception:
                body = ""
            if body:
                description += f": {excerpt(self._describe(body), 100)}"
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
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

    def _retryable_rpc_error(self, data) -> _Failure | None:
        items = data if isinstance(data, list) else [data]
        for item in items:
            error = item.get("error") if isinstance(item, dict) else None
            if isinstance(error, dict) and error.get("code") in RETRY_RPC_CODES:
                if error.get("code") == 429:
                    self.stats.rate_limited += 1
                # The node refused before doing anything: safe to repeat even a sendTransaction.
                return _Failure(
                    f"RPC error {error.get('code')}: {excerpt(error.get('message', ''), 100)}",
                    retryable=True,
                    maybe_sent=False,
                )
        if isinstance(data, dict) and data.get("error") is not None:
            self.stats.errors += 1
        elif isinstance(data, list):
            self.stats.errors += sum(1 for i in data if isinstance(i, dict) and i.get("error") is not None)
        return None

    async def request(
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
        may have received: it raises :class:`OutcomeUnknown` instead.
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
                        raise OutcomeUnknown(str(exc)) from None
                    raise
                failure = self._retryable_rpc_error(data)
                if failure is None:
                    return data
            self.stats.errors += 1
            if not idempotent and failure.maybe_sent:
                raise OutcomeUnknown(failure.description)
            if not failure.retryable:
                if failure.unavailable:
                    self.stats.gave_up += 1
                    raise ChainUnavailable(self.safe_url, failure.description, attempts=attempt)
                raise ChainError(f"{method_label} to {self.safe_url} failed: {failure.description}")
            delay = backoff(attempt)
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
