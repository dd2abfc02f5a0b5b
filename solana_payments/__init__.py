"""Accept Solana payments into one-time wallets and keep the money moving."""

__version__ = "0.1.0"
