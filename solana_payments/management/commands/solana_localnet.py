"""Run the local Solana JSON-RPC node (LiteSVM) in the foreground until Ctrl-C."""

from __future__ import annotations

import json
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from solana_payments.localnet import FAULT_NAMES, Localnet, parse_faults


class Command(BaseCommand):
    help = (
        "Run a local Solana JSON-RPC endpoint on LiteSVM (System, Token, Token-2022 and ATA programs) in the "
        "foreground until Ctrl-C. It prints the URL, a funded fee payer and the demo mints."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
        parser.add_argument(
            "--port", type=int, default=8899, help="Port (default 8899, 0 for any free port)."
        )
        parser.add_argument(
            "--faults",
            default="",
            help="Faults to inject, NAME=VALUE separated by commas, e.g. rate_429=0.2,retry_after=1. "
            f"Names: {', '.join(FAULT_NAMES)}. `methods` takes names separated by '|'.",
        )
        parser.add_argument(
            "--price-feeds",
            default="",
            help="Pyth price feeds to hold and keep fresh, CODE=USD_PRICE separated by commas, e.g. "
            "SOL=150,USDC=1,PYUSD=1,EUR=1.08, at the addresses SOLANA_PAYMENTS['PYTH_FEEDS'] gives; "
            "'demo' is the demo's prices.",
        )
        parser.add_argument(
            "--seed-tokens",
            action="store_true",
            help="Create or update SOL and the demo USDC-like and PYUSD-like tokens in the database.",
        )

    def handle(self, *args, **options):
        try:
            faults = parse_faults(options["faults"])
            prices = self.feed_prices(options["price_feeds"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        localnet = Localnet(options["host"], options["port"], faults)
        try:
            localnet.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc

        keeper = None
        if prices:
            from solana_payments.demo_data import demo_feed_prices
            from solana_payments.localnet.prices import FeedKeeper

            keeper = FeedKeeper(localnet, demo_feed_prices(prices)).start()
        stop = threading.Event()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if options["seed_tokens"]:
            from solana_payments.demo_data import seed_tokens

            tokens = seed_tokens(localnet.mints)
            self.stdout.write(f"Seeded tokens in the database: {', '.join(tokens)}")
        try:
            self._describe(localnet, prices)
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if keeper is not None:
                keeper.stop()
            localnet.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            self.stdout.write("Solana localnet stopped.")
            self.stdout.flush()

    def feed_prices(self, text):
        """``{code: USD price}`` of ``--price-feeds``; every code must have an address in PYTH_FEEDS."""
        from solana_payments.conf import app_settings
        from solana_payments.demo_data import DEMO_FEED_PRICES
        from solana_payments.localnet.prices import parse_prices

        prices = dict(DEMO_FEED_PRICES) if text.strip() == "demo" else parse_prices(text)
        unknown = sorted(set(prices) - set(app_settings.PYTH_FEEDS))
        if unknown:
            raise ValueError(f"--price-feeds: no address in PYTH_FEEDS for {', '.join(unknown)}")
        return prices

    def _describe(self, localnet: Localnet, prices: dict) -> None:
        write, style = self.stdout.write, self.style
        fee_payer = localnet.fee_payer
        write(style.SUCCESS(f"Solana localnet (LiteSVM) listening on {localnet.url}"))
        write(f"  RPC URL:            {localnet.url}")
        write(f"  websocket URL:      {localnet.ws_url}")
        write(
            f"  fee payer:          {fee_payer.pubkey()} "
            f"({localnet.get_balance(fee_payer.pubkey()) / 1e9:g} SOL)"
        )
        write("  fee payer secret (a throwaway local key; paste into FEE_PAYER_KEYPAIR):")
        write(f"    {json.dumps(list(bytes(fee_payer)), separators=(',', ':'))}")
        write(f"  mint authority:     {localnet.mint_authority.pubkey()}")
        for symbol, mint in localnet.mints.items():
            program = localnet.ledger.token_program_of(mint)
            state = localnet.ledger.mint_state(mint)
            write(f"  mint {symbol}:".ljust(22) + f"{mint} (program {program}, {state.decimals} decimals)")
        active = {
            k: v for k, v in localnet.faults.to_json().items() if v != getattr(type(localnet.faults)(), k)
        }
        for code, price in prices.items():
            from solana_payments.conf import app_settings

            write(f"  feed {code}/USD:".ljust(22) + f"{app_settings.PYTH_FEEDS[code]} ({price}, kept fresh)")
        if active:
            write(style.WARNING(f"  faults:             {active}"))
        write(
            '  requestAirdrop works; POST /localnet/mint {"mint": "USDC", "owner": ..., "amount": n} '
            "mints demo tokens; GET /localnet/stats shows request counts."
        )
        write("Press Ctrl-C to stop.")
        self.stdout.flush()
