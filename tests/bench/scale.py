"""The scale benchmark: a million payments on PostgreSQL, and what the admin, operations and exports cost.

    python -m tests.bench.scale [--payments 1000000] [--items 4000000] [--database NAME] [--reuse]
                                [--only plans|pages|export|operations] [--json docs/benchmark-scale.json]

It makes a PostgreSQL database of its own on 127.0.0.1:5432 (user ``postgres``; dropped and created again
unless ``--reuse`` finds it seeded with the same sizes), migrates it, seeds it with COPY
(``seed_scale.py``), then measures and asserts every budget:

- the dashboard and the first page of each changelist (with and without a filter, and searching by
  reference, address or signature): server time under 300 ms and no more than ``PAGE_QUERIES`` queries;
  every query of a changelist page is EXPLAINed: no unbounded sequential scan of a big table;
- a run's page when it has 10,000 items;
- each operation's selection of eligible records, EXPLAINed (no sequential scan of the payments or
  wallets tables), then each operation run through its command over 10,000 eligible records among the
  million (the scenarios of ``make bench``), every query it made EXPLAINed too;
- the export of every payment by the background export job, in a process of its own: the peak resident
  memory of that whole process under 150 MiB.

``--only plans`` seeds and checks the query plans and query counts only (no timing budget, no chain work):
the PostgreSQL test of the suite runs it on a smaller table. ``--only pages|export|operations`` measures one
part again on an already seeded database (with ``--reuse``) and updates that part of the ``--json`` file. Exit status 1 when a budget is missed.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE = "solana_payments_bench_scale"
PAGE_MS = 300
PAGE_QUERIES = 10  # a changelist or a run's page
DASHBOARD_QUERIES = (
    26  # the tiles, the funds the chain reads saw, runs, exports, the desk, cluster, schedules
)
EXPORT_MIB = 150
OPERATION_RECORDS = 10_000
BIG_TABLES = ("solana_payments_payment", "solana_payments_onetimewallet", "solana_payments_operationitem")


def setup(database, *, reuse, payments, items):
    from psycopg import sql

    from tests.support.reliability import postgres_admin

    with postgres_admin() as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not (reuse and exists):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    os.environ["SOLANA_PAYMENTS_BENCH_PG_DB"] = database
    from .run import setup_django

    setup_django("postgres")


# -- query plans ------------------------------------------------------------------------------------------


def plan_of(sql_text, params=None, *, analyze=False):
    from django.db import connection

    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {sql_text}", params)
        plan = cursor.fetchone()[0]
    return json.loads(plan) if isinstance(plan, str) else plan


def unbounded_seq_scans(plan, tables=BIG_TABLES):
    """Tables of ``tables`` read by a sequential scan that no Limit above it bounds."""
    found = []

    def walk(node, limited):
        limited = limited or node["Node Type"] == "Limit"
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in tables and not limited:
            found.append(node["Relation Name"])
        for child in node.get("Plans", ()):
            walk(child, limited)

    walk(plan[0]["Plan"], False)
    return found


def explain_captured(queries, tables=BIG_TABLES):
    """``[(sql, [tables])]``: the captured SELECTs whose plan scans a big table without bound."""
    bad = []
    for query in queries:
        text = query["sql"]
        if not text.lstrip().upper().startswith("SELECT") or not any(t in text for t in tables):
            continue
        scans = unbounded_seq_scans(plan_of(text), tables)
        if scans:
            bad.append((text[:300], scans))
    return bad


def selections():
    """Each operation's selection of eligible records, as its ``execute()`` asks for it (see operations/)."""
    from django.db.models import F

    from solana_payments.operations.base import get_operation_class

    orders = {
        "recheck": [F("wallet__last_checked_at").asc(nulls_first=True), "pk"],
        "expire": ["expires_at", "pk"],
        "sweep": [F("pk").asc()],
        "reclaim": [F("pk").asc()],
    }
    result = {}
    for kind, order in orders.items():
        operation_class = get_operation_class(kind)
        operation = operation_class.__new__(operation_class)
        operation.options, operation.ids = {}, None
        queryset = operation.eligible().order_by(*order)
        limit = operation_class.default_limit
        result[kind] = queryset[:limit] if limit else queryset
    # recheck's watch over quiet wallets: those active within WATCH_WINDOW, least recently checked first
    import datetime

    from django.utils import timezone

    from solana_payments.conf import app_settings
    from solana_payments.models import Payment

    since = timezone.now() - datetime.timedelta(seconds=app_settings.WATCH_WINDOW)
    watched = Payment.objects.watched(since).order_by(*orders["recheck"])
    result["watch"] = watched[: app_settings.WATCH_BATCH_SIZE]
    return result


