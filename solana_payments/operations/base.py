"""The run contract shared by the operations.

``run_operation()`` executes a run: every entry point asks for one through ``runs.request_run()``, which
cleans the parameters, applies approval and records the run, and ``run_operation()`` then runs it. It
records one ``OperationItem`` per record touched, keeps progress, counts, RPC calls and fees, and ends in
``succeeded``, ``partial`` or ``failed``.
"""

import logging
import time
from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ..conf import app_settings
from ..exceptions import SolanaPaymentsError
from ..models import ItemOutcome, OperationRun, OperationTrigger, RunStatus
from .closing import Closer
from .expiring import Expirer
from .recording import Recorder
from .registry import get_operation_class
from .request import RunRequest
from .sending import Signer
from .settling import Settler
from .wallets import wallet_refs

logger = logging.getLogger(__name__)

PROGRESS_EVERY_RECORDS = 100


def run_operation(
    kind,
    *,
    request=None,
    ids=None,
    limit=None,
    sleep=0,
    dry_run=False,
    trigger=OperationTrigger.API,
    user=None,
    run=None,
    chain=None,
    on_progress=None,
    **options,
):
    """Execute one run to the end and return its finished ``OperationRun``.

    ``request`` is the cleaned ``RunRequest`` (``runs.request_run()`` makes it and records ``run``); code
    that calls this directly may pass the parameters instead, cleaned by the same ``RunRequest.clean``.
    ``ids`` selects exactly those records (payments or wallets, as the operation works on); records that
    are not eligible become ``skipped`` items with their reason. Without ``ids`` everything eligible is
    taken, up to ``limit``. ``dry_run`` reads the chain and writes ``would-do`` items, changing nothing.
    ``chain`` is a ``ChainClient``; by default one is built from the settings for this run.
    ``on_progress(run)`` is called each time progress is saved (the commands draw their bar with it).
    """
    if request is None:
        request = RunRequest.clean(kind, ids=ids, limit=limit, sleep=sleep, dry_run=dry_run, options=options)
    operation_class = get_operation_class(kind)
    if not request.dry_run:
        operation_class.refuse_if_open(request.ids, exclude=run)
    if run is None:
        run = OperationRun.objects.create(
            kind=kind,
            trigger=trigger,
            requested_by=user if user is not None and user.is_authenticated else None,
            parameters=request.parameters(),
            status=RunStatus.RUNNING,
        )
    run.status = RunStatus.RUNNING
    run.started_at = run.heartbeat_at = timezone.now()
    run.save(update_fields=["status", "started_at", "heartbeat_at"])

    own_chain = chain is None
    if own_chain:
        from ..chain_client import chain_client

        try:
            chain = chain_client()
        except (SolanaPaymentsError, ValueError) as exc:  # a bad RPC_URL: the run fails, it never hangs
            run.status, run.error, run.finished_at = RunStatus.FAILED, str(exc), timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            return run
    calls_before = Counter(chain.stats.calls_by_method)
    retries_before = chain.stats.retries
    operation = operation_class(
        run,
        chain,
        ids=request.ids and list(request.ids),
        limit=request.limit,
        sleep=request.sleep,
        dry_run=request.dry_run,
        options=dict(request.options),
    )
    operation.on_progress = on_progress
    logger.info("%s run #%s started (%s)", kind, run.pk, run.get_trigger_display())
    error = ""
    try:
        operation.execute()
    except SolanaPaymentsError as exc:
        error = str(exc)
        logger.warning("%s run %s stopped: %s", kind, run.pk, error)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.exception("%s run %s crashed", kind, run.pk)
    finally:
        calls = Counter(chain.stats.calls_by_method)
        calls.subtract(calls_before)
        retries = chain.stats.retries - retries_before
        if retries:  # requests the client repeated (429, 5xx, timeouts): the run's cost of a flaky node
            operation.counts["rpc_retries"] += retries
        if own_chain:
            chain.close()
    operation.finish(error=error, rpc_calls={m: n for m, n in calls.items() if n > 0})
    logger.info(
        "%s run #%s %s%s: %s",
        kind,
        run.pk,
        run.status,
        " (dry run)" if request.dry_run else "",
        operation.summary(),
    )
    return run


