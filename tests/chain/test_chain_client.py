"""ChainClient over HTTP against a small scripted JSON-RPC server: retries, Retry-After, bad bodies, sends.

The behaviour against the real local chain (LiteSVM) is in test_chain_localnet.py; this server only
plays back answers a real node or proxy can give (HTML error pages, truncated bodies, lost responses), which
a correct local chain never does by itself.
"""

import base64
import json
import threading
import time

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from solana_payments.chain.client import ChainClient
from solana_payments.chain.commitment import status_reached
from solana_payments.chain.urls import redact_url
from solana_payments.chain_client import chain_client
from solana_payments.exceptions import (
    BadResponse,
    ChainError,
    ChainUnavailable,
    RpcError,
    SendOutcomeUnknown,
    TransactionAlreadyProcessed,
    TransactionFailed,
)
from tests.support.scripted import (
    ScriptedServer,
    accounts_result,
    client_for,
    closed_port_url,
    ok,
    rpc_error,
    signed_tx,
)

ACCOUNT = {
    "data": ["", "base64"],
    "executable": False,
    "lamports": 7,
    "owner": "11111111111111111111111111111111",
    "rentEpoch": 0,
    "space": 0,
}


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    """Shorter pauses between retries keep the suite fast; Retry-After still sets the pace when sent."""
    monkeypatch.setattr("solana_payments.chain.transport.BACKOFF_BASE", 0.02)


@pytest.fixture
def serve():
    servers = []

    def start(handler):
        server = ScriptedServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# -- URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://api.mainnet-beta.solana.com", "https://api.mainnet-beta.solana.com"),
        ("https://user:pass@rpc.example.com:8899/", "https://rpc.example.com:8899/"),
        ("https://mainnet.helius-rpc.com/?api-key=1234-abcd", "https://mainnet.helius-rpc.com/?***"),
        (
            "https://solana-mainnet.g.alchemy.com/v2/AbCdEf0123456789xyzXYZ",
            "https://solana-mainnet.g.alchemy.com/v2/***",
        ),
        (
            "https://x.solana-mainnet.quiknode.pro/0123456789abcdef0123456789abcdef01234567/",
            "https://x.solana-mainnet.quiknode.pro/***/",
        ),
        ("http://127.0.0.1:8899", "http://127.0.0.1:8899"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_constructor_validates_and_never_connects_at_creation():
    with pytest.raises(ValueError, match="http"):
        ChainClient("ftp://example.com")
    with pytest.raises(ValueError, match="commitment"):
        ChainClient("http://127.0.0.1:1", commitment="max")
    client = ChainClient("http://127.0.0.1:1")
    assert client._thread is None  # nothing started until the first call
    client.close()
    with pytest.raises(RuntimeError):
        client.call("getSlot")


def test_chain_client_from_settings(settings):
    settings.SOLANA_PAYMENTS = dict(
        RPC_URL="http://127.0.0.1:1/",
        RPC_COMMITMENT="finalized",
        RPC_CONCURRENCY=7,
        RPC_RATE_LIMIT=3,
        RPC_MAX_RETRY_SECONDS=2,
        RPC_TIMEOUT=4,
        RPC_HEADERS={"Authorization": "Bearer x"},
    )
    with chain_client() as client:
        assert (client.commitment, client.concurrency, client.rate_limit) == ("finalized", 7, 3.0)
        assert (client.max_retry_seconds, client.timeout, client.headers) == (
            2.0,
            4.0,
            {"Authorization": "Bearer x"},
        )
    with chain_client(max_retry_seconds=0.5) as client:
        assert client.max_retry_seconds == 0.5
    settings.SOLANA_PAYMENTS = {}
    with pytest.raises(ChainError, match="RPC_URL"):
        chain_client()


def test_headers_are_sent(serve):
    seen = []

    class Handler:
        def __call__(self, request):
            return ok(request, 42)

    server = serve(Handler())
    original = server.httpd.RequestHandlerClass.do_POST

    def do_post(handler):
        seen.append(handler.headers.get("Authorization"))
        original(handler)

    server.httpd.RequestHandlerClass.do_POST = do_post
    with client_for(server, headers={"Authorization": "Bearer t0ken"}) as client:
        assert client.call("getSlot") == 42
    assert seen == ["Bearer t0ken"]


# -- endpoint down ---------------------------------------------------------------------------------


def test_endpoint_down_raises_chain_unavailable_within_bound_without_credentials():
    url = closed_port_url()
    with client_for(url, max_retry_seconds=1.0) as client:
        started = time.monotonic()
        with pytest.raises(ChainUnavailable) as info:
            client.call("getSlot")
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    message = str(info.value)
    assert "secret" not in message and "topsecret" not in message and "abcdef0123456789" not in message
    assert "127.0.0.1" in message and "ConnectError" in message
    assert info.value.attempts >= 2
    assert client.stats.retries == info.value.attempts - 1
    assert client.stats.errors == info.value.attempts
    assert client.stats.calls_by_method["getSlot"] == info.value.attempts


def test_health_reports_instead_of_raising():
    with client_for(closed_port_url(), max_retry_seconds=10) as client:
        started = time.monotonic()
        health = client.health()
    assert time.monotonic() - started < 2
    assert not health.ok and "unavailable" in health.error and "secret" not in health.error


# -- retries ---------------------------------------------------------------------------------------


def test_retry_after_is_honoured_and_counted(serve):
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            return (
                429,
                {"Retry-After": "1"},
                {
                    "jsonrpc": "2.0",
                    "id": request["id"],
                    "error": {"code": 429, "message": "Too many requests"},
                },
            )
        return ok(request, accounts_result(request))

    server = serve(handler)
    with client_for(server) as client:
        accounts = client.get_accounts([Keypair().pubkey()])
    assert accounts[0].lamports == 7
    assert server.times[1] - server.times[0] >= 0.95
    assert client.stats.retries == 1 and client.stats.rate_limited == 1
    assert client.stats.calls_by_method["getMultipleAccounts"] == 2 and client.stats.requests == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_http_errors_are_retried(serve, status):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) < 3:
            return (
                status,
                {"Content-Type": "text/html", "Retry-After": "0"},
                "<html><h1>Bad gateway</h1></html>",
            )
        return ok(request, 5)

    with client_for(serve(handler)) as client:
        assert client.call("getSlot") == 5
    assert client.stats.retries == 2 and client.stats.errors == 2