def check_selections(*, analyze):
    rows = []
    for kind, queryset in selections().items():
        sql_text, params = queryset.query.sql_with_params()
        plan = plan_of(sql_text, params, analyze=analyze)
        scans = unbounded_seq_scans(plan, BIG_TABLES[:2])
        row = {"selection": kind, "seq_scans": scans, "plan_top": plan[0]["Plan"]["Node Type"]}
        if analyze:
            row["ms"] = round(plan[0]["Execution Time"], 1)
            row["rows"] = plan[0]["Plan"]["Actual Rows"]
        row["missed"] = [f"{kind} selection scans {', '.join(scans)} sequentially"] if scans else []
        rows.append(row)
    return rows


# -- pages -----------------------------------------------------------------------------------------------


def pages(samples):
    from django.urls import reverse

    def changelist(model, query=""):
        return reverse(f"admin:solana_payments_{model}_changelist") + query

    return [
        ("dashboard", reverse("admin:solana_payments_dashboard")),
        ("payments", changelist("payment")),
        ("payments, status initiated", changelist("payment", "?status__exact=initiated")),
        ("payments, status finalized", changelist("payment", "?status__exact=finalized")),
        ("payments, exception underpaid", changelist("payment", "?exception__exact=underpaid")),
        ("payments, search by reference", changelist("payment", f"?q={samples['reference']}")),
        ("payments, search by address", changelist("payment", f"?q={samples['address']}")),
        ("wallets", changelist("onetimewallet")),
        ("wallets, state sent_funds", changelist("onetimewallet", "?state__exact=sent_funds")),
        ("wallets, state created", changelist("onetimewallet", "?state__exact=created")),
        ("wallets, search by address", changelist("onetimewallet", f"?q={samples['address']}")),
        ("wallets, search by reference", changelist("onetimewallet", f"?q={samples['reference']}")),
        ("runs", changelist("operationrun")),
        ("runs, status partial", changelist("operationrun", "?status__exact=partial")),
        ("runs, kind sweep", changelist("operationrun", "?kind__exact=sweep")),
        ("items", changelist("operationitem")),
        ("items, outcome failed", changelist("operationitem", "?outcome__exact=failed")),
        ("items, search by address", changelist("operationitem", f"?q={samples['address']}")),
        ("items, search by signature", changelist("operationitem", f"?q={samples['signature']}")),
        (
            "a run with 10,000 items",
            reverse("admin:solana_payments_operationrun_change", args=[samples["big_run"]]),
        ),
    ]


def measure_pages(client, samples, *, timed, repeat=3):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = []
    for name, url in pages(samples):
        response = client.get(url)  # warm: caches, the first plan of each statement
        assert response.status_code == 200, (name, url, response.status_code)
        times, counts = [], []
        for _ in range(repeat if timed else 1):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            counts.append(len(queries))
        bad = explain_captured(queries.captured_queries)
        row = {"page": name, "url": url, "queries": max(counts), "ms": round(statistics.median(times), 1)}
        row["seq_scans"] = sorted({t for _, tables in bad for t in tables})
        missed = []
        budget = DASHBOARD_QUERIES if name == "dashboard" else PAGE_QUERIES
        if row["queries"] > budget:
            missed.append(f"{row['queries']} queries > {budget}")
        if timed and row["ms"] >= PAGE_MS:
            missed.append(f"{row['ms']} ms >= {PAGE_MS} ms")
        if bad:
            missed.append(f"unbounded sequential scan of {', '.join(row['seq_scans'])}: {bad[0][0][:160]}")
        row["missed"] = missed
        rows.append(row)
    return rows


def sample_records(payments):
    from solana_payments.models import OperationItem, OperationRun

    from .seed_scale import address_of, reference_of

    i = payments // 2
    signed = OperationItem.objects.exclude(signature="").order_by("-pk").values_list("signature", flat=True)
    return {
        "reference": str(reference_of(i)),
        "address": address_of(i),
        "signature": signed[:1][0],
        "big_run": OperationRun.objects.order_by("-total", "-pk").values_list("pk", flat=True)[:1][0],
    }


