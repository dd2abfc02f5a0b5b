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
OPTION_SETS = [
    {"SOL": "0.25"},
    {"USDC": "19.99"},
    {"PYUSD": "42.5"},
    {"SOL": "0.5", "USDC": "75"},
    {"USDC": "12.000001", "PYUSD": "12.000001"},
]


def seed_shop(rpc_url, *, seed=7, out=None):
    """Seed a realistic shop with real customer transfers on the localnet. Returns the payments by kind."""
    import datetime
    import random
    from decimal import Decimal

    from django.utils import timezone

    from .amounts import to_base_units
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
            options = rng.choice(OPTION_SETS)
            order = next(labels)
            payment = create_payment(
                {symbol: Decimal(amount) for symbol, amount in options.items()},
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
            symbol = rng.choice(sorted(options))
            token = tokens[symbol]
            amount = to_base_units(Decimal(options[symbol]), token.decimals)
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