def test_node_unhealthy_is_retried(serve):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return rpc_error(request, -32005, "Node is behind by 42 slots", {"numSlotsBehind": 42})
        return ok(request, 9)

    with client_for(serve(handler)) as client:
        assert client.call("getSlot") == 9
        assert client.stats.retries == 1


def test_persistent_5xx_gives_up_with_chain_unavailable(serve):
    server = serve(lambda request: (503, {"Content-Type": "text/html"}, "<html>down for maintenance</html>"))
    with client_for(server, max_retry_seconds=0.6) as client:
        with pytest.raises(ChainUnavailable, match="HTTP 503"):
            client.call("getSlot")
    assert len(server.requests) >= 2


def test_other_rpc_errors_are_not_retried(serve):
    server = serve(lambda request: rpc_error(request, -32602, "Too many inputs provided; max 100"))
    with client_for(server) as client:
        with pytest.raises(RpcError) as info:
            client.call("getSlot")
    assert info.value.code == -32602 and len(server.requests) == 1


def test_forbidden_is_unavailable_at_once(serve):
    server = serve(lambda request: (403, {}, "forbidden"))
    with client_for(server) as client:
        with pytest.raises(ChainUnavailable, match="HTTP 403"):
            client.call("getSlot")
    assert len(server.requests) == 1


# -- bad bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>Cloudflare</body></html>",
        '{"jsonrpc": "2.0", "id": 1, "res',
        "",
        '"just a string"',
        '{"jsonrpc": "2.0", "id": 1, "result": {"context": {"slot": 1}, "value": "nonsense"}}',
    ],
)
def test_garbage_bodies_raise_a_clear_chain_error(serve, body):
    server = serve(lambda request: (200, {"Content-Type": "text/html"}, body))
    with client_for(server) as client:
        with pytest.raises(ChainError) as info:
            client.get_accounts([Keypair().pubkey()])
    assert isinstance(info.value, BadResponse)
    assert "getMultipleAccounts" in str(info.value)
    assert not isinstance(info.value.__cause__, json.JSONDecodeError)