def measure_metrics():
    """One scrape of the metrics with the cache empty (the worst case), then one served from the cache."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from solana_payments import metrics

    rows = []
    for label in ("metrics, figures computed", "metrics, figures cached"):
        if label.endswith("computed"):
            cache.delete(metrics.CACHE_KEY)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            metrics.render_metrics()
            ms = (time.perf_counter() - started) * 1000
        rows.append(
            {
                "page": label,
                "url": "",
                "queries": len(queries),
                "ms": round(ms, 1),
                "seq_scans": [],
                "missed": [],
            }
        )
    return rows


# -- operations and export --------------------------------------------------------------------------------


def measure_operations(bench):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = []
    for name in ("recheck", "expire", "sweep", "reclaim"):
        with CaptureQueriesContext(connection) as queries:
            row = bench.measure(name, OPERATION_RECORDS)
        bad = explain_captured(queries.captured_queries, BIG_TABLES[:2])
        row["seq_scans"] = sorted({t for _, tables in bad for t in tables})
        if bad:
            row["missed"].append(
                f"unbounded sequential scan of {', '.join(row['seq_scans'])}: {bad[0][0][:160]}"
            )
        rows.append(row)
        print(
            f"  {name:>8}: {row['seconds']:.1f} s, {row['queries']} queries, {row['rpc_requests']} RPC",
            flush=True,
        )
    return rows


def peak_rss_mib():
    """This process's peak resident memory. On Linux, from ``VmHWM``: ``ru_maxrss`` keeps the peak of the
    process it was forked from, so in a child it reads the parent's size until it grows past it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_in_this_process():
    """The export job over every payment, in this process; returns its row (peak RSS of the process)."""
    from solana_payments import exporting
    from solana_payments.models import ExportJob, ExportStatus, Payment
    from solana_payments.resources import PaymentResource

    job = exporting.start_export(Payment.objects.all(), PaymentResource, "csv")
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    status = exporting.run_export(job.pk)
    seconds = time.perf_counter() - started
    job = ExportJob.objects.get(pk=job.pk)
    exporting.file_path(job).unlink(missing_ok=True)
    return {
        "rows": job.done,
        "seconds": round(seconds, 1),
        "rss_before_mib": round(rss_before, 1),
        "peak_mib": round(peak_rss_mib(), 1),
        "file_mib": round(job.size / 2**20, 1),
        "status": status,
        "succeeded": status == ExportStatus.SUCCEEDED,
        "error": job.error,
    }


def measure_export(database):
    """The export in a process of its own, so its peak RSS is the export's (Django and all included)."""
    import subprocess

    from solana_payments.models import Payment

    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.scale", "--database", database, "--reuse", "--export-process"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.bench.settings"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["missed"] = []
    if not row["succeeded"]:
        row["missed"].append(f"export ended {row['status']}: {row['error']}")
    if row["peak_mib"] >= EXPORT_MIB:
        row["missed"].append(f"export process peak {row['peak_mib']} MiB >= {EXPORT_MIB} MiB")
    if row["rows"] != Payment.objects.count():
        row["missed"].append(f"exported {row['rows']} rows of {Payment.objects.count()}")
    return row


def scale_bench(seeded_ids):
    """``make bench``'s scenarios among the million: only rows above the seeded ids are ever deleted."""
    from solders.pubkey import Pubkey

    from solana_payments.demo_data import seed_tokens
    from solana_payments.models import OneTimeWallet, OperationItem, OperationRun, Payment, PaymentOption

    from .scenarios import Bench

    class ScaleBench(Bench):
        seeded = seeded_ids
        # The counts (queries, requests, transactions, fees, money) are asserted as in `make bench`; the
        # wall time is reported. Its 60 s budget is set for `make bench` on SQLite.
        wall_time_budget = False

        def fresh(self):
            self.localnet.reset()
            OperationItem.objects.filter(run_id__gt=self.seeded["run"]).delete()
            OperationRun.objects.filter(pk__gt=self.seeded["run"]).delete()
            PaymentOption.objects.filter(pk__gt=self.seeded["option"]).delete()
            Payment.objects.filter(pk__gt=self.seeded["payment"]).delete()
            OneTimeWallet.objects.filter(pk__gt=self.seeded["wallet"]).delete()
            self.tokens = seed_tokens(self.localnet.mints)
            self.usdc_mint = Pubkey.from_string(self.tokens["USDC"].mint)

    return ScaleBench()


