"""Benchmark scenarios: N records set up on a fresh ledger and database, then one command measured."""

import datetime
import struct
import time
import tracemalloc
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from solana_payments.chain.accounts import SYSTEM_PROGRAM_ID, TOKEN_ACCOUNT_RENT, TOKEN_PROGRAM_ID
from solana_payments.conf import app_settings
from solana_payments.demo_data import seed_tokens
from solana_payments.holdings import token_account_address
from solana_payments.keys import get_fernet
from solana_payments.localnet import start_localnet
from solana_payments.models import (
    OneTimeWallet,
    OperationItem,
    OperationRun,
    Payment,
    PaymentOption,
    PaymentToken,
    Transfer,
    TransferDirection,
    TransferKind,
)

COMMANDS = {
    "recheck": "recheck_initiated_solana_payments",
    "expire": "close_expired_solana_payments_with_wallets",
    "sweep": "send_solana_payments_from_one_time_wallets",
    "reclaim": "close_expired_one_time_wallets_and_reclaim_funds",
    "watch": "recheck_initiated_solana_payments",  # recheck's watch over N quiet (swept) wallets
    "reconcile": "solana_payments_reconcile",  # N swept SOL wallets against the chain, without --deep
    "ledger": "recheck_initiated_solana_payments",  # N payments all paid: each one's transfer is recorded
    "export": None,  # the payments CSV export, through the resource the admin uses
    "transfers": None,  # the accounting export of N transfers, through the resource the admin uses
}


def export_payments_csv():
    from import_export.formats.base_formats import CSV

    from solana_payments.resources import PaymentResource

    dataset = PaymentResource().export(queryset=Payment.objects.all())
    return CSV().export_data(dataset)


def export_transfers_csv():
    from import_export.formats.base_formats import CSV

    from solana_payments.resources import TransferResource

    dataset = TransferResource().export(queryset=Transfer.objects.all())
    return CSV().export_data(dataset)


@contextmanager
def statements_unformatted(connection):
    """Log each statement as sent, placeholders and all, while queries are captured.

    Django's query capture turns the debug cursor on, which formats every statement with its parameters;
    on SQLite that runs a query of its own to quote them, and for a run's bulk inserts it took most of their
    time (the benchmark measured its own instrument). The count of statements is the same either way.
    """
    if connection.vendor != "sqlite":
        yield
        return
    ops = connection.ops
    ops.last_executed_query = lambda cursor, sql, params: sql
    try:
        yield
    finally:
        del ops.last_executed_query


HEARTBEAT_OFF = 3600  # seconds: longer than any scenario

SOL_AMOUNT = 500_000_000
USDC_AMOUNT = 25_000_000


@dataclass
class Scenario:
    name: str
    size: int
    paid: int = 0
    sol_wallets: int = 0
    token_wallets: int = 0


def token_account_data(mint, owner, amount):
    """A classic Token program account (165 bytes): initialized, no delegate, not native."""
    return (
        bytes(mint)
        + bytes(owner)
        + struct.pack("<Q", amount)
        + b"\0" * 36  # delegate: None
        + b"\x01"  # state: initialized
        + b"\0" * 12  # is_native: None
        + struct.pack("<Q", 0)  # delegated amount
        + b"\0" * 36  # close authority: None
    )