def test_truncated_body_is_retried_then_unavailable(serve):
    server = serve(lambda request: (200, {"X-Truncate": "1"}, ok(request, accounts_result(request))[2]))
    with client_for(server, max_retry_seconds=0.5) as client:
        with pytest.raises(ChainUnavailable):
            client.get_accounts([Keypair().pubkey()])


# -- batching and concurrency ---------------------------------------------------------------------


def test_get_accounts_batches_by_100_in_order_and_concurrently(serve):
    in_flight, peak = [0], [0]
    lock = threading.Lock()

    def handler(request):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        keys = request["params"][0]
        value = [dict(ACCOUNT, lamports=index) for index, _ in enumerate(keys)]
        with lock:
            in_flight[0] -= 1
        return ok(request, {"context": {"slot": 1}, "value": value})

    server = serve(handler)
    keys = [Keypair().pubkey() for _ in range(250)]
    with client_for(server, concurrency=2) as client:
        accounts = client.get_accounts(keys)
    assert [len(r["params"][0]) for r in server.requests] == [100, 100, 50]
    sent = [k for r in sorted(server.requests, key=lambda r: r["id"]) for k in r["params"][0]]
    assert sorted(sent) == sorted(str(k) for k in keys)
    assert [a.lamports for a in accounts] == list(range(100)) + list(range(100)) + list(range(50))
    assert peak[0] == 2
    assert server.requests[0]["params"][1]["encoding"] == "base64"


def test_submit_runs_beside_the_callers_requests_within_the_bound(serve):
    """A call started with submit() and the caller's own share the client's bound; close() waits for it."""
    in_flight, peak = [0], [0]
    lock = threading.Lock()

    def handler(request):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.2)
        with lock:
            in_flight[0] -= 1
        return ok(request, accounts_result(request))

    server = serve(handler)
    client = client_for(server, concurrency=3)
    started = time.monotonic()
    background = client.submit(client.get_accounts, [Keypair().pubkey() for _ in range(200)])
    assert len(client.get_accounts([Keypair().pubkey() for _ in range(100)])) == 100
    later = client.submit(client.get_accounts, [Keypair().pubkey() for _ in range(100)])
    client.close()  # waits for what was submitted
    assert later.done() and len(later.result()) == 100 and len(background.result()) == 200
    assert peak[0] == 3 and len(server.requests) == 4
    assert time.monotonic() - started < 0.2 * 4 - 0.05  # not one after another
    with pytest.raises(RuntimeError):
        client.submit(client.get_block_height)


def test_signature_statuses_256_a_call(serve):
    def handler(request):
        sigs = request["params"][0]
        assert request["params"][1]["searchTransactionHistory"] is True
        return ok(
            request,
            {
                "context": {"slot": 1},
                "value": [
                    {
                        "slot": 1,
                        "confirmations": None,
                        "err": None,
                        "status": {"Ok": None},
                        "confirmationStatus": "finalized",
                    }
                    for _ in sigs
                ],
            },
        )

    server = serve(handler)
    sigs = [str(signed_tx().signatures[0]) for _ in range(300)]
    with client_for(server) as client:
        statuses = client.get_signature_statuses(sigs)
    assert sorted(len(r["params"][0]) for r in server.requests) == [44, 256]
    assert len(statuses) == 300 and all(status_reached(s, "finalized") for s in statuses)


def test_call_batch_counts_each_method(serve):
    def handler(body):
        assert isinstance(body, list)
        answers = [{"jsonrpc": "2.0", "id": item["id"], "result": index} for index, item in enumerate(body)]
        answers[1] = {"jsonrpc": "2.0", "id": body[1]["id"], "error": {"code": -32601, "message": "nope"}}
        return 200, {}, list(reversed(answers))

    with client_for(serve(handler)) as client:
        results = client.call_batch([("getSlot", None), ("getFoo", []), ("getSlot", None)])
    assert results[0] == 0 and isinstance(results[1], RpcError) and results[2] == 2
    assert client.stats.calls_by_method == {"getSlot": 2, "getFoo": 1}
    assert client.stats.requests == 1


def test_client_side_rate_limit(serve):
    server = serve(lambda request: ok(request, []))
    with client_for(server, rate_limit=10, concurrency=4) as client:
        started = time.monotonic()
        client.get_signatures_for_addresses([Keypair().pubkey() for _ in range(6)])
        elapsed = time.monotonic() - started
    assert elapsed >= 0.45  # 6 requests at 10/s: the last starts 0.5 s after the first


