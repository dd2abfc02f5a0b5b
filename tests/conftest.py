import pytest
from cryptography.fernet import Fernet
from solders.keypair import Keypair

from solana_payments.models import PaymentToken, TokenProgram

pytest_plugins = ["tests.support.browser", "tests.support.cluster"]  # browser and cluster fixtures

TEST_FERNET_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache (throttles, dashboard figures, the webhook endpoints)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def fee_payer():
    return Keypair()


@pytest.fixture
def receiver():
    return Keypair().pubkey()


@pytest.fixture(autouse=True)
def solana_settings(settings, fee_payer, receiver):
    """A valid configuration that talks to no chain (token accounts are not created on payment)."""
    settings.SOLANA_PAYMENTS = {
        "RPC_URL": "http://127.0.0.1:9",
        "RECEIVER_ADDRESS": str(receiver),
        "FEE_PAYER_KEYPAIR": list(bytes(fee_payer)),
        "ONE_TIME_WALLETS_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "CREATE_ATAS_ON_PAYMENT": False,
        # The HTTP rate source is asked only where a test starts a fake one: never the public service.
        "COINGECKO_URL": "http://127.0.0.1:9/api/v3",
    }
    return settings.SOLANA_PAYMENTS


@pytest.fixture
def configure(settings):
    """Change some SOLANA_PAYMENTS values for one test: ``configure(RPC_URL=...)``."""

    def apply(**values):
        settings.SOLANA_PAYMENTS = {**settings.SOLANA_PAYMENTS, **values}
        return settings.SOLANA_PAYMENTS

    return apply


@pytest.fixture
def tokens(db):
    """SOL, a USDC-like Token mint and a PYUSD-like Token-2022 mint (addresses need not exist on chain)."""
    return {
        "SOL": PaymentToken.objects.create(symbol="SOL", name="Solana", decimals=9),
        "USDC": PaymentToken.objects.create(
            symbol="USDC",
            name="USD Coin",
            mint=str(Keypair().pubkey()),
            token_program=TokenProgram.TOKEN,
            decimals=6,
        ),
        "PYUSD": PaymentToken.objects.create(
            symbol="PYUSD",
            name="PayPal USD",
            mint=str(Keypair().pubkey()),
            token_program=TokenProgram.TOKEN_2022,
            decimals=6,
        ),
    }


@pytest.fixture
def shop(db, localnet, configure, receiver):
    """The app configured against a fresh localnet ledger, with SOL, USDC-like and PYUSD-like tokens."""
    from tests.support.shop import Shop, make_tokens

    configure(
        RPC_URL=localnet.url,
        FEE_PAYER_KEYPAIR=list(bytes(localnet.fee_payer)),
        CREATE_ATAS_ON_PAYMENT=True,
        RPC_MAX_RETRY_SECONDS=20,
        LOCALNET=True,
    )
    return Shop(localnet=localnet, receiver=receiver, tokens=make_tokens(localnet))


@pytest.fixture
def q_cluster(transactional_db, settings):
    """A real django-q2 cluster (ORM broker, forked worker processes) on the test's file database."""
    import time

    from django.db import connections
    from django_q.brokers import get_broker
    from django_q.cluster import Cluster

    connections.close_all()
    cluster = Cluster(get_broker())
    cluster.start()
    deadline = time.monotonic() + 30
    while not cluster.is_running and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield cluster
    finally:
        cluster.stop()
