"""Demo data on the local chain: the demo tokens in the database, the prices of its feeds, a funded refund
wallet (and, in the demo, a seeded shop). It reaches the chain over its RPC URL, through the chain client and
the local chain's faucet, never through the local chain's own code."""

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


def demo_feed_prices(prices=None):
    """``{feed address: USD price}`` of the demo's price feeds (``DEMO_FEED_PRICES``, or ``{code: price}``
    given), at the addresses ``PYTH_FEEDS`` reads: what the local chain's ``FeedKeeper`` keeps fresh."""
    from .conf import app_settings

    feeds = app_settings.PYTH_FEEDS
    prices = DEMO_FEED_PRICES if prices is None else prices
    return {feeds[code]: price for code, price in prices.items() if code in feeds}


def seed_shop(rpc_url, *, seed=7, out=None):
    """Seed a realistic shop, priced in euros, with real customer transfers on the localnet (its price
    feeds must be up: ``demo_feed_prices``). Returns the payments by kind."""
    import datetime
    import random
    from decimal import Decimal

    from django.db.models import F
    from django.utils import timezone

    from .chain.faucet import pay
    from .models import Payment
    from .operations.base import run_operation
    from .payments import create_payment

    rng = random.Random(seed)
    tokens = {t.symbol: t for t in PaymentToken.objects.all()}
    made = {kind: [] for kind in ("settled", "overpaid", "underpaid")}  # what the seeding below reads
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
            # Unnoticed payments were paid minutes ago (recheck is about to find them); the others are history.
            days_ago = rng.uniform(0, 29) if kind not in ("open", "unnoticed") else 0
            minutes = rng.randint(20, 600) if days_ago else rng.randint(1, 10)  # open ones: just started
            created = timezone.now() - datetime.timedelta(days=days_ago, minutes=minutes)
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
    # The overpaid and underpaid payments are on the desk from the start, as a shop that has been running
    # for a while would have them; the unnoticed and late ones are left for recheck and expire to find.
    run_operation("recheck", ids=settled + [p.pk for p in made["overpaid"]], trigger="api")
    run_operation("expire", ids=[p.pk for p in made["underpaid"]], trigger="api")
    # Settled weeks ago, due weeks ago: their deadline follows their creation, as it did in the shop's
    # history (the chain's transfers are all of today, so they were settled before this was rewritten).
    Payment.objects.filter(pk__in=[p.pk for p in made["settled"] + made["overpaid"]]).update(
        expires_at=F("created_at") + datetime.timedelta(minutes=15)
    )
    run_operation("sweep", ids=[p.wallet_id for p in made["settled"][: len(settled) // 2]], trigger="api")
    return made


# What the demo's refund wallet is topped up to on every start, when it holds less than half of it.
REFUND_WALLET_SOL = 100 * 10**9
REFUND_WALLET_TOKEN_UNITS = 10_000


def fund_refund_wallet(rpc_url, owner):
    """Fund the refund wallet ``owner`` (a Pubkey) on the local chain at ``rpc_url``, as a shop funds its own:
    SOL for fees and SOL refunds, and each active token with a mint, from the chain's faucet. Returns
    ``[(symbol, base units added)]``."""
    from .chain.accounts import token_account_from_account
    from .chain.client import ChainClient
    from .chain.faucet import faucet
    from .holdings import token_account_address

    tokens = list(PaymentToken.objects.filter(is_active=True, mint__isnull=False).order_by("symbol"))
    with ChainClient(rpc_url, commitment="processed") as chain:
        lamports = chain.get_balance(owner)
        accounts = chain.get_accounts([token_account_address(owner, token) for token in tokens])
    added = []
    if lamports < REFUND_WALLET_SOL // 2:
        faucet(rpc_url, "airdrop", {"pubkey": str(owner), "lamports": REFUND_WALLET_SOL - lamports})
        added.append(("SOL", REFUND_WALLET_SOL - lamports))
    for token, account in zip(tokens, accounts, strict=True):
        target = REFUND_WALLET_TOKEN_UNITS * 10**token.decimals
        decoded = token_account_from_account(account)
        held = decoded.amount if decoded else 0
        if held < target // 2:
            faucet(rpc_url, "mint", {"mint": token.mint, "owner": str(owner), "amount": target - held})
            added.append((token.symbol, target - held))
    return added
