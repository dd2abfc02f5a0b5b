"""The app's settings, read lazily from ``settings.SOLANA_PAYMENTS``.

Like ``rest_framework.settings``: a value is looked up when it is first accessed, merged over
``DEFAULTS`` and cached; ``reload()`` runs on ``setting_changed`` so ``override_settings`` works.
Validation lives in ``checks.py`` as system checks, never here at import time.
"""

from django.conf import settings
from django.core.signals import setting_changed

SETTINGS_NAME = "SOLANA_PAYMENTS"

DEFAULTS = {
    # Chain access
    "RPC_URL": None,
    "RPC_COMMITMENT": "confirmed",
    "RPC_TIMEOUT": 10.0,
    "RPC_RATE_LIMIT": 0,  # requests per second, 0 = unlimited
    "RPC_MAX_RETRY_SECONDS": 30.0,  # give up with ChainUnavailable after this long
    "RPC_CONCURRENCY": 4,  # concurrent requests one client keeps in flight
    "RPC_HEADERS": {},  # extra HTTP headers of every RPC request (an RPC provider's API key)
    "LOCALNET": False,  # True when RPC_URL is the project's own LiteSVM endpoint (demo, tests)
    # Wallets and money
    "RECEIVER_ADDRESS": None,
    "FEE_PAYER_KEYPAIR": None,
    "REFUND_WALLET_KEYPAIR": None,  # pays refunds of money already swept out of its wallet (None: refused)
    "REFUND_WALLET_LOW_BALANCE_LAMPORTS": 100_000_000,  # the dashboard warns below this
    # Four-eyes approval: {token symbol: amount in token units}; a run from the admin or a command that
    # would move more of a token waits for a second person (every refund waits, whatever the amount).
    "APPROVAL_THRESHOLDS": {},
    "APPROVAL_WINDOW_SECONDS": 24 * 3600,  # what a requester's runs moved this long counts toward a threshold
    "ONE_TIME_WALLETS_ENCRYPTION_KEY": None,
    "PAYMENT_ACCEPTANCE_COMMITMENT": "confirmed",
    "PAYMENT_VALIDITY_SECONDS": 15 * 60,
    "PAYMENT_MAX_VALIDITY_SECONDS": 7 * 24 * 3600,  # the longest expires_in create_payment accepts
    "LATE_PAYMENT_WINDOW": 7 * 24 * 3600,  # a full payment this long after expiry is still accepted
    "WATCH_WINDOW": 30 * 24 * 3600,  # quiet wallets are re-read this long after their last activity
    "WATCH_BATCH_SIZE": 1000,  # quiet wallets each recheck run re-reads, oldest-checked first
    # Transfers below this (token units, per symbol) are dust: recorded and swept, deciding nothing. A token
    # not named here: 1% of the price, and for SOL at most 0.001 SOL.
    "DUST_THRESHOLDS": {},
    "HOLD_FLAGGED_FUNDS": (),  # exceptions whose funds stay in the wallet instead of being swept
    "PAYMENT_TOLERANCE_PERCENT": 0,  # a payment short by no more than this settles (underpaid_within_tolerance)
    "CREATE_ATAS_ON_PAYMENT": True,
    "MAX_ATAS_PER_TX": 6,
    "PRIORITY_FEE_MICROLAMPORTS": 0,
    "ON_PAYMENT_ACCEPTED": None,  # dotted path to a callable(payment)
    # Operations and jobs
    "SCHEDULES": {},
    "OPERATIONS": (),  # dotted paths of the project's own Operation subclasses (see operations/registry.py)
    "PROGRESS_EVERY_SECONDS": 2.0,
    "CONFIRM_TIMEOUT_SECONDS": 60.0,  # how long a run waits for its transactions to confirm
    # Prices in the shop's currency (create_payment(price=..., currency=..., tokens=[...]))
    "RATE_SOURCES": [  # tried in order for each rate; a source that fails or is stale hands over to the next
        "solana_payments.rates.pyth.PythRates",
        "solana_payments.rates.coingecko.CoinGeckoRates",
    ],
    # Pyth PriceUpdateV2 accounts (mainnet push-oracle feeds, shard 0), each quoting one asset in USD.
    "PYTH_FEEDS": {
        "SOL": "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE",  # SOL/USD
        "USDC": "Dpw1EAVrSB1ibxiDQyTAW6Zip3J4Btk2x4SgApQCeFbX",  # USDC/USD
        "PYUSD": "9zXQxpYH3kYhtoybmZfUNNCRVuud7fY9jswTg1hLyT8k",  # PYUSD/USD
        "EUR": "Fu76ChamBDjE8UuGLV6GP2AcPPSU6gjhkNhAyuoPm7ny",  # EUR/USD
    },
    "RATE_MAX_AGE_SECONDS": 120,  # an older rate is stale: an error of its source, never a price
    "RATE_MAX_CONFIDENCE_PERCENT": 1.0,  # a wider confidence interval (relative to the price) is refused
    "COINGECKO_URL": "https://api.coingecko.com/api/v3",  # the HTTP fallback's simple-price API
    "COINGECKO_IDS": {"SOL": "solana", "USDC": "usd-coin", "PYUSD": "paypal-usd"},
    "RATE_TIMEOUT": 5.0,  # seconds each rate source gets (the feeds' RPC read too) before the next is asked
    "PEGGED_TOKENS": {"USDC": "USD", "PYUSD": "USD"},  # stablecoins and the currency they are pegged to
    "PEG_BAND_PERCENT": 0.5,  # within this of its peg, a stablecoin is priced at par
    # Admin
    "EXPLORER_URL": "https://explorer.solana.com/tx/{signature}?cluster={cluster}",
    "CLUSTER": "mainnet-beta",
    "DASHBOARD_CACHE_SECONDS": 15,
    "FEE_PAYER_LOW_BALANCE_LAMPORTS": 50_000_000,
    # The shop's side: checkout, status endpoint, create endpoint, webhooks
    "SOLANA_PAY_LABEL": "",  # label of transfer requests for payments without one (e.g. the shop's name)
    # The checkout watch reads every open checkout's wallet at most this often, all in one batched read
    # (0 = the shop's pages never read the chain; the scheduled recheck still settles).
    "STATUS_CHAIN_CHECK_SECONDS": 1,
    "STATUS_RATE_LIMIT": 60,  # status requests a client may make per minute (0 = unlimited)
    "CHECKOUT_HOLD_SECONDS": 20,  # a status request is held this long at most for news (0 = no long polling)
    "CHECKOUT_POLL_SECONDS": 3,  # how often the checkout page asks when requests are not held
    "CREATE_PAYMENT_PERMISSION": None,  # dotted path of a callable(request) -> bool; None: no create endpoint
    "WEBHOOK_TIMEOUT": 10.0,  # seconds per delivery attempt
    "WEBHOOK_RETRY_SECONDS": 24 * 3600,  # how long a failing delivery is retried
    "WEBHOOK_BACKOFF_SECONDS": 30,  # the first retry's delay; it doubles each time, up to an hour
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": False,  # True lets endpoints be loopback/private addresses (the demo)
    # Big tables
    "EXPORT_BACKGROUND_THRESHOLD": 10_000,  # rows above which an admin export runs on django-q2
    "EXPORT_DIRECTORY": None,  # private directory of background exports (None: <tempdir>/solana_payments_exports)
    "EXPORT_FILE_SECONDS": 24 * 3600,  # a background export's file is deleted after this long
    "RUN_ITEMS_RETENTION_DAYS": None,  # run items older than this are pruned by maintenance (None: kept)
    "RETENTION_BATCH_SIZE": 5_000,  # items deleted per statement when pruning
    # Monitoring
    "METRICS_TOKEN": None,  # bearer token of the Prometheus endpoint (None: staff login only)
    "METRICS_CACHE_SECONDS": 30,  # the database figures of the endpoint are computed at most this often
}

COMMITMENTS = ("processed", "confirmed", "finalized")


class AppSettings:
    """Attribute access to the app's settings with defaults filled in."""

    def __init__(self, defaults=None):
        self.defaults = defaults or DEFAULTS
        self._cached = set()
        self._user_settings = None

    @property
    def user_settings(self):
        if self._user_settings is None:
            self._user_settings = getattr(settings, SETTINGS_NAME, None) or {}
        return self._user_settings

    def __getattr__(self, name):
        if name not in self.defaults:
            raise AttributeError(f"Invalid {SETTINGS_NAME} setting: {name!r}")
        value = self.user_settings.get(name, self.defaults[name])
        self._cached.add(name)
        setattr(self, name, value)
        return value

    def is_set(self, name):
        return name in self.user_settings

    def reload(self):
        for name in self._cached:
            delattr(self, name)
        self._cached.clear()
        self._user_settings = None


app_settings = AppSettings(DEFAULTS)


def reload_app_settings(*, setting, **kwargs):
    if setting == SETTINGS_NAME:
        app_settings.reload()


setting_changed.connect(reload_app_settings)
