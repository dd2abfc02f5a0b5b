"""Fixtures of the shop's side: a webhook receiver on 127.0.0.1."""

import pytest

from tests.support.webhooks import Receiver


@pytest.fixture
def receiver_server():
    server = Receiver()
    yield server
    server.stop()
