"""The RPC client every operation uses: the JSON-RPC methods the app reads and sends, with a sync facade.

Requests go through :class:`~.transport.Transport` (httpx, bounded concurrency, rate limit, retries,
counting); bodies are built with solders' request types and answers parsed with solders' response types
(:mod:`.parsing`). What the client adds on top:

- batching (``getMultipleAccounts`` 100 keys a call, ``getSignatureStatuses`` 256) and independent calls
  run concurrently;
- ``stats`` (:class:`~.stats.ChainStats`): requests by method, retries and errors, for the run to record;
- ``sendTransaction`` is never re-sent after a lost response: ``SendOutcomeUnknown`` carries the signature
  so the caller asks the chain about it; ``send_transactions`` sends many at once, each once;
- ``call`` / ``call_batch`` for any other method, answered as plain JSON.

Operations are ordinary sync code: the client runs its own event loop in a private thread and the public
methods block and return plain data or solders objects. It reads no settings: the app builds it from its
own (``solana_payments.chain_client.chain_client()``), a script or a test passes the values itself.

    with ChainClient("http://127.0.0.1:8899", commitment="confirmed") as chain:
        accounts = chain.get_accounts(addresses)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

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
    GetBalance,
    GetBlockHeight,
    GetLatestBlockhash,
    GetMultipleAccounts,
    GetSignaturesForAddress,
    GetSignatureStatuses,
    GetSlot,
    GetTokenAccountsByOwner,
    GetTransaction,
    SendRawTransaction,
)
from solders.rpc.responses import RpcBlockhash
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_status import UiTransactionEncoding

from .accounts import MintInfo, mint_from_account
from .commitment import COMMITMENTS, commitment_level, status_reached
from .errors import BadResponse, ChainError, ChainUnavailable, SendOutcomeUnknown
from .parsing import batch_results, parse_rpc_response, preflight_exception, raw_result, rpc_error_from_object
from .stats import ChainHealth, ChainStats
from .transport import OutcomeUnknown, Transport
from .urls import is_http_url, redact_url

logger = logging.getLogger(__name__)

MULTIPLE_ACCOUNTS_BATCH = 100
SIGNATURE_STATUSES_BATCH = 256
SIGNATURES_FOR_ADDRESS_MAX = 1000


def _as_pubkey(value) -> Pubkey:
    return value if isinstance(value, Pubkey) else Pubkey.from_string(str(value).strip())


def _as_signature(value) -> Signature:
    return value if isinstance(value, Signature) else Signature.from_string(str(value).strip())


def _chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _abandon(loop: asyncio.AbstractEventLoop, transport: Transport) -> None:
    """Finalizer of a client that was never closed: close its session and stop its loop, without blocking."""

    async def shutdown():
        try:
            await transport.aclose()
        finally:
            asyncio.get_running_loop().stop()

    try:
        loop.call_soon_threadsafe(lambda: loop.create_task(shutdown()))
    except RuntimeError:  # the loop is already closed (interpreter exit)
        pass


class ChainClient:
    """Sync facade over one HTTP session with batching, retries, a rate limit and counting.

    ``ChainClient(url, commitment=..., timeout=..., rate_limit=..., max_retry_seconds=...,
    concurrency=..., headers=...)``. Use it as a context manager, or call :meth:`close`.
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
        if not is_http_url(url):
            raise ValueError(f"RPC URL must be an http(s) URL, got {redact_url(url) if url else url!r}")
        if commitment not in COMMITMENTS:
            raise ValueError(f"commitment must be one of {', '.join(COMMITMENTS)}, got {commitment!r}")
        self.url = str(url)
        self.safe_url = redact_url(self.url)
        self.commitment = commitment
        self.timeout = float(timeout) if timeout else None
        self.rate_limit = float(rate_limit or 0)
        self.max_retry_seconds = max(0.0, float(max_retry_seconds))
        self.concurrency = max(1, int(concurrency or 1))
        self.headers = dict(headers or {})
        self.stats = ChainStats()
        self._transport = Transport(
            self.url,
            stats=self.stats,
            timeout=self.timeout,
            rate_limit=self.rate_limit,
            max_retry_seconds=self.max_retry_seconds,
            concurrency=self.concurrency,
            headers=self.headers,
        )
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._finalizer = None
        self._ids = itertools.count(1)  # next() is atomic: calls may come from the caller and from submit()
        self._workers: ThreadPoolExecutor | None = None

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
                asyncio.run_coroutine_threadsafe(self._transport.open(), loop).result()
                # A client dropped without close() must not leave its thread and session behind.
                self._finalizer = weakref.finalize(self, _abandon, loop, self._transport)
            return self._loop

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def submit(self, call: Callable, /, *args, **kwargs) -> Future:
        """Start ``call(*args, **kwargs)`` without waiting for it; returns a ``Future`` of its result.

        ``call`` is one of this client's methods, or a function that calls nothing else: it runs on a worker
        thread of the client, and its requests share the client's bound (``concurrency``) and rate limit
        with every other call. An operation sends one batch of transactions this way while it reads the
        chain and writes its records for the batch before.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("this ChainClient is closed")
            if self._workers is None:
                self._workers = ThreadPoolExecutor(
                    max_workers=2, thread_name_prefix="solana-payments-rpc-call"
                )
            return self._workers.submit(call, *args, **kwargs)

    def close(self) -> None:
        """Close the HTTP session and stop the client's event loop. Safe to call twice.

        Calls started with :meth:`submit` are waited for first."""
        with self._lock:
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=True)
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
            asyncio.run_coroutine_threadsafe(self._transport.aclose(), loop).result(timeout=10)
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

    # -- requests --------------------------------------------------------------------------------

    def _next_id(self) -> int:
        return next(self._ids)

    async def _call(self, method: str, request, *, max_retry_seconds=None):
        """One solders request with retries; returns the parsed solders value."""
        data = await self._transport.request([method], request.to_json(), max_retry_seconds=max_retry_seconds)
        return parse_rpc_response(method, data)

    async def _gather(self, coros: Iterable):
        """Run coroutines concurrently (the transport bounds requests in flight); cancel all on failure."""
        tasks = [asyncio.ensure_future(coro) for coro in coros]
        try:
            return await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def _commitment(self, commitment: str | None) -> CommitmentLevel:
        return commitment_level(commitment or self.commitment)

    def _body(self, method: str, params: list | None) -> dict:
        body = {"jsonrpc": "2.0", "id": self._next_id(), "method": method}
        if params is not None:
            body["params"] = params
        return body

    def call(self, method: str, params: list | None = None):
        """Any JSON-RPC method, with retries and counting; returns the plain JSON ``result``."""

        async def run():
            data = await self._transport.request([method], json.dumps(self._body(method, params)))
            return raw_result(data, method)

        return self._run(run())

    def call_batch(self, calls: Sequence[tuple[str, list | None]]) -> list:
        """Several JSON-RPC calls in one HTTP body; plain JSON results in input order.

        An item that failed is returned as its :class:`RpcError` (not raised), so one bad item does not hide
        the others. Every method in the body is counted in ``stats.calls_by_method``.
        """

        async def run():
            bodies = [self._body(method, params) for method, params in calls]
            data = await self._transport.request([m for m, _ in calls], json.dumps(bodies))
            return batch_results(data, [(body["id"], body["method"]) for body in bodies])

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
        """Decimals and token program (the mint's owner) of each mint; None when missing or not a mint."""
        keys = [_as_pubkey(m) for m in mints]
        accounts = self.get_accounts(keys, commitment=commitment)
        return [mint_from_account(acc, address=key) for key, acc in zip(keys, accounts, strict=True)]

    def get_balance(self, pubkey, *, commitment: str | None = None) -> int:
        request = GetBalance(
            _as_pubkey(pubkey), RpcContextConfig(commitment=self._commitment(commitment)), id=self._next_id()
        )
        return self._run(self._call("getBalance", request))

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

    def get_signatures_for_addresses(
        self,
        addresses: Sequence,
        *,
        limit: int | None = None,
        before=None,
        until=None,
        untils: Sequence | None = None,
        commitment: str | None = None,
    ) -> list[list]:
        """``getSignaturesForAddress`` for each address, concurrently; lists in input order.

        ``until`` stops every list at one signature; ``untils`` gives each address its own (or None).

        Each list holds ``RpcConfirmedTransactionStatusWithSignature`` newest first (pages of 1,000 when
        ``limit`` is over 1,000 or None).
        """
        keys = [_as_pubkey(a) for a in addresses]
        before_sig = _as_signature(before) if before else None
        if untils is None:
            untils = [until] * len(keys)
        until_sigs = [_as_signature(u) if u else None for u in untils]
        if len(until_sigs) != len(keys):
            raise ValueError("untils must give one signature (or None) per address")
        level = self._commitment(commitment)
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")

        async def run():
            return await self._gather(
                self._signatures_for(k, limit, before_sig, u, level)
                for k, u in zip(keys, until_sigs, strict=True)
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
        request = self._send_request(tx, skip_preflight, preflight_commitment, max_retries)
        return self._run(self._send(*request))

    def send_transactions(
        self,
        txs: Sequence[VersionedTransaction | Transaction],
        *,
        skip_preflight: bool = False,
        preflight_commitment: str | None = None,
        max_retries: int | None = None,
    ) -> list:
        """Send signed transactions, each once, up to ``concurrency`` in flight, started in the order given.

        Returns, in input order, each one's signature or the :class:`ChainError` its send raised
        (:class:`TransactionFailed`, :class:`TransactionAlreadyProcessed`, :class:`SendOutcomeUnknown`, as
        :meth:`send_transaction`). Once the node is unreachable (:class:`ChainUnavailable`), the
        transactions not started yet are not sent: their entry is that same error. ``rate_limit`` spaces
        the sends out like any other request.
        """
        requests = [self._send_request(tx, skip_preflight, preflight_commitment, max_retries) for tx in txs]
        if not requests:
            return []

        async def run():
            results = [None] * len(requests)
            queue = list(enumerate(requests))
            queue.reverse()  # popped from the end: the first transaction starts first
            unavailable = None

            async def sender():
                nonlocal unavailable
                while queue and unavailable is None:
                    index, request = queue.pop()
                    try:
                        results[index] = await self._send(*request)
                    except ChainUnavailable as exc:
                        unavailable = unavailable or exc
                        results[index] = exc
                    except ChainError as exc:
                        results[index] = exc

            # Twice as many senders as requests in flight: one waiting out a retry's backoff leaves its slot
            # to another (the transport still bounds the requests in flight to ``concurrency``).
            await self._gather(sender() for _ in range(min(2 * self.concurrency, len(requests))))
            for index, _ in queue:  # never started: the node stopped answering
                results[index] = unavailable
            return results

        return self._run(run())

    def _send_request(self, tx, skip_preflight, preflight_commitment, max_retries):
        """``(signature, SendRawTransaction)`` of a signed transaction."""
        if not tx.signatures or tx.signatures[0] == Signature.default():
            raise ValueError("the transaction is not signed")
        config = RpcSendTransactionConfig(
            skip_preflight=skip_preflight,
            preflight_commitment=self._commitment(preflight_commitment),
            max_retries=max_retries,
        )
        return str(tx.signatures[0]), SendRawTransaction(bytes(tx), config, id=self._next_id())

    async def _send(self, signature: str, request: SendRawTransaction) -> str:
        try:
            data = await self._transport.request(["sendTransaction"], request.to_json(), idempotent=False)
        except OutcomeUnknown as exc:
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

    def confirm(
        self,
        signatures: Sequence,
        commitment: str | None = None,
        timeout: float = 60.0,
        poll_interval: float = 0.5,
    ) -> dict:
        """Poll ``getSignatureStatuses`` until every signature reached ``commitment`` or failed, or timeout.

        Returns ``{signature (str): TransactionStatus | None}`` with the last status seen: ``.err`` set for
        a failed transaction, ``None`` for one the node does not know. Check with
        :func:`~.commitment.status_reached`; no exception on timeout (the caller decides what an
        unconfirmed transaction means).
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