# -- sending ---------------------------------------------------------------------------------------


def test_send_returns_the_signature(serve):
    tx = signed_tx()
    server = serve(lambda request: ok(request, str(tx.signatures[0])))
    with client_for(server) as client:
        assert client.send_transaction(tx) == str(tx.signatures[0])
    params = server.requests[0]["params"]
    assert params[1]["encoding"] == "base64" and params[1]["skipPreflight"] is False


def test_send_lost_response_is_not_resent(serve):
    tx = signed_tx()
    server = serve(lambda request: (200, {}, "DROP"))
    with client_for(server) as client:
        with pytest.raises(SendOutcomeUnknown) as info:
            client.send_transaction(tx)
    assert info.value.signature == str(tx.signatures[0])
    assert len(server.requests) == 1


def test_send_transactions_overlap_each_sent_once_results_in_order(serve):
    """Up to ``concurrency`` sends in flight; each transaction sent once; an error is its entry, not raised."""
    txs = [signed_tx() for _ in range(9)]
    failing, lost = str(txs[2].signatures[0]), str(txs[5].signatures[0])
    in_flight, peak = [0], [0]
    lock = threading.Lock()

    def handler(request):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        signature = str(VersionedTransaction.from_bytes(base64.b64decode(request["params"][0])).signatures[0])
        if signature == failing:
            return rpc_error(
                request, -32002, "Transaction simulation failed", {"err": "AccountNotFound", "logs": []}
            )
        if signature == lost:
            return 200, {}, "DROP"
        return ok(request, signature)

    server = serve(handler)
    with client_for(server, concurrency=3) as client:
        results = client.send_transactions(txs)
    assert peak[0] == 3
    assert len(server.requests) == 9  # nothing sent twice, the lost answer included
    for tx, result in zip(txs, results, strict=True):
        signature = str(tx.signatures[0])
        if signature == failing:
            assert isinstance(result, TransactionFailed) and result.signature == signature
        elif signature == lost:
            assert isinstance(result, SendOutcomeUnknown) and result.signature == signature
        else:
            assert result == signature


def test_send_transactions_stop_once_the_node_is_unreachable(serve):
    """A node that turns the client away (HTTP 401): the sends under way end, no other one starts."""
    server = serve(lambda request: (401, {}, "unauthorized"))
    with client_for(server, concurrency=2) as client:
        results = client.send_transactions([signed_tx() for _ in range(12)])
    assert all(isinstance(r, ChainUnavailable) for r in results)
    assert len(server.requests) <= 4  # the senders' first ones (two per request in flight), nothing after


@pytest.mark.parametrize("what", ["reads", "sends"])
def test_requests_in_flight_keep_to_the_rate_limit(serve, what):
    """Requests in flight together start no closer than the rate limit allows, even after a stall."""
    slow = set()

    def handler(request):
        if len(slow) < 2:  # the first two hold both slots a while: the others queue up behind them
            slow.add(request["id"])
        if request["id"] in slow:
            time.sleep(0.4)
        if what == "reads":
            return ok(request, accounts_result(request))
        signature = VersionedTransaction.from_bytes(base64.b64decode(request["params"][0])).signatures[0]
        return ok(request, str(signature))

    server = serve(handler)
    with client_for(server, concurrency=2, rate_limit=20) as client:
        if what == "reads":
            assert len(client.get_accounts([Keypair().pubkey() for _ in range(800)])) == 800
        else:
            assert len(set(client.send_transactions([signed_tx() for _ in range(8)]))) == 8
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert len(server.requests) == 8 and min(gaps) >= 0.04, gaps  # 20 a second: one every 50 ms


@pytest.mark.parametrize("status", [502, 503, 504])
def test_send_5xx_is_outcome_unknown_not_resent(serve, status):
    server = serve(lambda request: (status, {}, "upstream error"))
    with client_for(server) as client:
        with pytest.raises(SendOutcomeUnknown):
            client.send_transaction(signed_tx())
    assert len(server.requests) == 1


def test_send_garbage_answer_is_outcome_unknown(serve):
    server = serve(lambda request: (200, {}, "<html>oops</html>"))
    with client_for(server) as client:
        with pytest.raises(SendOutcomeUnknown):
            client.send_transaction(signed_tx())


