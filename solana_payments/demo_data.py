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
