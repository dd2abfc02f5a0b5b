"""Run the whole app on the local chain: localnet, worker, schedules, seeded shop, admin login, web server."""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from solana_payments.conf import app_settings


class Command(BaseCommand):
    help = (
        "Run a demo of solana_payments on the local chain (LiteSVM): migrate, start the localnet and a "
        "django-q2 worker, install the schedules, seed a shop with real customer transfers, create an "
        "admin user and serve the admin. Works with any settings whose SOLANA_PAYMENTS['LOCALNET'] is "
        "true. Ctrl-C stops everything; the next run reuses the database and the chain."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Where the web server listens.")
        parser.add_argument("--reset", action="store_true", help="Start from an empty database and chain.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start a django-q2 cluster.")
        parser.add_argument("--no-seed", action="store_true", help="Do not seed demo payments.")
        parser.add_argument(
            "--state", help="Where the chain is kept between runs (default: next to the SQLite database)."
        )
        parser.add_argument("--admin-user", default="admin", help="Username of the demo admin.")
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=10.0,
            help="Seconds the django-q2 cluster gets to stop after SIGTERM before it is killed (default 10).",
        )

    def handle(self, *args, **options):
        # SIGTERM and SIGHUP stop the demo the way Ctrl-C does, so its clean-up runs whatever stops it.
        previous = {
            sig: signal.signal(sig, _raise_keyboard_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)
        }
        try:
            self.run(options)
        except KeyboardInterrupt:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run(self, options):
        if not app_settings.LOCALNET:
            raise CommandError(
                "The demo runs on the local chain only: set SOLANA_PAYMENTS['LOCALNET'] = True "
                "and RPC_URL to a local address such as http://127.0.0.1:8899."
            )
        url = urlsplit(app_settings.RPC_URL or "")
        if url.hostname not in ("127.0.0.1", "localhost") or not url.port:
            raise CommandError(
                f"RPC_URL must be a local address with a port for the demo, not {app_settings.RPC_URL!r}."
            )
        state = Path(options["state"] or self.default_state_path())
        if options["reset"]:
            self.reset(state)
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")

        from solana_payments.localnet import persistence, start_localnet

        try:
            localnet = start_localnet(port=url.port, host=url.hostname)
        except OSError as exc:
            raise CommandError(f"Cannot start the local chain on port {url.port}: {exc}") from exc
        worker = feeds = None
        try:
            fresh_chain = not state.exists()
            if not fresh_chain:
                persistence.load(localnet.ledger, state)
                self.stdout.write(f"Local chain restored from {state}.")
            from solana_payments.demo_data import demo_feed_prices
            from solana_payments.localnet.prices import FeedKeeper

            feeds = FeedKeeper(localnet, demo_feed_prices()).start()
            self.stdout.write(
                "Pyth price feeds for SOL, USDC, PYUSD and EUR are on the local chain, kept fresh."
            )
            self.check_fee_payer(localnet)
            self.seed(localnet, fresh_chain, options)
            self.fund_refund_wallet(localnet)
            call_command("solana_payments_schedules", stdout=self.stdout)
            password = self.admin(options["admin_user"])
            if not options["no_worker"]:
                worker = self.start_worker()
            host = options["addr"]
            self.stdout.write(self.style.SUCCESS("\nThe demo is ready."))
            self.stdout.write(
                f"  admin:     http://{host}/admin/  (user {options['admin_user']!r}, password {password!r})"
            )
            self.stdout.write(f"  dashboard: http://{host}/admin/solana_payments/dashboard/")
            self.stdout.write(f"  chain:     {localnet.url} and {localnet.ws_url} (LiteSVM)")
            checkout = self.checkout_example()
            if checkout:
                self.stdout.write(f"  checkout:  http://{host}{checkout}  (an open payment's page)")
            self.stdout.write("Press Ctrl-C to stop everything.\n")
            self.stdout.flush()
            self.serve(host)
        finally:
            if worker is not None:
                self.stop_worker(worker, options["stop_timeout"])
            if feeds is not None:
                feeds.stop()
            persistence.save(localnet.ledger, state)
            localnet.stop()
            self.stdout.write(f"Stopped. The chain was saved to {state}.")

    # -- pieces ------------------------------------------------------------------------------------------

    def default_state_path(self):
        name = settings.DATABASES["default"].get("NAME")
        folder = Path(str(name)).parent if name and str(name) != ":memory:" else Path.cwd()
        return folder / "localnet-state.pickle"

    def reset(self, state):
        db = settings.DATABASES["default"]
        if "sqlite3" not in db["ENGINE"]:
            raise CommandError(
                "--reset removes the SQLite database; with another database, flush it yourself."
            )
        for path in (Path(str(db["NAME"])), state):
            if path.exists():
                path.unlink()
                self.stdout.write(f"Removed {path}.")
        from django.db import connections

        connections.close_all()

    def check_fee_payer(self, localnet):
        from solana_payments.chain.keypairs import parse_keypair

        try:
            fee_payer = parse_keypair(app_settings.FEE_PAYER_KEYPAIR).pubkey()
        except ValueError as exc:
            raise CommandError(f"FEE_PAYER_KEYPAIR: {exc}") from None
        if fee_payer != localnet.fee_payer.pubkey():
            localnet.airdrop(fee_payer, 100 * 10**9)
            self.stdout.write(f"Funded the configured fee payer {fee_payer} with 100 SOL.")

    def fund_refund_wallet(self, localnet):
        """Refunds of swept payments come from the refund wallet: the demo funds it as it does the fee payer."""
        from solana_payments.chain.keypairs import parse_keypair
        from solana_payments.demo_data import fund_refund_wallet

        if not app_settings.REFUND_WALLET_KEYPAIR:
            self.stdout.write("No REFUND_WALLET_KEYPAIR: refunds of swept payments will be refused.")
            return
        try:
            owner = parse_keypair(app_settings.REFUND_WALLET_KEYPAIR, name="REFUND_WALLET_KEYPAIR").pubkey()
        except ValueError as exc:
            raise CommandError(f"REFUND_WALLET_KEYPAIR: {exc}") from None
        added = fund_refund_wallet(localnet.url, owner)
        if added:
            amounts = ", ".join(f"{symbol} {units}" for symbol, units in added)
            self.stdout.write(f"Funded the refund wallet {owner} (base units: {amounts}).")

    def seed(self, localnet, fresh_chain, options):
        from solana_payments.demo_data import seed_shop, seed_tokens
        from solana_payments.models import Payment

        seed_tokens(localnet.mints)
        if options["no_seed"]:
            return
        if Payment.objects.exists():
            if fresh_chain:
                self.stdout.write(
                    self.style.WARNING(
                        "The database has payments but the chain is new: their wallets are empty on this "
                        "chain. Run with --reset (make demo-reset) to start both afresh."
                    )
                )
            return
        self.stdout.write("Seeding a shop with real customer transfers on the local chain...")
        seed_shop(localnet.url, out=self.stdout.write)

    def admin(self, username):
        password = secrets.token_urlsafe(9)
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(username, f"{username}@example.com", password)
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = user.is_active = True
            user.save()
        return password

    def start_worker(self):
        """Start `qcluster` in a process group of its own, tied to this process.

        Its own group: Ctrl-C in the terminal reaches the demo only, and the demo stops the cluster (a
        signal that reaches every process of the cluster at once can deadlock it, django-q2 #346). Tied:
        `solana_payments.processes` has the kernel kill it, and each process it forks, when its parent
        dies, so even a demo killed with SIGKILL leaves no worker behind.
        """
        env = dict(os.environ, DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path.cwd()), env.get("PYTHONPATH")]))
        env["SOLANA_PAYMENTS_PARENT_PID"] = str(os.getpid())
        process = subprocess.Popen(
            [sys.executable, "-m", "solana_payments.processes", "qcluster"], env=env, start_new_session=True
        )
        self.stdout.write(f"django-q2 cluster started (pid {process.pid}).")
        return process

    def stop_worker(self, process, timeout):
        """SIGTERM to the cluster's main process only; after `timeout` seconds (or a second Ctrl-C),
        SIGKILL to its whole process group."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                self.stdout.write(f"django-q2 cluster did not stop within {timeout:g} s: killing it.")
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of its group (workers of a hung stop)
        except ProcessLookupError:
            pass
        process.wait()
        self.stdout.write("django-q2 cluster stopped.")

    def checkout_example(self):
        """The checkout page of a payment still open, when the project includes the app's URLs."""
        from django.urls import NoReverseMatch, reverse
        from django.utils import timezone

        from ...models import Payment, PaymentStatus

        payment = (
            Payment.objects.filter(status=PaymentStatus.INITIATED, expires_at__gt=timezone.now())
            .order_by("-expires_at")
            .first()
        )
        if payment is None:
            return None
        try:
            return reverse("solana_payments:checkout", args=[payment.reference])
        except NoReverseMatch:
            return None

    def serve(self, addr):
        call_command("runserver", addr, use_reloader=False, skip_checks=False)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