# -- the run ---------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=4_000_000)
    parser.add_argument(
        "--open-share",
        type=float,
        default=0.01,
        help="share of the newest payments that are open checkouts (default 0.01)",
    )
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--reuse", action="store_true", help="keep the database when it is already seeded")
    parser.add_argument(
        "--only",
        choices=["plans", "pages", "export", "operations"],
        help="one part (plans: query plans and counts only, no timing, no chain; the others are timed and "
        "update that part of the --json file)",
    )
    parser.add_argument("--json", default="docs/benchmark-scale.json")
    parser.add_argument("--export-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    setup(args.database, reuse=args.reuse, payments=args.payments, items=args.items)
    if args.export_process:  # the child of measure_export()
        print(json.dumps(export_in_this_process()))
        return 0

    from django.contrib.auth.models import User
    from django.test import Client

    from . import seed_scale
    from .run import machine

    # The localnet and the settings of `make bench`; only rows above the seeded ids are a scenario's.
    bench = scale_bench(seed_scale.seeded_ids(args.payments, args.items))
    result = {"machine": machine(), "payments": args.payments, "items": args.items, "database": args.database}
    try:
        from solana_payments.demo_data import seed_tokens

        tokens = seed_tokens(bench.localnet.mints)
        counts = seed_scale.seeded_counts()
        if counts["payment"] < args.payments or counts["item"] < args.items:
            if counts["payment"] or counts["item"]:
                raise SystemExit(f"{args.database} holds another seeding ({counts}); run without --reuse")
            print(f"seeding {args.payments:,} payments and {args.items:,} run items with COPY...", flush=True)
            started = time.perf_counter()
            timings = seed_scale.seed(
                args.payments,
                args.items,
                receiver=str(bench.receiver),
                tokens=tokens,
                open_share=args.open_share,
                out=print,
            )
            result["seed_seconds"] = round(time.perf_counter() - started, 1)
            result["seed_tables"] = {
                name: {"rows": n, "seconds": round(s, 1)} for name, (n, s) in timings.items()
            }
            print(f"seeded in {result['seed_seconds']} s", flush=True)
        bench.fresh()  # a run interrupted earlier may have left scenario rows

        user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
            "bench", "", "bench"
        )
        client = Client()
        client.force_login(user)
        timed = args.only != "plans"
        parts = {args.only} if args.only else {"pages", "export", "operations"}
        if parts & {"plans", "pages"}:
            samples = sample_records(args.payments)
            result["selections"] = check_selections(analyze=timed)
            result["pages"] = measure_pages(client, samples, timed=timed)
            result["metrics"] = measure_metrics()
        if "export" in parts:
            result["export"] = measure_export(args.database)
        if "operations" in parts:
            result["operations"] = measure_operations(bench)
    finally:
        bench.close()
    if args.only in ("pages", "export", "operations") and args.json != "-" and Path(args.json).exists():
        # A part measured again on the same seeded database: the other parts are kept from the file.
        result = {**json.loads(Path(args.json).read_text()), **result}
    missed = [
        f"{section} {row.get('page') or row.get('selection') or row.get('operation') or ''}: {m}"
        for section in ("selections", "pages", "operations")
        for row in result.get(section, [])
        for m in row["missed"]
    ]
    missed += [f"export: {m}" for m in result.get("export", {}).get("missed", [])]
    result["missed"] = missed
    if args.json != "-":
        Path(args.json).write_text(json.dumps(result, indent=2, sort_keys=True, default=str))
    print()
    print(markdown(result))
    print(json.dumps({"missed": missed}))
    return 1 if missed else 0


def markdown(result):
    lines = []
    if "seed_seconds" in result:
        lines.append(
            f"Seeded {result['payments']:,} payments and {result['items']:,} run items in {result['seed_seconds']} s.\n"
        )
    lines += ["| page | queries | server time | unbounded seq scans |", "|---|---:|---:|---|"]
    for row in result.get("pages", []):
        lines.append(
            f"| {row['page']} | {row['queries']} | {row['ms']} ms | {', '.join(row['seq_scans']) or 'none'} |"
        )
    lines += [
        "",
        "| selection | plan | rows | time | seq scans of payments/wallets |",
        "|---|---|---:|---:|---|",
    ]
    for row in result.get("selections", []):
        lines.append(
            f"| {row['selection']} | {row['plan_top']} | {row.get('rows', '-')} | {row.get('ms', '-')} ms | {', '.join(row['seq_scans']) or 'none'} |"
        )
    if result.get("operations"):
        lines += [
            "",
            "| operation over 10,000 of the million | RPC requests | transactions | DB queries | wall time | peak memory | seq scans |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for row in result["operations"]:
            lines.append(
                f"| {row['operation']} | {row['rpc_requests']:,} | {row['transactions']:,} | {row['queries']} | {row['seconds']} s | {row['peak_mib']} MiB | {', '.join(row['seq_scans']) or 'none'} |"
            )
    if result.get("export"):
        e = result["export"]
        lines += [
            "",
            "| export | rows | file | time | peak RSS of the process (before the export) |",
            "|---|---:|---:|---:|---:|",
            f"| all payments, CSV, background job | {e['rows']:,} | {e['file_mib']} MiB | {e['seconds']} s "
            f"| {e['peak_mib']} MiB ({e['rss_before_mib']} MiB) |",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