@dataclass(frozen=True)
class AdminAction:
    """An admin action an operation offers: ``name`` (unique in the admin), its label, and the records it
    is offered on (``"payment"`` or ``"wallet"``; an operation on wallets offered on payments takes their
    wallets)."""

    name: str
    description: str
    on: str


class Operation:
    """One operation over a selection of records. Subclasses implement ``execute()``.

    Each subclass is the one declaration of its kind, registered in ``operations/__init__.py`` (or the
    ``OPERATIONS`` setting): the run's kind choices, the ``run_<kind>`` permission, the admin actions, the
    dashboard tile, the command (``solana_payments_run <kind>``), the schedule, and how a run of it is
    retried and approved are all read from it.
    """

    kind = None
    label = ""  # the kind's name on pages (default: the kind)
    order = 0  # where it stands in the recommended flow (and on the dashboard)
    model = None  # what it selects: "payment" or "wallet" (see ``record_model``)
    description = ""
    default_limit = None  # records taken when neither ids nor a limit is given (None: all eligible)
    moves_money = False  # signs transactions that move customer funds
    # The parts it is built from, besides its ``recorder`` and ``selection``: a ``signer`` that signs and
    # sends transactions, a ``settler`` that applies the chain rule, a ``closer`` that closes expired
    # wallets (it signs and settles), an ``expirer`` that expires payments (it closes).
    signs = False
    settles = False
    closes = False
    expires = False
    always_held = False  # every run waits for a second person's approval, whatever it moves
    held_reason = ""  # why, on the held run (with ``always_held``)
    schedule_minutes = None  # runs on a schedule of its own every so many minutes by default
    needs_selection = False  # acts only on records named by id (never on "everything eligible")
    option_names = ()  # its own options, kept in the run's parameters (see ``clean_options``)
    pinned_options = ()  # options an approved run takes from its preview (``options_from_preview``)
    steps = ()  # the operations it runs in a row, each a child run (maintenance)
    own_permission = True  # a ``run_<kind>`` permission of its own (created from the registry)
    admin_actions = ()  # ``AdminAction``s on the records' changelists
    desk_label = ""  # a link on a payment's page to ``desk_form``, which runs it on that payment (admin.desk)
    desk_form = None  # a Django form of its options, for that page
    records_decisions = False  # its done items are decisions, listed on the payment's page
    records_differences = False  # it writes the reconciliation report (Difference): who runs it reads it
    tile_figures = ()  # the dashboard figures its tile shows (names known to ``admin.figures``)
    command_records = ""  # what ``--limit`` and ``--ids`` count, in the command's help (default: model)
    command_help = ""  # the command's help (default: the description)

    @classmethod
    def summary_of(cls, counts, keys=None):
        """The summary line of a run's ``counts``: ``scanned=… reconciled=… pending=… failed=…``."""
        keys = list(keys or cls.summary_keys)
        keys[-1:-1] = [k for k in cls.occasional_keys if counts.get(k) and k not in keys]
        return " ".join(f"{key}={counts.get(key, 0)}" for key in keys)

    @classmethod
    def on_dashboard(cls):
        """Whether the dashboard has a tile (and a button) for it: not for what acts on records chosen
        one by one."""
        return not cls.needs_selection

    @classmethod
    def permission(cls):
        """The permission a user needs to run it (``solana_payments.run_<kind>``)."""
        return f"solana_payments.run_{cls.kind}"

    @classmethod
    def permissions(cls):
        """Every permission a user needs to run it."""
        return [cls.permission()]

    @classmethod
    def record_key(cls):
        """The item field that names the records its ids are (``payment_id`` or ``wallet_id``)."""
        return f"{cls.model}_id"

    @classmethod
    def retry_ids(cls, run):
        """The records a retry of ``run`` takes: those whose items failed (None: everything again)."""
        key = cls.record_key()
        return sorted(
            {pk for pk in run.items.filter(outcome=ItemOutcome.FAILED).values_list(key, flat=True) if pk}
        )

    @classmethod
    def options_from_preview(cls, preview):
        """What an approved run pins from its preview, beside its options (see refund's plan)."""
        return {}

    @classmethod
    def add_command_arguments(cls, parser):
        """The command's own flags, beside ``--sleep``, ``--limit``, ``--ids``, ``--dry-run`` and ``--json``."""

    @classmethod
    def command_options(cls, options):
        """The operation's options from the command's parsed ``options``."""
        return {}

    @classmethod
    def clean_options(cls, ids, options):
        """The operation's own options, cleaned before any run is recorded (``ValueError`` otherwise)."""
        if cls.needs_selection and not ids:
            raise ValueError(f"{cls.kind} acts only on the {cls.model}s it is given: give their ids")
        return options

    one_open_run_per_record = False  # a record may be in only one open (held, queued, running) run of it

    @classmethod
    def refuse_if_open(cls, ids, *, exclude=None):
        """``ValueError`` when one of ``ids`` is already in an open run of this operation (not a preview).

        Asked for a run that is starting (``exclude``), only older runs count: of two runs queued at once,
        the older one goes on and the newer one is refused."""
        if not cls.one_open_run_per_record or not ids:
            return
        open_runs = OperationRun.objects.filter(
            kind=cls.kind,
            status__in=(RunStatus.AWAITING_APPROVAL, RunStatus.QUEUED, RunStatus.RUNNING),
        )
        if exclude is not None and exclude.pk is not None:
            open_runs = open_runs.filter(pk__lt=exclude.pk)
        wanted = {str(pk) for pk in ids}
        for run_pk, parameters in open_runs.values_list("pk", "parameters"):
            if parameters.get("dry_run"):
                continue
            taken = wanted & {str(pk) for pk in parameters.get("ids") or ()}
            if taken:
                raise ValueError(
                    f"{cls.model} {', '.join(sorted(taken))} is already in open {cls.kind} run #{run_pk} "
                    "(awaiting approval, queued or running): wait for it, or cancel or reject it first"
                )

    @classmethod
    def record_model(cls):
        from django.apps import apps

        return apps.get_model("solana_payments", "OneTimeWallet" if cls.model == "wallet" else "Payment")

    # The counts of the summary line, in order (``scanned=… reconciled=… pending=… failed=…``).
    summary_keys = ("scanned", "done", "skipped", "failed")
    # Counts of what happens rarely (funds found by the chain rule): in the line only when not zero.
    occasional_keys = ()

    def __init__(self, run, chain, *, ids=None, limit=None, sleep=0, dry_run=False, options=None):
        self.run = run
        self.chain = chain
        self.ids = ids  # cleaned by RunRequest.clean
        self.limit = limit
        self.sleep = float(sleep or 0)
        self.dry_run = dry_run
        self.options = options or {}
        self.recorder = Recorder(run, summary_keys=self.summary_keys, dry_run=dry_run)
        self.chain_error = None  # the node became unreachable while sending: the run stops on it
        self.counts = self.recorder.counts
        self.on_progress = None
        self._last_progress = time.monotonic()
        self._done_at_last_progress = 0
        self.selection = (
            Selection(
                self.model,
                eligible=self.eligible,
                ineligible_reason=self.ineligible_reason,
                ids=self.ids,
                limit=limit,
                record=self.recorder.record,
            )
            if self.model
            else None
        )
        closes = self.closes or self.expires
        self.signer = (
            Signer(chain, sleep=self.sleep, pause=self.pause, tick=self.tick)
            if self.signs or closes
            else None
        )
        self.settler = (
            Settler(chain, self.recorder, dry_run=dry_run, pause=self.pause)
            if self.settles or closes
            else None
        )
        self.closer = (
            Closer(
                chain,
                self.recorder,
                signer=self.signer,
                settler=self.settler,
                claim=self.claim,
                batches=self.send_batches,
                dry_run=dry_run,
                pause=self.pause,
            )
            if closes
            else None
        )
        self.expirer = (
            Expirer(
                self.recorder,
                settler=self.settler,
                closer=self.closer,
                load_options=self.selection.load_options,
                dry_run=dry_run,
            )
            if self.expires
            else None
        )

    # -- what subclasses call -------------------------------------------------------------------------

    CHUNK = 2376  # records read and written per round; four whole send batches (see send_batches)

    def execute(self):
        raise NotImplementedError

    def eligible(self):
        """The records it takes when given no ids (a QuerySet of its ``model``): read by its ``selection``."""
        raise NotImplementedError

    def ineligible_reason(self, record):
        """Why ``record``, named by id, is not taken."""
        raise NotImplementedError

    def set_total(self, total):
        self.run.total = total
        OperationRun.objects.filter(pk=self.run.pk).update(total=total)

    def record(self, outcome, **kwargs):
        """One item of the run (see :meth:`Recorder.record`)."""
        self.recorder.record(outcome, **kwargs)

    def claim(self, wallets, states, refs):
        """Claim wallets for this run with one conditional update; others are skipped with a reason.

        A wallet is taken only while it is in ``states`` and not claimed by another run still running,
        so several workers can run the same operation at once without touching a wallet twice.
        """
        from django.db.models import Q

        from ..models import OneTimeWallet

        if self.dry_run or not wallets:
            return list(wallets)
        pks = [w.pk for w in wallets]
        # Conditions on the wallet row's own columns, no join: PostgreSQL re-checks them against the row
        # as another worker's concurrent claim left it (a join would be checked against the old row and
        # let two runs take the same wallet). A holder not in the subquery (running, or too new for this
        # statement to see) keeps the wallet.
        free = (
            Q(claimed_by__isnull=True)
            | Q(claimed_by=self.run)
            | Q(claimed_by__in=OperationRun.objects.exclude(status=RunStatus.RUNNING).values("pk"))
        )
        OneTimeWallet.objects.filter(free, pk__in=pks, state__in=states).update(claimed_by=self.run)
        mine = set(
            OneTimeWallet.objects.filter(pk__in=pks, state__in=states, claimed_by=self.run).values_list(
                "pk", flat=True
            )
        )
        for wallet in wallets:
            if wallet.pk not in mine:
                self.skip("taken by another run, or its state changed meanwhile", **refs(wallet))
        return [w for w in wallets if w.pk in mine]

    def skip(self, reason, **kwargs):
        self.recorder.skip(reason, **kwargs)

    def advance(self, records=1):
        """Count records as processed; writes progress every few seconds or every 100 records."""
        self.run.done += records
        due = time.monotonic() - self._last_progress >= app_settings.PROGRESS_EVERY_SECONDS
        if due or self.run.done - self._done_at_last_progress >= PROGRESS_EVERY_RECORDS:
            self.save_progress()

    def send_batches(self, wallets):
        """Split wallets into batches that share one blockhash.

        A blockhash lasts about a minute: a batch holds about 100 transactions' worth of wallets, fewer
        when ``--sleep`` spaces the sends out, so every transaction is sent well inside its window. A
        batch is sent while the one before it finishes (see ``sending.in_pipeline``): under
        ``RPC_RATE_LIMIT``, two batches' transactions must go out within the window, so a batch holds
        no more than 25 seconds of sends at that rate.
        """
        size = 594  # a multiple of 18: whole transactions of 9 SOL or 6 token wallets
        if self.sleep > 0:
            size = max(18, min(size, int(30 / self.sleep) * 6 // 18 * 18))
        rate = getattr(self.chain, "rate_limit", 0) or 0
        if rate > 0:
            size = max(18, min(size, int(25 * rate) * 6 // 18 * 18))
        return chunked(wallets, size)

    def pause(self):
        """The seed's ``--sleep``: a pause between chain round trips (and a heartbeat when one is due)."""
        self.tick()
        if self.sleep > 0:
            time.sleep(self.sleep)

    def tick(self):
        """Write progress when ``PROGRESS_EVERY_SECONDS`` have passed, so a long chunk still shows life."""
        if time.monotonic() - self._last_progress >= app_settings.PROGRESS_EVERY_SECONDS:
            self.save_progress()

    def save_progress(self):
        self.recorder.flush()
        self.run.heartbeat_at = timezone.now()
        OperationRun.objects.filter(pk=self.run.pk).update(
            done=self.run.done, counts=dict(self.counts), heartbeat_at=self.run.heartbeat_at
        )
        self._last_progress = time.monotonic()
        self._done_at_last_progress = self.run.done
        if self.on_progress:
            self.on_progress(self.run)

    def finish(self, *, error="", rpc_calls=None):
        with transaction.atomic():
            self.recorder.flush()
            run = self.run
            run.counts = dict(self.counts)
            run.rpc_calls = rpc_calls or {}
            run.fees_paid = 0 if self.dry_run else self.recorder.fees
            run.error = error
            run.finished_at = run.heartbeat_at = timezone.now()
            if error:
                run.status = RunStatus.FAILED
            elif self.counts["failed"]:
                run.status = RunStatus.PARTIAL
            else:
                run.status = RunStatus.SUCCEEDED
            if not error:
                run.done = max(run.done, run.total)
            # Only what the run itself owns: a full save would put back columns read when the run was
            # loaded, such as the task id the enqueuing process writes once django-q2 has taken the task.
            fields = ["counts", "rpc_calls", "fees_paid", "error", "finished_at", "heartbeat_at", "status"]
            run.save(update_fields=[*fields, "done", "total"])

    def summary(self):
        return summary_line(self.run, self.summary_keys)


def summary_line(run, keys=None):
    return get_operation_class(run.kind).summary_of(run.counts or {}, keys)


def chunked(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Selection:
    """The records a run takes (``model``: ``"payment"`` or ``"wallet"``): the ``eligible`` ones up to
    ``limit``, or exactly ``ids``, each other one a skipped item with its ``ineligible_reason``; a record
    whose wallet address does not parse is a failed item, never a failed run. Items go to ``record``
    (the run's)."""

    def __init__(self, model, *, eligible, ineligible_reason, ids, limit, record):
        self.model = model
        self.eligible = eligible
        self.ineligible_reason = ineligible_reason
        self.ids = ids
        self.limit = limit
        self.record = record

    def refs(self, record):
        """The ``payment=`` / ``wallet=`` of an item about ``record``."""
        if self.model == "wallet":
            return wallet_refs(record)
        return {"payment": record, "wallet": record.wallet}

    def load_options(self, records):
        """Load the payment options of ``records`` (of their payments, for wallets), each with its token."""
        prefetch_options(records, "payment__options" if self.model == "wallet" else "options")

    def select(self, order_by):
        return self.readable(self._select(order_by))

    def readable(self, records):
        """Records whose wallet address parses; each other one is one failed item."""
        from solders.pubkey import Pubkey

        usable = []
        for record in records:
            address = record.address if self.model == "wallet" else record.wallet.address
            try:
                Pubkey.from_string(address)
            except ValueError:
                self.record(
                    ItemOutcome.FAILED,
                    reason=f"wallet address {address!r} is not a Solana address",
                    **self.refs(record),
                )
                continue
            usable.append(record)
        return usable

    def _select(self, order_by):
        eligible = self.eligible()
        if self.ids is None:
            queryset = eligible.order_by(*order_by)
            return list(queryset[: self.limit] if self.limit else queryset)
        found = eligible.model._default_manager.select_related(*eligible.query.select_related or ()).in_bulk(
            self.ids
        )
        eligible_pks = set(eligible.filter(pk__in=self.ids).values_list("pk", flat=True))
        selected = []
        for pk in self.ids:
            record = found.get(pk)
            if record is None:
                self.record(ItemOutcome.SKIPPED, reason=f"{self.model} #{pk} does not exist")
            elif pk not in eligible_pks:
                self.record(ItemOutcome.SKIPPED, reason=self.ineligible_reason(record), **self.refs(record))
            else:
                selected.append(record)
        return selected[: self.limit] if self.limit else selected


def prefetch_options(records, lookup):
    """Load the payment options of ``records`` along ``lookup``, each with its token.

    The tokens are a handful of rows: read once and shared, rather than joined into every option row.
    """
    from django.db.models import Prefetch, prefetch_related_objects

    from ..models import PaymentOption, PaymentToken

    tokens = PaymentToken.objects.in_bulk()
    options = PaymentOption.objects.order_by("token__symbol")
    prefetch_related_objects(records, Prefetch(lookup, queryset=options))
    for record in records:
        payment = record if lookup == "options" else getattr(record, "payment", None)
        if payment is not None:
            for option in payment.options.all():
                option.token = tokens[option.token_id]
