"""Demo data on the localnet: the demo tokens in the database (and, in the demo, a seeded shop)."""

from .models import PaymentToken, TokenProgram

DEMO_TOKENS = [
    # symbol, name, localnet mint key, token program, decimals
    ("SOL", "Solana", None, TokenProgram.NATIVE, 9),
    ("USDC", "USD Coin (localnet)", "USDC", TokenProgram.TOKEN, 6),
    ("PYUSD", "PayPal USD (localnet, Token-2022)", "PYUSD", TokenProgram.TOKEN_2022, 6),
]


def seed_tokens(mints):
    """Create or update SOL and the localnet's USDC-like and PYUSD-like tokens; returns them by symbol."""
    tokens = {}
    for symbol, name, mint_key, program, decimals in DEMO_TOKENS:
        mint = str(mints[mint_key]) if mint_key else None
        tokens[symbol], _ = PaymentToken.objects.update_or_create(
            symbol=symbol,
            defaults={
                "name": name,
                "mint": mint,
                "token_program": program,
                "decimals": decimals,
                "is_active": True,
            },
        )
    return tokens


# How the seeded shop's payments went: (kind, how many). About sixty payments over the last 30 days.
SHOP_PLAN = [
    ("settled", 14),  # paid on time; the app noticed (recheck ran), half already swept
    ("unnoticed", 6),  # paid on time, the app never heard: recheck settles them
    ("overpaid", 4),  # paid more than asked, unnoticed
    ("underpaid", 5),  # paid part, then the deadline passed: expire flags them
    ("late", 5),  # paid after the deadline: expire settles them as paid_late
    ("abandoned", 16),  # never paid, deadline passed: expire, then reclaim
    ("open", 10),  # checkout still running
]
# The shop prices its goods in euros: (price in EUR, the tokens its customer may pay with).
PRICE_SETS = [
    ("24.90", ["SOL"]),
    ("19.99", ["USDC"]),
    ("42.50", ["PYUSD"]),
    ("75.00", ["SOL", "USDC"]),
    ("12.00", ["USDC", "PYUSD"]),
]
SHOP_CURRENCY = "EUR"
# USD prices of the local chain's Pyth feeds (SOL/USD, USDC/USD, PYUSD/USD, EUR/USD).
DEMO_FEED_PRICES = {"SOL": "150", "USDC": "1", "PYUSD": "1", "EUR": "1.08"}


def start_price_feeds(localnet, prices=None):
    """Put the demo's price feeds on the local chain at the addresses ``PYTH_FEEDS`` reads, and keep them
    fresh (a ``FeedKeeper``: stop it when the chain stops)."""
    from .conf import app_settings
    from .localnet.prices import FeedKeeper

    feeds = app_settings.PYTH_FEEDS
    prices = DEMO_FEED_PRICES if prices is None else prices
    return FeedKeeper(
        localnet, {feeds[code]: price for code, price in prices.items() if code in feeds}
    ).start()


def seed_shop(rpc_url, *, seed=7, out=None):
    """Seed a realistic shop, priced in euros, with real customer transfers on the localnet (its price
    feeds must be up: ``start_price_feeds``). Returns the payments by kind."""
    import datetime
    import random
    from decimal import Decimal

    from django.utils import timezone

    from .localnet.customers import pay
    from .models import Payment
    from .operations.base import run_operation
    from .payments import create_payment

    rng = random.Random(seed)
    tokens = {t.symbol: t for t in PaymentToken.objects.all()}
    made = {}
    labels = iter(range(1001, 10_000))
    for kind, count in SHOP_PLAN:
        made[kind] = []
        for _ in range(count):
            price, symbols = rng.choice(PRICE_SETS)
            order = next(labels)
            payment = create_payment(
                price=Decimal(price),
                currency=SHOP_CURRENCY,
                tokens=symbols,
                label=f"Order #{order}",
                email=f"customer{order}@example.com",
                metadata={"demo": kind},
            )
            days_ago = rng.uniform(0, 29) if kind != "open" else 0
            created = timezone.now() - datetime.timedelta(days=days_ago, minutes=rng.randint(20, 600))
            deadline = timezone.now() + datetime.timedelta(minutes=15)
            if kind in ("underpaid", "late", "abandoned"):
                deadline = created + datetime.timedelta(minutes=15)
            Payment.objects.filter(pk=payment.pk).update(created_at=created, expires_at=deadline)
            symbol = rng.choice(sorted(symbols))
            token = tokens[symbol]
            amount = payment.options.get(token=token).amount
            paid = {
                "settled": amount,
                "unnoticed": amount,
                "late": amount,
                "overpaid": amount + amount // 10,
                "underpaid": amount // 2,
            }.get(kind)
            if paid:
                pay(rpc_url, payment.wallet.address, token, paid)
            made[kind].append(payment)
        if out:
            out(f"  {count:>2} {kind} payments")
    settled = [p.pk for p in made["settled"]]
    run_operation("recheck", ids=settled, trigger="api")
    run_operation("sweep", ids=[p.wallet_id for p in made["settled"][: len(settled) // 2]], trigger="api")
    return made