def test_send_refused_requests_are_retried(serve):
    """429 and -32005 mean the node did nothing: repeating the same signed bytes is safe."""
    tx = signed_tx()
    answers = [
        lambda r: (429, {"Retry-After": "0"}, "slow down"),
        lambda r: rpc_error(r, -32005, "Node is unhealthy"),
        lambda r: ok(r, str(tx.signatures[0])),
    ]
    server = serve(lambda request: answers[len(server.requests) - 1](request))
    with client_for(server) as client:
        assert client.send_transaction(tx) == str(tx.signatures[0])
    assert len(server.requests) == 3
    assert len({r["params"][0] for r in server.requests}) == 1


def test_send_connection_refused_is_retried_then_unavailable():
    with client_for(closed_port_url(), max_retry_seconds=0.5) as client:
        with pytest.raises(ChainUnavailable):
            client.send_transaction(signed_tx())


def test_send_preflight_failure(serve):
    logs = [
        "Program 11111111111111111111111111111111 invoke [1]",
        "Transfer: insufficient lamports 1, need 2",
    ]
    server = serve(
        lambda request: rpc_error(
            request,
            -32002,
            "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1",
            {
                "err": {"InstructionError": [0, {"Custom": 1}]},
                "logs": logs,
                "accounts": None,
                "unitsConsumed": 0,
            },
        )
    )
    tx = signed_tx()
    with client_for(server) as client:
        with pytest.raises(TransactionFailed) as info:
            client.send_transaction(tx)
    assert info.value.signature == str(tx.signatures[0])
    assert info.value.err == {"InstructionError": [0, {"Custom": 1}]}
    assert info.value.logs == logs
    assert len(server.requests) == 1


def test_send_already_processed_is_distinct(serve):
    server = serve(
        lambda request: rpc_error(
            request,
            -32002,
            "Transaction simulation failed: This transaction has already been processed",
            {"err": "AlreadyProcessed", "logs": [], "accounts": None},
        )
    )
    tx = signed_tx()
    with client_for(server) as client:
        with pytest.raises(TransactionAlreadyProcessed) as info:
            client.send_transaction(tx)
    assert not isinstance(info.value, TransactionFailed)
    assert info.value.signature == str(tx.signatures[0])


def test_send_refuses_an_unsigned_transaction():
    payer = Keypair()
    message = MessageV0.try_compile(payer.pubkey(), [], [], Hash.new_unique())
    unsigned = VersionedTransaction.populate(message, [Signature.default()])
    with client_for("http://127.0.0.1:1") as client:
        with pytest.raises(ValueError):
            client.send_transaction(unsigned)


def test_confirm_polls_until_commitment(serve):
    tx = signed_tx()
    sig = str(tx.signatures[0])
    levels = iter([None, "processed", "confirmed"])

    def handler(request):
        level = next(levels, "confirmed")
        status = (
            None
            if level is None
            else {
                "slot": 3,
                "confirmations": 1,
                "err": None,
                "status": {"Ok": None},
                "confirmationStatus": level,
            }
        )
        return ok(request, {"context": {"slot": 3}, "value": [status]})

    server = serve(handler)
    with client_for(server) as client:
        result = client.confirm([sig], commitment="confirmed", timeout=5, poll_interval=0.01)
    assert status_reached(result[sig], "confirmed") and not status_reached(result[sig], "finalized")
    assert len(server.requests) == 3


def test_confirm_returns_failures_and_times_out(serve):
    failed, unknown = str(signed_tx().signatures[0]), str(signed_tx().signatures[0])

    def handler(request):
        value = []
        for sig in request["params"][0]:
            value.append(
                {
                    "slot": 3,
                    "confirmations": 0,
                    "err": {"InstructionError": [0, {"Custom": 1}]},
                    "status": {"Err": {"InstructionError": [0, {"Custom": 1}]}},
                    "confirmationStatus": "processed",
                }
                if sig == failed
                else None
            )
        return ok(request, {"context": {"slot": 3}, "value": value})

    with client_for(serve(handler)) as client:
        started = time.monotonic()
        result = client.confirm([failed, unknown], timeout=0.3, poll_interval=0.05)
    assert time.monotonic() - started < 2
    assert result[failed].err is not None and result[unknown] is None
