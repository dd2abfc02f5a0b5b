"""pytest fixtures for the localnet.

Registered as a `pytest11` entry point: installing the app makes these fixtures available to any test suite.

- `localnet_server` (session): one HTTP server for the whole run.
- `localnet` (function): that server with a fresh ledger, no faults and zeroed counts for each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import Localnet, start_localnet


@pytest.fixture(scope="session")
def localnet_server() -> Iterator[Localnet]:
    server = start_localnet()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def localnet(localnet_server: Localnet) -> Iterator[Localnet]:
    localnet_server.reset()
    try:
        yield localnet_server
    finally:
        localnet_server.clear_faults()


def post_json(url: str, payload: object, *, timeout: float = 10.0) -> tuple[int, dict[str, str], object]:
    """POST a JSON body with the standard library: (HTTP status, headers, decoded JSON body or None)."""
    import json
    import urllib.error
    import urllib.request

    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, headers, body = exc.code, dict(exc.headers), exc.read()
    return status, headers, (json.loads(body) if body else None)


@pytest.fixture
def localnet_rpc(localnet: Localnet):
    """`localnet_rpc(method, params=None, id=1)` -> the whole JSON-RPC response object from the localnet."""

    def call(method: str, params: list | None = None, id: object = 1) -> dict:  # noqa: A002
        status, _headers, body = post_json(
            localnet.url, {"jsonrpc": "2.0", "id": id, "method": method, "params": params or []}
        )
        assert status == 200, (status, body)
        return body  # type: ignore[return-value]

    return call


@pytest.fixture
def price_feed(localnet: Localnet):
    """`price_feed("SOL", Decimal("150"), confidence=..., publish_time=..., verification=...)` writes a Pyth
    price account on the localnet quoting that code in USD, at the address `PYTH_FEEDS` gives for it (or at
    a base58 address given instead of a code). Call it again to move the price."""
    from .prices import set_price_feed

    def put(code_or_address: str, price, **options):
        from solana_payments.conf import app_settings

        address = app_settings.PYTH_FEEDS.get(code_or_address, code_or_address)
        return set_price_feed(localnet, address, price, **options)

    return put
