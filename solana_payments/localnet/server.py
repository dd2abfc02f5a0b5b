"""The HTTP side of the local node: JSON-RPC over POST, fault injection, counts and a control endpoint.
Websocket subscriptions are served on the next port (pubsub.py).

Control endpoints (never subject to faults, never counted):

    GET    /health               "ok" (like real nodes)
    GET    /localnet/stats       {"requests": {method: n}, "faults": {kind: n}, "served": {method: n},
                                 "in_flight": {...}, "slot", "blockHeight", ...}
    GET    /localnet/faults      the current fault settings
    POST   /localnet/faults      JSON object: merge these fault settings (same names as `Faults`)
    DELETE /localnet/faults      clear every fault
    POST   /localnet/reset       a fresh ledger, counts and faults cleared
    POST   /localnet/time        {"advance": seconds} or {"offset": seconds}: shift the chain clock
    POST   /localnet/airdrop     {"pubkey": ..., "lamports": n} -> {"signature": ...}
    POST   /localnet/mint        {"mint": "USDC"|address, "owner": ..., "amount": n} -> {"signature": ...}
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from .ledger import Ledger
from .methods import node_handlers
from .pubsub import PubSubServer
from .records import (
    LedgerError,
)
from .rpc import INTERNAL_ERROR, INVALID_REQUEST, NODE_UNHEALTHY, PARSE_ERROR, ErrorResponse

logger = logging.getLogger(__name__)

_PORT_ATTEMPTS = 20
RATE_LIMIT_MESSAGE = (
    "Too many requests for a specific RPC call, contact your app developer or support@rpcpool.com."
)


@dataclass(frozen=True)
class Faults:
    """What the node does wrong on purpose. Rates are fractions of HTTP requests (0..1).

    - latency: seconds added to every request; latency_spike_rate/latency_spike: occasional extra delay.
    - rate_429: answered HTTP 429 with `Retry-After: retry_after` and a rate-limit JSON body.
    - rate_5xx: answered with HTTP `status_5xx` (503 by default) and no JSON-RPC body.
    - rate_unhealthy: answered -32005 "Node is behind by 42 slots" (HTTP 200), as a lagging node does.
    - lose_send_response: requests containing sendTransaction are executed, but the response is lost:
      the connection is closed without an answer (lose_mode "close") or answered 502/504 with no body.
    - confirmation_delay / finalization_delay: seconds a transaction stays processed, and until it is
      finalized, both counted from execution (real seconds; `advance_time` also counts).
    - finalized_lag_slots: account reads at `finalized` (getAccountInfo, getMultipleAccounts, getBalance)
      answer from the state of that many slots ago, as a node whose finalized view trails its confirmed one
      (or a load-balanced pool behind a lagging member) does; their context slot lags as much.
    - methods: when set, the HTTP faults (429, 5xx, unhealthy, latency) hit only requests that contain one
      of these methods.
    - max_faults: stop injecting after this many faults (e.g. rate_429=1, max_faults=2: two 429s, then ok).
    - seed: makes the random draws reproducible.
    """

    latency: float = 0.0
    latency_spike_rate: float = 0.0
    latency_spike: float = 0.0
    rate_429: float = 0.0
    retry_after: float = 1
    rate_5xx: float = 0.0
    status_5xx: int = 503
    rate_unhealthy: float = 0.0
    lose_send_response: float = 0.0
    lose_mode: str = "close"
    confirmation_delay: float = 0.0
    finalization_delay: float = 0.0
    finalized_lag_slots: int = 0
    methods: tuple[str, ...] | None = None
    max_faults: int | None = None
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if data["methods"] is not None:
            data["methods"] = list(data["methods"])
        return data


FAULT_NAMES = tuple(f.name for f in fields(Faults))


def _coerce_fault(name: str, value: Any) -> Any:
    if name == "methods":
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = [m for m in value.replace("|", " ").replace(";", " ").split() if m]
        return tuple(value)
    if name == "lose_mode":
        value = str(value)
        if value not in ("close", "502", "504"):
            raise ValueError("lose_mode must be 'close', '502' or '504'")
        return value
    if name in ("status_5xx", "finalized_lag_slots"):
        return int(value)
    if name in ("max_faults", "seed"):
        return None if value in (None, "", "none", "None") else int(value)
    return float(value)


def parse_faults(text: str) -> dict[str, Any]:
    """`"rate_429=0.2,retry_after=1,methods=sendTransaction|getBalance"` -> keyword arguments."""
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(f"fault {part!r} is not NAME=VALUE")
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        out[name] = _coerce_fault(name, value.strip())
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # clients open many connections at once (concurrent batches)
    localnet: Localnet


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections
    # Headers and body go out in separate writes: without TCP_NODELAY, delayed ACKs add ~40 ms per answer.
    disable_nagle_algorithm = True
    timeout = 300  # close connections idle this long (each holds a thread)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s - %s", self.address_string(), format % args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, separators=(",", ":")).encode())

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = urlsplit(self.path).path.rstrip("/")
        localnet = self.server.localnet
        if path == "/health":
            self._send(200, b"ok", {"Content-Type": "text/plain"})
        elif path == "/localnet/stats":
            self._send_json(200, localnet.stats())
        elif path == "/localnet/faults":
            self._send_json(200, localnet.faults.to_json())
        else:
            self._send_json(404, {"error": "not found"})

    def do_DELETE(self) -> None:  # noqa: N802
        if urlsplit(self.path).path.rstrip("/") == "/localnet/faults":
            self.server.localnet.clear_faults()
            self._send_json(200, self.server.localnet.faults.to_json())
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path.rstrip("/")
        body = self._body()
        if path.startswith("/localnet/"):
            self._control(path, body)
            return
        with self.server.localnet._answering():
            status, headers, payload = self.server.localnet._handle_rpc(body)
        if status is None:  # a lost response: hang up without answering
            self.close_connection = True
            return
        self._send(status, payload, headers)

    def _control(self, path: str, body: bytes) -> None:
        localnet = self.server.localnet
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            if path == "/localnet/faults":
                localnet.set_faults(**data)
                self._send_json(200, localnet.faults.to_json())
            elif path == "/localnet/reset":
                localnet.reset()
                self._send_json(200, localnet.stats())
            elif path == "/localnet/time":
                if "offset" in data:
                    localnet.set_time_offset(float(data["offset"]))
                if "advance" in data:
                    localnet.advance_time(float(data["advance"]))
                self._send_json(200, {"timeOffset": localnet.time_offset, "slot": localnet.slot})
            elif path == "/localnet/airdrop":
                sig = localnet.airdrop(Pubkey.from_string(data["pubkey"]), int(data["lamports"]))
                self._send_json(200, {"signature": sig})
            elif path == "/localnet/mint":
                sig = localnet.mint_to(data["mint"], Pubkey.from_string(data["owner"]), int(data["amount"]))
                self._send_json(200, {"signature": sig})
            else:
                self._send_json(404, {"error": "not found"})
        except (ValueError, TypeError, KeyError, LedgerError) as exc:
            self._send_json(400, {"error": str(exc)})


class Localnet:
    """A local Solana JSON-RPC node over LiteSVM, served over HTTP from a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: dict[str, Any] | Faults | None = None,
        *,
        slots_per_second: float = 2.5,
        blockhash_validity_slots: int = 150,
    ) -> None:
        self.ledger = Ledger(
            slots_per_second=slots_per_second, blockhash_validity_slots=blockhash_validity_slots
        )
        self.rpc = node_handlers(self.ledger)
        self._stats_lock = threading.Lock()
        self._request_counts: Counter[str] = Counter()
        self._fault_counts: Counter[str] = Counter()
        self._served_counts: Counter[str] = Counter()
        self._handling = 0  # JSON-RPC requests being answered right now
        self._busy_since = 0.0  # when the current stretch of answering began
        self._flight = {"requests": 0, "seconds": 0.0, "busy_seconds": 0.0}
        self._faults = Faults()
        self._random = random.Random()
        self._budget_used = 0
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._pubsub: PubSubServer | None = None
        self._thread: threading.Thread | None = None
        if faults:
            self.set_faults(**(faults.to_json() if isinstance(faults, Faults) else faults))

    # ------------------------------------------------------------------------------------- lifecycle

    def start(self) -> Localnet:
        """Serve JSON-RPC on the port and websockets (PubSub) on the next one, as real nodes do."""
        if self._server is not None:
            return self
        for attempt in range(_PORT_ATTEMPTS):
            server = _Server((self._host, self._port), _Handler)
            try:
                pubsub = PubSubServer(self.rpc, self._host, server.server_address[1] + 1).start()
            except OSError:
                server.server_close()
                if self._port or attempt == _PORT_ATTEMPTS - 1:
                    raise  # the port after an explicit one is taken
                continue  # a free port whose neighbour is taken: draw again
            break
        server.localnet = self
        self._server = server
        self._pubsub = pubsub
        self._port = server.server_address[1]
        self.rpc.cluster.rpc_address = f"{self._host}:{self._port}"
        self.rpc.cluster.pubsub_address = f"{self._host}:{pubsub.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"solana-localnet:{self._port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("solana localnet listening on %s", self.url)
        return self

    def stop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            pubsub.stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Block until stop() (or Ctrl-C in the caller)."""
        self.start()
        assert self._thread is not None
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> Localnet:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def ws_url(self) -> str:
        """The websocket (PubSub) endpoint: the port after the HTTP one."""
        return f"ws://{self._host}:{self._port + 1}"

    # ------------------------------------------------------------------------------------- chain API

    @property
    def fee_payer(self) -> Keypair:
        return self.ledger.fee_payer

    @property
    def mint_authority(self) -> Keypair:
        return self.ledger.mint_authority

    @property
    def faucet(self) -> Keypair:
        return self.ledger.faucet

    @property
    def mints(self) -> dict[str, Pubkey]:
        return dict(self.ledger.mints)

    @property
    def slot(self) -> int:
        return self.ledger.slot

    @property
    def block_height(self) -> int:
        return self.ledger.block_height

    @property
    def time_offset(self) -> float:
        return self.ledger.time_offset

    def now(self) -> float:
        """Chain time (unix seconds, with the offset)."""
        return self.ledger.now()

    def set_time_offset(self, seconds: float) -> None:
        self.ledger.set_time_offset(seconds)

    def advance_time(self, seconds: float) -> None:
        self.ledger.advance_time(seconds)

    def airdrop(self, pubkey: Pubkey, lamports: int) -> str:
        return str(self.ledger.airdrop(pubkey, lamports))

    def mint_to(self, mint: Pubkey | str, owner: Pubkey, amount: int) -> str:
        return str(self.ledger.mint_to(mint, owner, amount))

    def ata(self, owner: Pubkey, mint: Pubkey | str) -> Pubkey:
        return self.ledger.ata(owner, mint)

    def get_balance(self, pubkey: Pubkey) -> int:
        return self.ledger.get_balance(pubkey)

    def get_account(self, pubkey: Pubkey):
        return self.ledger.get_account(pubkey)

    def set_account(self, pubkey: Pubkey, account) -> None:
        self.ledger.set_account(pubkey, account)

    def reset(self) -> None:
        """A fresh ledger (funds and mints re-created), counts and faults cleared, clock offset zero."""
        self.ledger.reset()
        self.clear_faults()
        self.reset_counts()

    # ---------------------------------------------------------------------------------------- faults

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, **kwargs: Any) -> Faults:
        """Merge these fault settings into the current ones (see `Faults` for the names)."""
        unknown = set(kwargs) - set(FAULT_NAMES)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULT_NAMES)}")
        values = {name: _coerce_fault(name, value) for name, value in kwargs.items()}
        with self._stats_lock:
            self._faults = dataclasses.replace(self._faults, **values)
            if "seed" in values:
                self._random = random.Random(values["seed"])
            self._budget_used = 0
            faults = self._faults
        with self.ledger.lock:
            self.ledger.confirmation_delay = faults.confirmation_delay
            self.ledger.finalization_delay = faults.finalization_delay
            self.ledger.finalized_lag_slots = faults.finalized_lag_slots
        return faults

    def clear_faults(self) -> None:
        with self._stats_lock:
            self._faults = Faults()
            self._random = random.Random()
            self._budget_used = 0
        with self.ledger.lock:
            self.ledger.confirmation_delay = 0.0
            self.ledger.finalization_delay = 0.0
            self.ledger.finalized_lag_slots = 0

    # ---------------------------------------------------------------------------------------- counts

    @property
    def request_counts(self) -> dict[str, int]:
        """Requests received per method (each batch member counted, fault-answered ones too)."""
        with self._stats_lock:
            return dict(self._request_counts)

    @property
    def served_counts(self) -> dict[str, int]:
        """Requests per method the node carried out: past every HTTP fault (429, 5xx, unhealthy), a lost
        answer included. A ``sendTransaction`` counted here reached the chain; one answered 429 did not."""
        with self._stats_lock:
            return dict(self._served_counts)

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected per kind: rate_429, rate_5xx, rate_unhealthy, lose_send_response, latency_spike."""
        with self._stats_lock:
            return dict(self._fault_counts)

    @property
    def in_flight_stats(self) -> dict[str, float]:
        """How many requests its clients kept in flight since the counts were reset, as the node saw it:
        ``requests`` answered, ``seconds`` spent on them in all (arrival to answer, latency fault
        included), ``busy_seconds`` during which at least one was being answered, and ``in_flight``, their
        ratio: the requests in flight on average while any was (1 for a client that waits on one request
        at a time; 0 before any request)."""
        with self._stats_lock:
            stats = dict(self._flight)
            if self._handling:  # a stretch still going on counts up to now
                stats["busy_seconds"] += time.monotonic() - self._busy_since
        busy = stats["busy_seconds"]
        stats["in_flight"] = round(stats["seconds"] / busy, 2) if busy > 0 else 0.0
        return stats

    def reset_counts(self) -> None:
        with self._stats_lock:
            self._request_counts.clear()
            self._fault_counts.clear()
            self._served_counts.clear()
            self._flight = {"requests": 0, "seconds": 0.0, "busy_seconds": 0.0}
            if self._handling:
                self._busy_since = time.monotonic()

    def stats(self) -> dict[str, Any]:
        ledger = self.ledger
        with ledger.lock:
            slot, height, count = ledger.slot, ledger.block_height, ledger.transaction_count
        return {
            "requests": self.request_counts,
            "faults": self.fault_counts,
            "served": self.served_counts,
            "in_flight": self.in_flight_stats,
            "slot": slot,
            "blockHeight": height,
            "transactionCount": count,
            "timeOffset": ledger.time_offset,
        }

    # ------------------------------------------------------------------------------------ RPC handling

    def _draw(self, faults: Faults, kind: str, rate: float) -> bool:
        """One random draw for one fault kind; counts it (and spends the budget) when it fires."""
        if rate <= 0:
            return False
        with self._stats_lock:
            if faults.max_faults is not None and self._budget_used >= faults.max_faults:
                return False
            if self._random.random() >= rate:
                return False
            self._budget_used += 1
            self._fault_counts[kind] += 1
            return True

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """Around the answer to one HTTP request: counts how many are answered at once (``in_flight_stats``)."""
        with self._stats_lock:
            if not self._handling:
                self._busy_since = time.monotonic()
            self._handling += 1
        started = time.monotonic()
        try:
            yield
        finally:
            with self._stats_lock:
                now = time.monotonic()
                self._handling -= 1
                self._flight["requests"] += 1
                self._flight["seconds"] += now - started
                if not self._handling:
                    self._flight["busy_seconds"] += now - self._busy_since

    def _handle_rpc(self, body: bytes) -> tuple[int | None, dict[str, str], bytes | None]:
        """(HTTP status or None to hang up, headers, body) for one HTTP request."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return (
                200,
                {},
                _dumps(
                    {"jsonrpc": "2.0", "error": {"code": PARSE_ERROR, "message": "Parse error"}, "id": None}
                ),
            )
        batch = isinstance(payload, list)
        requests = payload if batch else [payload]
        methods = [r.get("method") if isinstance(r, dict) else None for r in requests]
        with self._stats_lock:
            for method in methods:
                self._request_counts[method if isinstance(method, str) else "(invalid)"] += 1
            faults = self._faults
        if batch and not requests:
            return 200, {}, _dumps(_error(None, ErrorResponse(INVALID_REQUEST, "Invalid request")))

        targeted = faults.methods is None or any(m in faults.methods for m in methods)
        if targeted:
            delay = faults.latency
            if self._draw(faults, "latency_spike", faults.latency_spike_rate):
                delay += faults.latency_spike
            if delay > 0:
                time.sleep(delay)
            first_id = requests[0].get("id") if not batch and isinstance(requests[0], dict) else None
            if self._draw(faults, "rate_429", faults.rate_429):
                retry_after = faults.retry_after
                header = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
                return (
                    429,
                    {"Retry-After": header},
                    _dumps(
                        {
                            "jsonrpc": "2.0",
                            "error": {"code": 429, "message": RATE_LIMIT_MESSAGE},
                            "id": first_id,
                        }
                    ),
                )
            if self._draw(faults, "rate_5xx", faults.rate_5xx):
                return faults.status_5xx, {}, None
            if self._draw(faults, "rate_unhealthy", faults.rate_unhealthy):
                error = ErrorResponse(NODE_UNHEALTHY, "Node is behind by 42 slots", {"numSlotsBehind": 42})
                answers = [_error(r.get("id") if isinstance(r, dict) else None, error) for r in requests]
                return 200, {}, _dumps(answers if batch else answers[0])

        with self._stats_lock:
            self._served_counts.update(m if isinstance(m, str) else "(invalid)" for m in methods)
        answers = [self._answer(request) for request in requests]
        if "sendTransaction" in methods and self._draw(
            faults, "lose_send_response", faults.lose_send_response
        ):
            if faults.lose_mode == "close":
                return None, {}, None
            return int(faults.lose_mode), {}, None
        return 200, {}, _dumps(answers if batch else answers[0])

    def _answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(None, ErrorResponse(INVALID_REQUEST, "Invalid request"))
        request_id = request.get("id")
        try:
            result = self.rpc.call(request["method"], request.get("params"))
        except ErrorResponse as exc:
            return _error(request_id, exc)
        except Exception:
            logger.exception("localnet: %s failed", request["method"])
            return _error(request_id, ErrorResponse(INTERNAL_ERROR, "Internal error"))
        return {"jsonrpc": "2.0", "result": result, "id": request_id}


def _error(request_id: Any, error: ErrorResponse) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def start_localnet(
    port: int = 0,
    faults: dict[str, Any] | Faults | None = None,
    *,
    host: str = "127.0.0.1",
    slots_per_second: float = 2.5,
    blockhash_validity_slots: int = 150,
) -> Localnet:
    """Start a localnet HTTP server in a daemon thread (a free port when `port` is 0) and return it."""
    return Localnet(
        host,
        port,
        faults,
        slots_per_second=slots_per_second,
        blockhash_validity_slots=blockhash_validity_slots,
    ).start()


__all__ = ["FAULT_NAMES", "Faults", "Localnet", "parse_faults", "start_localnet"]