class Bench:
    wall_time_budget = True  # "expire of 10,000 under 60 s", set for SQLite

    def __init__(self, *, latency=0.0):
        self.latency = latency  # seconds: each operation is measured again on a node this far (0: not)
        from cryptography.fernet import Fernet

        self.localnet = start_localnet()
        self.receiver = Keypair().pubkey()
        settings.SOLANA_PAYMENTS = {
            "RPC_URL": self.localnet.url,
            "RECEIVER_ADDRESS": str(self.receiver),
            "FEE_PAYER_KEYPAIR": list(bytes(self.localnet.fee_payer)),
            "ONE_TIME_WALLETS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "RPC_MAX_RETRY_SECONDS": 30,
            "LOCALNET": True,
        }
        app_settings.reload()

    def close(self):
        self.localnet.stop()

    # -- setting up --------------------------------------------------------------------------------------

    def fresh(self):
        self.localnet.reset()
        Transfer.objects.all().delete()
        OperationItem.objects.all().delete()
        OperationRun.objects.all().delete()
        PaymentOption.objects.all().delete()
        Payment.objects.all().delete()
        OneTimeWallet.objects.all().delete()
        PaymentToken.objects.all().delete()
        self.tokens = seed_tokens(self.localnet.mints)
        self.usdc_mint = Pubkey.from_string(self.tokens["USDC"].mint)

    def make(self, count, *, options, status="initiated", state="created", overdue=False):
        fernet = get_fernet()
        keypairs = [Keypair() for _ in range(count)]
        wallets = OneTimeWallet.objects.bulk_create(
            [
                OneTimeWallet(
                    address=str(k.pubkey()),
                    encrypted_secret=fernet.encrypt(bytes(k)).decode(),
                    state=state,
                    receiver_address=str(self.receiver),
                )
                for k in keypairs
            ],
            batch_size=500,
        )
        delta = datetime.timedelta(minutes=-5 if overdue else 15)
        payments = Payment.objects.bulk_create(
            [Payment(wallet=w, status=status, expires_at=timezone.now() + delta) for w in wallets],
            batch_size=500,
        )
        PaymentOption.objects.bulk_create(
            [
                PaymentOption(payment=p, token=self.tokens[s], amount=a)
                for p in payments
                for s, a in options.items()
            ],
            batch_size=500,
        )
        return keypairs

    def set_token_account(self, owner, amount=0):
        address = token_account_address(owner.pubkey(), self.tokens["USDC"])
        data = token_account_data(self.usdc_mint, owner.pubkey(), amount)
        self.localnet.set_account(address, Account(TOKEN_ACCOUNT_RENT, data, TOKEN_PROGRAM_ID, False, 0))

    def set_sol(self, owner, lamports):
        self.localnet.set_account(owner.pubkey(), Account(lamports, b"", SYSTEM_PROGRAM_ID, False, 0))

    def build(self, name, size):
        self.fresh()
        both = {"SOL": SOL_AMOUNT, "USDC": USDC_AMOUNT}
        if name == "recheck":
            keypairs = self.make(size, options=both)
            paid = max(1, size // 20)
            for keypair in keypairs:
                self.set_token_account(keypair)
            for index, keypair in enumerate(keypairs[:paid]):  # real transfers: recheck reads their history
                if index % 2:
                    self.localnet.airdrop(keypair.pubkey(), SOL_AMOUNT)
                else:
                    self.localnet.mint_to(self.usdc_mint, keypair.pubkey(), USDC_AMOUNT)
            return Scenario(name, size, paid=paid)
        if name == "ledger":
            keypairs = self.make(size, options=both)
            for index, keypair in enumerate(keypairs):  # one real transfer each: its row is read from history
                self.set_token_account(keypair)
                if index % 2:
                    self.localnet.airdrop(keypair.pubkey(), SOL_AMOUNT)
                else:
                    self.localnet.mint_to(self.usdc_mint, keypair.pubkey(), USDC_AMOUNT)
            return Scenario(name, size, paid=size)
        if name == "transfers":
            self.make(size, options={"SOL": SOL_AMOUNT})
            payments = list(Payment.objects.select_related("wallet"))
            Transfer.objects.bulk_create(
                [
                    Transfer(
                        wallet=p.wallet,
                        payment=p,
                        signature=f"{p.pk:0>64}",
                        position=1,
                        slot=p.pk,
                        block_time=timezone.now(),
                        direction=TransferDirection.IN,
                        token=self.tokens["SOL"],
                        amount=SOL_AMOUNT,
                        counterparty=p.wallet.address,
                        kind=TransferKind.PAYMENT,
                        fee=5000,
                    )
                    for p in payments
                ],
                batch_size=500,
            )
            return Scenario(name, size)
        if name == "expire":
            for keypair in self.make(size, options=both, overdue=True):
                self.set_token_account(keypair)
            return Scenario(name, size)
        if name == "sweep":
            half = size // 2
            for keypair in self.make(
                half, options={"SOL": SOL_AMOUNT}, status="confirmed", state="received_funds"
            ):
                self.set_sol(keypair, SOL_AMOUNT)
            for keypair in self.make(
                size - half, options={"USDC": USDC_AMOUNT}, status="confirmed", state="received_funds"
            ):
                self.set_token_account(keypair, USDC_AMOUNT)
            return Scenario(name, size, sol_wallets=half, token_wallets=size - half)
        if name == "export":
            self.make(size, options={"SOL": SOL_AMOUNT, "USDC": USDC_AMOUNT})
            return Scenario(name, size)
        if name == "watch":
            keypairs = self.make(size, options=both, status="confirmed", state="sent_funds")
            Payment.objects.update(paid_token=self.tokens["SOL"], paid_amount=SOL_AMOUNT)
            OneTimeWallet.objects.update(last_activity_at=timezone.now(), swept={"native": SOL_AMOUNT})
            topped_up = max(1, size // 500)
            for keypair in keypairs[:topped_up]:  # money after the sweep: found, flagged, handed to sweep
                self.localnet.airdrop(keypair.pubkey(), SOL_AMOUNT // 10)
            return Scenario(name, size, paid=topped_up)
        if name == "reconcile":
            keypairs = self.make(size, options={"SOL": SOL_AMOUNT}, status="confirmed", state="sent_funds")
            Payment.objects.update(paid_token=self.tokens["SOL"], paid_amount=SOL_AMOUNT)
            OneTimeWallet.objects.update(swept={"native": SOL_AMOUNT})
            found = max(1, size // 500)
            for keypair in keypairs[:found]:  # money in a wallet whose state says swept
                self.localnet.airdrop(keypair.pubkey(), SOL_AMOUNT // 10)
            return Scenario(name, size, paid=found)
        if name == "reclaim":
            for keypair in self.make(
                size, options={"USDC": USDC_AMOUNT}, status="expired", state="payment_expired", overdue=True
            ):
                self.set_token_account(keypair)
            return Scenario(name, size)
        raise ValueError(name)

    # -- measuring ---------------------------------------------------------------------------------------

    def measure(self, name, size):
        from .run import budgets, far_budgets

        scenario = self.build(name, size)
        kind = "recheck" if name in ("watch", "ledger") else name
        self.configure(name, size)
        fee_payer_before = self.localnet.get_balance(self.localnet.fee_payer.pubkey())
        exported, queries, seconds, peak = self.execute(name, size)
        if name in ("export", "transfers"):
            return self.export_row(name, size, exported, queries, seconds, peak)
        run = OperationRun.objects.filter(kind=kind).latest("pk")  # the one the command just made
        counts = dict(self.localnet.request_counts)
        items = OperationItem.objects.filter(run=run)
        row = {
            "operation": name,
            "records": size,
            "rpc_requests": sum(counts.values()),
            "rpc_by_method": counts,
            "transactions": counts.get("sendTransaction", 0),
            "fees_paid": run.fees_paid,
            "fee_per_record": run.fees_paid / size,
            "rent_reclaimed": sum(items.values_list("rent", flat=True)),
            "queries": queries,
            "seconds": round(seconds, 2),
            "peak_mib": round(peak / 2**20, 1),
            "status": run.status,
            "counts": run.counts,
        }
        fee_payer_after = self.localnet.get_balance(self.localnet.fee_payer.pubkey())
        assert fee_payer_before - fee_payer_after == run.fees_paid - row[
            "rent_reclaimed"
        ] + self.receiver_ata_rent(name), "the fee payer's balance does not match the recorded fees and rent"
        if name == "sweep":
            sol_fee = sum(items.filter(token__symbol="SOL").values_list("fee", flat=True))
            token_fee = sum(items.filter(token__symbol="USDC").values_list("fee", flat=True))
            row["fee_per_sol_wallet"] = sol_fee / scenario.sol_wallets
            row["fee_per_token_wallet"] = token_fee / scenario.token_wallets
            assert self.localnet.get_balance(self.receiver) == scenario.sol_wallets * SOL_AMOUNT, (
                "SOL not conserved"
            )
            assert self.receiver_usdc() == scenario.token_wallets * USDC_AMOUNT, "USDC not conserved"
        if name == "ledger":
            recorded = Transfer.objects.filter(direction=TransferDirection.IN).count()
            row["transfers_recorded"] = recorded
            assert recorded == size and run.counts.get("reconciled") == size, (recorded, run.counts)
        if name == "watch":
            assert run.counts.get("watched") == size and run.counts.get("flagged") == scenario.paid, (
                run.counts
            )
        if name == "reconcile":
            assert run.counts.get("differences") == scenario.paid, run.counts
        if name == "reclaim":
            per_tx = Counter(s for s in items.exclude(signature="").values_list("signature", flat=True))
            row["wallets_per_tx"] = max(per_tx.values(), default=0)
        row["missed"] = [
            desc for desc, ok in budgets(row, scenario, wall_time=self.wall_time_budget) if not ok
        ]
        if run.status != "succeeded":
            row["missed"].append(f"run ended {run.status}: {run.error}")
        if self.latency:  # last: it builds the scenario again
            row["far"] = self.far(name, size, seconds)
            row["missed"] += [desc for desc, ok in far_budgets(row) if not ok]
        return row

    def warm_up(self):
        """One small run before the measured ones: the first command of a process pays for imports and
        first connections, which would count against whichever scenario came first."""
        self.build("expire", 12)
        self.configure("expire", 12)
        self.execute("expire", 12)

    def configure(self, name, size):
        settings.SOLANA_PAYMENTS = {
            **settings.SOLANA_PAYMENTS,
            "WATCH_BATCH_SIZE": size if name == "watch" else 1000,
            # Progress is then written per chunk of records only. The heartbeat that PROGRESS_EVERY_SECONDS
            # adds follows the clock: on a slower machine it would add queries that have nothing to do with N.
            "PROGRESS_EVERY_SECONDS": HEARTBEAT_OFF,
        }
        app_settings.reload()

    def execute(self, name, size):
        """Run the scenario's command once, measured: ``(export, queries, seconds, peak bytes)``."""
        self.localnet.reset_counts()
        exported = None
        tracemalloc.start()
        started = time.perf_counter()
        with statements_unformatted(connection), CaptureQueriesContext(connection) as queries:
            if name == "export":
                exported = export_payments_csv()
            elif name == "transfers":
                exported = export_transfers_csv()
            else:
                call_command(COMMANDS[name], "--limit", str(size), stdout=StringIO())
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return exported, len(queries), seconds, peak

    def far(self, name, size, local_seconds):
        """The same scenario again on a node ``self.latency`` seconds away (the localnet's latency fault on
        every request): its wall time, and the requests in flight on average, ``requests x latency / added
        wall time`` (1 for a run that waits on one request at a time)."""
        self.build(name, size)
        self.configure(name, size)
        self.localnet.set_faults(latency=self.latency)
        try:
            _, _, seconds, _ = self.execute(name, size)
            requests = sum(self.localnet.request_counts.values())
            seen = self.localnet.in_flight_stats
        finally:
            self.localnet.clear_faults()
        run = OperationRun.objects.filter(kind="recheck" if name in ("watch", "ledger") else name).latest(
            "pk"
        )
        added = seconds - local_seconds
        return {
            "status": run.status,
            "latency_ms": round(self.latency * 1000),
            "seconds": round(seconds, 2),
            "rpc_requests": requests,
            "added_seconds": round(added, 2),
            # requests x latency / added wall time; beside it the node's own count of requests in flight
            "in_flight": round(requests * self.latency / added, 2) if added > 0 else None,
            "in_flight_at_node": seen["in_flight"],
        }

    def export_row(self, name, size, exported, queries, seconds, peak):
        rows = exported.count("\n") - 1
        row = {
            "operation": name,
            "records": size,
            "rpc_requests": 0,
            "rpc_by_method": {},
            "transactions": 0,
            "fees_paid": 0,
            "fee_per_record": 0.0,
            "rent_reclaimed": 0,
            "queries": queries,
            "seconds": round(seconds, 2),
            "peak_mib": round(peak / 2**20, 1),
            "output_mib": round(len(exported.encode()) / 2**20, 1),
            "status": "succeeded",
            "counts": {"rows": rows},
        }
        row["missed"] = [] if rows == size else [f"exported {rows} rows of {size}"]
        if queries > 10:
            row["missed"].append(f"export queries {queries} > 10 (must not grow with the rows)")
        return row

    def receiver_usdc(self):
        account = self.localnet.get_account(token_account_address(self.receiver, self.tokens["USDC"]))
        return struct.unpack_from("<Q", bytes(account.data), 64)[0] if account is not None else 0

    def receiver_ata_rent(self, name):
        if name != "sweep":
            return 0
        account = self.localnet.get_account(token_account_address(self.receiver, self.tokens["USDC"]))
        return account.lamports if account is not None else 0
