"""The demo mints are seeded in the database as payment tokens, idempotently, matching the chain."""

import pytest

from solana_payments.chain.client import ChainClient
from solana_payments.demo_data import seed_tokens
from solana_payments.models import PaymentToken

pytestmark = pytest.mark.django_db


def test_seed_tokens_matches_the_chain_and_is_idempotent(localnet):
    seed_tokens(localnet.mints)
    seed_tokens(localnet.mints)
    tokens = {t.symbol: t for t in PaymentToken.objects.all()}
    assert set(tokens) == {"SOL", "USDC", "PYUSD"}
    assert tokens["SOL"].mint is None
    with ChainClient(localnet.url) as chain:
        for symbol, program in (("USDC", "token"), ("PYUSD", "token-2022")):
            (info,) = chain.get_mints([tokens[symbol].mint])
            assert info.decimals == tokens[symbol].decimals == 6
            assert tokens[symbol].token_program == program
            assert str(info.token_program).startswith("Token" if program == "token" else "TokenzQd")
