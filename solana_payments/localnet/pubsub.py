"""The websocket side of the local node (PubSub), served on the port after the HTTP one, as real nodes do.

Subscriptions: accountSubscribe, signatureSubscribe, logsSubscribe, slotSubscribe and rootSubscribe, each
with its unsubscribe. Notifications have the shapes real nodes send and respect the requested commitment
(finalized by default): a signature or log notification goes out once the transaction reaches that level,
an account notification once every transaction that touched the account has. The server runs its own
asyncio loop in a daemon thread and watches the ledger a few times a second (the ledger has no callbacks:
LiteSVM executes synchronously under its lock).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from .encoding import SYSTEM_PROGRAM
from .ledger import Ledger
from .records import (
    COMMITMENT_LEVELS,
    FINALIZED,
    PROCESSED,
    TxRecord,
)
from .rpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    ErrorResponse,
    RpcHandlers,
    _pubkey,
    invalid_params,
)

logger = logging.getLogger(__name__)

MAX_SLOT_NOTIFICATIONS = 100  # per poll: a big jump of the clock sends the newest slots only
ROOT_DISTANCE = 32  # slots between the tip and the root on a node that votes every slot

_UNSUBSCRIBE = {
    "accountUnsubscribe": "account",
    "logsUnsubscribe": "logs",
    "rootUnsubscribe": "root",
    "signatureUnsubscribe": "signature",
    "slotUnsubscribe": "slot",
}


@dataclass(eq=False)
class Subscription:
    id: int
    kind: str  # account, logs, root, signature, slot
    level: int = FINALIZED
    config: dict[str, Any] = field(default_factory=dict)
    pubkey: Pubkey | None = None  # account
    signature: Signature | None = None  # signature
    mentions: Pubkey | None = None  # logs {"mentions": [...]}
    received: bool = False  # signature: enableReceivedNotification sent
    cursor: int = 0  # logs: index of the next transaction to look at
    last: Any = None  # account: state last notified; slot/root: last number notified
    generation: int = 0  # the ledger's chain it watched (a reset starts another)


def _commitment_level(config: dict[str, Any]) -> int:
    name = config.get("commitment")
    if name is None:
        return FINALIZED
    if name not in COMMITMENT_LEVELS:
        raise invalid_params(f"Invalid params: unknown variant `{name}`")
    return COMMITMENT_LEVELS[name]


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_params(f"Invalid params: expected a {name} object")
    return {key: item for key, item in value.items() if item is not None}


def _state(account: Account | None) -> tuple | None:
    if account is None:
        return None
    return (account.lamports, bytes(account.data), bytes(account.owner), account.executable)


class PubSubServer:
    """Websocket JSON-RPC subscriptions over a ledger, in a daemon thread with its own event loop."""

    def __init__(
        self, handlers: RpcHandlers, host: str = "127.0.0.1", port: int = 0, *, poll_interval: float = 0.05
    ) -> None:
        self.handlers = handlers
        self.ledger: Ledger = handlers.ledger
        self.host = host
        self.port = port
        self.poll_interval = poll_interval
        self._ids = itertools.count(1)
        self._connections: dict[ServerConnection, dict[int, Subscription]] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ------------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self) -> PubSubServer:
        self._thread = threading.Thread(target=self._run, name=f"solana-pubsub:{self.port}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start() when it happens while binding
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                logger.exception("localnet pubsub stopped")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._serve, self.host, self.port, ping_interval=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            watcher = asyncio.create_task(self._watch())
            await self._stop.wait()
            watcher.cancel()
            server.close()

    # ------------------------------------------------------------------------------------- requests

    async def _serve(self, connection: ServerConnection) -> None:
        subscriptions: dict[int, Subscription] = {}
        self._connections[connection] = subscriptions
        try:
            async for message in connection:
                answer = self._answer(message, subscriptions)
                await connection.send(json.dumps(answer, separators=(",", ":")))
                if answer.get("result") is not None and subscriptions:
                    await self._notify(connection, subscriptions)  # e.g. a signature already confirmed
        except ConnectionClosed:
            pass
        finally:
            self._connections.pop(connection, None)

    def _answer(self, message: str | bytes, subscriptions: dict[int, Subscription]) -> dict[str, Any]:
        try:
            request = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            return _error(None, ErrorResponse(PARSE_ERROR, "Parse error"))
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(None, ErrorResponse(INVALID_REQUEST, "Invalid request"))
        request_id = request.get("id")
        params = request.get("params") or []
        try:
            if not isinstance(params, list):
                raise invalid_params("Invalid params: expected an array of parameters")
            with self.ledger.lock:
                result = self._call(request["method"], params, subscriptions)
        except ErrorResponse as exc:
            return _error(request_id, exc)
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            return _error(request_id, invalid_params(f"Invalid params: {exc}"))
        return {"jsonrpc": "2.0", "result": result, "id": request_id}

    def _call(self, method: str, params: list, subscriptions: dict[int, Subscription]) -> Any:
        if method in _UNSUBSCRIBE:
            sub_id = params[0] if params else None
            sub = subscriptions.get(sub_id) if isinstance(sub_id, int) else None
            if sub is None or sub.kind != _UNSUBSCRIBE[method]:
                raise ErrorResponse(INVALID_PARAMS, "Invalid subscription id.")
            del subscriptions[sub_id]
            return True
        ledger = self.ledger
        ledger.sync()
        sub = Subscription(next(self._ids), "", generation=id(ledger.svm))
        if method == "accountSubscribe":
            sub.kind, sub.pubkey = "account", _pubkey(params[0] if params else None)
            sub.config = _object(params[1] if len(params) > 1 else None, "config")
            sub.level = _commitment_level(sub.config)
            sub.config.setdefault("encoding", "binary")
            sub.last = _state(ledger.get_account(sub.pubkey))
        elif method == "signatureSubscribe":
            try:
                sub.signature = Signature.from_string(params[0])
            except (ValueError, TypeError, IndexError):
                raise invalid_params("Invalid param: Invalid") from None
            sub.kind = "signature"
            sub.config = _object(params[1] if len(params) > 1 else None, "config")
            sub.level = _commitment_level(sub.config)
        elif method == "logsSubscribe":
            sub.kind = "logs"
            sub.mentions = self._logs_filter(params[0] if params else None)
            sub.config = _object(params[1] if len(params) > 1 else None, "config")
            sub.level = _commitment_level(sub.config)
            sub.cursor = len(ledger.records())
        elif method in ("slotSubscribe", "rootSubscribe"):
            sub.kind = "slot" if method == "slotSubscribe" else "root"
            sub.last = ledger.slot if sub.kind == "slot" else self._root()
        else:
            raise ErrorResponse(METHOD_NOT_FOUND, "Method not found")
        subscriptions[sub.id] = sub
        return sub.id

    @staticmethod
    def _logs_filter(value: Any) -> Pubkey | None:
        if value in ("all", "allWithVotes"):
            return None
        if isinstance(value, dict) and isinstance(value.get("mentions"), list):
            mentions = value["mentions"]
            if len(mentions) != 1:
                raise invalid_params("Invalid Request: Only 1 address supported")
            return _pubkey(mentions[0])
        raise invalid_params('Invalid params: expected "all", "allWithVotes" or {"mentions": [address]}')

    # -------------------------------------------------------------------------------- notifications

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            for connection, subscriptions in list(self._connections.items()):
                if subscriptions:
                    try:
                        await self._notify(connection, subscriptions)
                    except ConnectionClosed:
                        self._connections.pop(connection, None)
                    except Exception:
                        logger.exception("localnet pubsub: notification failed")

    async def _notify(self, connection: ServerConnection, subscriptions: dict[int, Subscription]) -> None:
        with self.ledger.lock:
            self.ledger.sync()
            messages = []
            for sub in list(subscriptions.values()):
                messages += self._due(sub, subscriptions)
        for method, sub_id, result in messages:
            payload = {
                "jsonrpc": "2.0",
                "method": method,
                "params": {"result": result, "subscription": sub_id},
            }
            await connection.send(json.dumps(payload, separators=(",", ":")))

    def _root(self) -> int:
        return max(self.ledger.first_slot, self.ledger.slot - ROOT_DISTANCE)

    def _due(self, sub: Subscription, subscriptions: dict[int, Subscription]) -> list[tuple[str, int, Any]]:
        """The notifications `sub` is owed now, as (method, subscription id, result)."""
        ledger = self.ledger
        generation = id(ledger.svm)
        if sub.generation != generation:  # the chain was reset: start watching the new one
            sub.generation, sub.cursor = generation, 0
        slot = ledger.slot
        if sub.kind == "slot":
            first = max(sub.last + 1, slot - MAX_SLOT_NOTIFICATIONS + 1)
            sub.last = max(sub.last, slot)
            root = self._root()
            return [
                ("slotNotification", sub.id, {"parent": s - 1, "root": min(root, s), "slot": s})
                for s in range(first, slot + 1)
            ]
        if sub.kind == "root":
            root = self._root()
            if root <= sub.last:
                return []
            sub.last = root
            return [("rootNotification", sub.id, root)]
        if sub.kind == "signature":
            return self._signature_due(sub, subscriptions)
        if sub.kind == "logs":
            return self._logs_due(sub)
        return self._account_due(sub, slot)

    def _signature_due(self, sub: Subscription, subscriptions: dict[int, Subscription]) -> list:
        record = self.ledger.get_record(sub.signature)
        if record is None:
            return []
        out = []
        if sub.config.get("enableReceivedNotification") and not sub.received:
            sub.received = True
            out.append(("signatureNotification", sub.id, _context(record.slot, "receivedSignature")))
        if self.ledger.commitment_of(record) >= sub.level:
            subscriptions.pop(sub.id, None)  # a signature subscription ends with its notification
            out.append(("signatureNotification", sub.id, _context(record.slot, {"err": record.err_json})))
        return out

    def _logs_due(self, sub: Subscription) -> list:
        records = self.ledger.records()
        out = []
        while sub.cursor < len(records):
            record: TxRecord = records[sub.cursor]
            if self.ledger.commitment_of(record) < sub.level:
                break  # transactions reach each level in the order they ran
            sub.cursor += 1
            if sub.mentions is None or sub.mentions in record.account_keys:
                value = {
                    "err": record.err_json,
                    "logs": list(record.logs),
                    "signature": str(record.signature),
                }
                out.append(("logsNotification", sub.id, _context(record.slot, value)))
        return out

    def _account_due(self, sub: Subscription, slot: int) -> list:
        ledger = self.ledger
        account = ledger.get_account(sub.pubkey)
        state = _state(account)
        if state == sub.last:
            return []
        newest = ledger.signatures_for_address(sub.pubkey, limit=1, min_commitment=PROCESSED)
        if newest and ledger.commitment_of(newest[0]) < sub.level:
            return []  # the change is not yet at the subscription's commitment
        sub.last = state
        shown = account if account is not None else Account(0, b"", SYSTEM_PROGRAM)
        value = self.handlers._account(shown, sub.config)
        return [("accountNotification", sub.id, _context(newest[0].slot if newest else slot, value))]


def _context(slot: int, value: Any) -> dict[str, Any]:
    return {"context": {"slot": slot}, "value": value}


def _error(request_id: Any, error: ErrorResponse) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


__all__ = ["PubSubServer", "Subscription"]
