"""django-import-export resources: what the admin exports, and the one thing it imports (tokens).

Safety is built into :class:`SafeModelResource`, the base of every resource here:

- **Allow-list only.** A resource must name its columns in ``Meta.fields``; a resource without that list,
  or with any column, attribute path, dehydrate method or related path whose name looks like key material
  (:data:`SENSITIVE_NAME`: ``*secret*``, ``*keypair*``, ``pending_transaction``, ...), is refused with
  ``ImproperlyConfigured`` when its class is created. The sensitive model fields are also deferred in every
  export query, so a wallet's encrypted secret and signed transaction are never even loaded.
- **Formula escaping.** Every exported text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading single quote (OWASP's CSV-injection advice), in every format.
- **Export-only by default.** Only :class:`PaymentTokenResource` may import.

Exports stream: the queryset is read with ``iterator(chunk_size)`` and ``select_related``, never with a
prefetch, so exporting N rows holds one chunk of model objects and makes a fixed number of queries. A
payment's options come from a correlated subquery (``group_concat`` / ``string_agg``) on SQLite and
PostgreSQL; on other databases they fall back to django-import-export's paginated prefetch.

Formats of the cells, the same in CSV, XLSX and JSON:

- amounts of tokens are exact decimal strings in token units (``"25.000001"``), never floats;
- SOL fees and rent are whole lamports (integers), in columns named ``*_lamports``;
- times are ISO 8601 in UTC (``"2025-01-31T12:00:00+00:00"``);
- a payment's ``options`` column lists every option as ``"<symbol> <amount>"`` sorted by symbol and joined
  by ``"; "``, e.g. ``"SOL 0.5; USDC 25.000001"``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC

from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, ValidationError
from django.db import connections
from django.db.models import Aggregate, CharField, OuterRef, Subquery, TextField, Value
from django.db.models.functions import Cast, Concat
from import_export import widgets
from import_export.declarative import ModelDeclarativeMetaclass
from import_export.fields import Field
from import_export.resources import ModelResource

from .amounts import format_units
from .exceptions import ChainError
from .models import (
    Difference,
    OneTimeWallet,
    OperationItem,
    OperationRun,
    Payment,
    PaymentOption,
    PaymentToken,
    TokenProgram,
)

# Names of model fields (and attributes) that hold key material or a signed transaction.
SENSITIVE_NAME = re.compile(
    r"secret|keypair|private|password|mnemonic|seed|pending_transaction", re.IGNORECASE
)

# A cell starting with one of these is a formula (or becomes one) in spreadsheet applications.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

EXPORT_CHUNK_SIZE = 500


def escape_formula(value):
    """Prefix a text cell that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unescape_formula(value):
    """Undo :func:`escape_formula` on import, so an exported file re-imports the same text."""
    if (
        isinstance(value, str)
        and len(value) > 1
        and value[0] == "'"
        and value[1:].startswith(FORMULA_TRIGGERS)
    ):
        return value[1:]
    return value


def sensitive_field_names(model):
    """The concrete fields of ``model`` that an export must never read."""
    return [f.name for f in model._meta.concrete_fields if SENSITIVE_NAME.search(f.name)]


def _names_of(resource_field, field_name):
    names = [field_name, resource_field.column_name or ""]
    if resource_field.attribute:
        names.extend(resource_field.attribute.split("__"))
    method = resource_field.dehydrate_method
    if isinstance(method, str):
        names.append(method)
    elif callable(method):
        names.append(getattr(method, "__name__", ""))
    return [name for name in names if name]


def check_allow_list(resource_class):
    """Refuse a resource that could read key material: called for every resource class as it is created."""
    name = resource_class.__name__
    if resource_class._meta.fields is None:
        raise ImproperlyConfigured(
            f"{name} must list its columns in Meta.fields: resources here are built from an allow-list."
        )
    candidates = [(f"Meta.fields entry {entry!r}", entry) for entry in resource_class._meta.fields]
    for field_name, resource_field in resource_class.fields.items():
        candidates.extend((f"field {field_name!r}", part) for part in _names_of(resource_field, field_name))
    for path in resource_class.export_relations:
        candidates.extend((f"export_relations entry {path!r}", part) for part in path.split("__"))
    for where, part in candidates:
        if SENSITIVE_NAME.search(part):
            raise ImproperlyConfigured(f"{name}: {where} names {part!r}, which may hold key material.")


def _joined_paths(tree, prefix=""):
    """``{"run": {"requested_by": {}}}`` (a query's select_related) -> ``["run", "run__requested_by"]``."""
    if not isinstance(tree, dict):
        return []
    paths = []
    for name, subtree in tree.items():
        path = f"{prefix}{name}"
        paths += [path, *_joined_paths(subtree, f"{path}__")]
    return paths


def _related_model(model, path):
    for part in path.split("__"):
        model = model._meta.get_field(part).related_model
    return model


class AllowListMetaclass(ModelDeclarativeMetaclass):
    def __new__(mcs, name, bases, attrs):
        resource_class = super().__new__(mcs, name, bases, attrs)
        if resource_class._meta.model is not None:
            check_allow_list(resource_class)
        return resource_class


# -- widgets ------------------------------------------------------------------------------------------


class TextWidget(widgets.CharWidget):
    """Text in and out; a value escaped by our export comes back unescaped on import."""

    def clean(self, value, row=None, **kwargs):
        return unescape_formula(super().clean(value, row, **kwargs)).strip()


class MintWidget(widgets.Widget):
    """A mint address; empty means none (SOL)."""

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        return text or None

    def render(self, value, obj=None, **kwargs):
        return value or ""


class WholeNumberWidget(widgets.Widget):
    """Integers exactly as stored (no locale formatting); strict on import."""

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number.")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]{1,18}", text):  # ASCII digits: \d would take "٣" for 3
            raise ValueError(f"{text[:30]!r} is not a whole number.")
        return int(text)

    def render(self, value, obj=None, **kwargs):
        return value


class IsoDateTimeWidget(widgets.Widget):
    """ISO 8601 in UTC, in every format (XLSX included: exact and unambiguous)."""

    def render(self, value, obj=None, **kwargs):
        return value.astimezone(UTC).isoformat() if value is not None else None


class JsonTextWidget(widgets.Widget):
    def render(self, value, obj=None, **kwargs):
        return json.dumps(value, sort_keys=True, default=str) if value not in (None, {}, []) else ""


def column(attribute=None, widget=None, **kwargs):
    """A read-only export column (the column name is the declared name)."""
    return Field(attribute=attribute, widget=widget or widgets.Widget(), readonly=True, **kwargs)


def text(attribute):
    return column(attribute, widgets.CharWidget())


def moment(attribute):
    return column(attribute, IsoDateTimeWidget())


def whole(attribute):
    return column(attribute, WholeNumberWidget())


# -- the base -----------------------------------------------------------------------------------------


class SafeModelResource(ModelResource, metaclass=AllowListMetaclass):
    """An export built from an allow-list, with formula escaping, streaming and no secret in memory."""

    #: ``select_related`` paths the export reads; their sensitive fields are deferred too.
    export_relations: tuple[str, ...] = ()
    #: Only resources that set this may import.
    import_allowed = False

    class Meta:
        chunk_size = EXPORT_CHUNK_SIZE

    def import_data(self, *args, **kwargs):
        if not self.import_allowed:
            raise ImproperlyConfigured(f"{type(self).__name__} is export-only.")
        return super().import_data(*args, **kwargs)

    def filter_export(self, queryset, **kwargs):
        return self.prepare_export_queryset(super().filter_export(queryset, **kwargs))

    def prepare_export_queryset(self, queryset):
        """One streaming query: no prefetch, the relations joined, the sensitive fields never loaded."""
        queryset = queryset.prefetch_related(None)
        if queryset.query.select_related is True:
            queryset = queryset.select_related(None)  # "every foreign key" cannot be checked: name them
        if self.export_relations:
            queryset = queryset.select_related(*self.export_relations)
        model = queryset.model
        deferred = sensitive_field_names(model)
        # Every joined model, ours and any the caller (an admin's list_select_related) asked for.
        for path in _joined_paths(queryset.query.select_related):
            deferred += [f"{path}__{name}" for name in sensitive_field_names(_related_model(model, path))]
        return queryset.defer(*deferred) if deferred else queryset

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))


def token_amount(base, token):
    """Exact token units as a decimal string; base units when the token is unknown."""
    if base is None:
        return ""
    if token is None:
        return str(base)
    return format_units(base, token.decimals)


def _username(user):
    return user.get_username() if user is not None else ""


# -- payments -----------------------------------------------------------------------------------------

_ENTRY_SEPARATOR = "\x1f"  # between options in the aggregated text (cannot appear in a symbol typed in)


class _JoinedText(Aggregate):
    """``group_concat`` (SQLite) / ``string_agg`` (PostgreSQL) of text, with a fixed separator."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s)"
    output_field = TextField()
    allow_distinct = False

    def __init__(self, expression, separator, **extra):
        super().__init__(expression, Value(separator), **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG", **extra_context)


AGGREGATE_OPTION_VENDORS = ("sqlite", "postgresql")


def options_subquery():
    entry = Concat(
        Cast("amount", CharField()),
        Value(":"),
        Cast("token__decimals", CharField()),
        Value(":"),
        "token__symbol",
        output_field=TextField(),
    )
    options = (
        PaymentOption.objects.filter(payment=OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(joined=_JoinedText(entry, _ENTRY_SEPARATOR))
        .values("joined")
    )
    return Subquery(options, output_field=TextField())


def format_options(pairs):
    """``[("USDC", 25000001, 6), ("SOL", 500000000, 9)]`` -> ``"SOL 0.5; USDC 25.000001"``."""
    return "; ".join(
        f"{symbol} {format_units(amount, decimals)}" for symbol, amount, decimals in sorted(pairs)
    )


class PaymentResource(SafeModelResource):
    """Payments with their wallet, options and what was paid (export only)."""

    reference = text("reference")
    status = text("status")
    exception = text("exception")
    created_at = moment("created_at")
    deadline = moment("expires_at")
    paid_at = moment("paid_at")
    wallet = text("wallet__address")
    wallet_state = text("wallet__state")
    options = column()
    paid_token = text("paid_token__symbol")
    paid_amount = column()
    signature = text("paid_signature")
    payer = text("payer")
    label = text("label")
    email = text("email")

    export_relations = ("wallet", "paid_token")

    class Meta:
        model = Payment
        fields = (
            "reference",
            "status",
            "exception",
            "created_at",
            "deadline",
            "paid_at",
            "wallet",
            "wallet_state",
            "options",
            "paid_token",
            "paid_amount",
            "signature",
            "payer",
            "label",
            "email",
        )
        export_order = fields
        name = "Payments"

    def prepare_export_queryset(self, queryset):
        queryset = super().prepare_export_queryset(queryset)
        if connections[queryset.db].vendor in AGGREGATE_OPTION_VENDORS:
            return queryset.annotate(options_text=options_subquery())
        # Other databases: django-import-export pages through the queryset when it has a prefetch.
        return queryset.prefetch_related("options__token")

    def dehydrate_options(self, payment):
        if hasattr(payment, "options_text"):
            pairs = []
            for entry in (payment.options_text or "").split(_ENTRY_SEPARATOR):
                if entry:
                    amount, decimals, symbol = entry.split(":", 2)
                    pairs.append((symbol, int(amount), int(decimals)))
            return format_options(pairs)
        return format_options((o.token.symbol, o.amount, o.token.decimals) for o in payment.options.all())

    def dehydrate_paid_amount(self, payment):
        return token_amount(payment.paid_amount, payment.paid_token)


# -- wallets ------------------------------------------------------------------------------------------


class OneTimeWalletResource(SafeModelResource):
    """Wallet addresses and state, the rent they hold or returned (export only; no key material)."""

    address = text("address")
    state = text("state")
    payment = text("payment__reference")
    receiver = text("receiver_address")
    rent_paid_lamports = whole("rent_paid")
    rent_reclaimed_lamports = whole("rent_reclaimed")
    last_checked_at = moment("last_checked_at")
    created_at = moment("created_at")

    export_relations = ("payment",)

    class Meta:
        model = OneTimeWallet
        fields = (
            "address",
            "state",
            "payment",
            "receiver",
            "rent_paid_lamports",
            "rent_reclaimed_lamports",
            "last_checked_at",
            "created_at",
        )
        export_order = fields
        name = "One-time wallets"


# -- the audit trail ----------------------------------------------------------------------------------


class OperationRunResource(SafeModelResource):
    """Who ran what, when, how it went and what it cost (export only)."""

    id = whole("id")
    kind = text("kind")
    trigger = text("trigger")
    requested_by = column()
    status = text("status")
    parent = whole("parent_id")
    created_at = moment("created_at")
    started_at = moment("started_at")
    finished_at = moment("finished_at")
    total = whole("total")
    done = whole("done")
    counts = column("counts", JsonTextWidget())
    rpc_calls = column("rpc_calls", JsonTextWidget())
    fees_paid_lamports = whole("fees_paid")
    parameters = column("parameters", JsonTextWidget())
    error = text("error")

    export_relations = ("requested_by",)

    class Meta:
        model = OperationRun
        fields = (
            "id",
            "kind",
            "trigger",
            "requested_by",
            "status",
            "parent",
            "created_at",
            "started_at",
            "finished_at",
            "total",
            "done",
            "counts",
            "rpc_calls",
            "fees_paid_lamports",
            "parameters",
            "error",
        )
        export_order = fields
        name = "Operation runs"

    def dehydrate_requested_by(self, run):
        return _username(run.requested_by)


class OperationItemResource(SafeModelResource):
    """The ledger: one row per record a run touched, with signature, amount, fee and rent (export only)."""

    id = whole("id")
    run = whole("run_id")
    kind = text("run__kind")
    requested_by = column()
    created_at = moment("created_at")
    outcome = text("outcome")
    reason = text("reason")
    payment = text("payment__reference")
    wallet = text("wallet__address")
    token = text("token__symbol")
    amount = column()
    fee_lamports = whole("fee")
    rent_lamports = whole("rent")
    signature = text("signature")

    export_relations = ("run__requested_by", "payment", "wallet", "token")

    class Meta:
        model = OperationItem
        fields = (
            "id",
            "run",
            "kind",
            "requested_by",
            "created_at",
            "outcome",
            "reason",
            "payment",
            "wallet",
            "token",
            "amount",
            "fee_lamports",
            "rent_lamports",
            "signature",
        )
        export_order = fields
        name = "Operation items"

    def dehydrate_requested_by(self, item):
        return _username(item.run.requested_by)

    def dehydrate_amount(self, item):
        return token_amount(item.amount, item.token)


class DifferenceResource(SafeModelResource):
    """The reconciliation report: one row per difference between the database and the chain."""

    id = whole("id")
    run = whole("run_id")
    created_at = moment("created_at")
    kind = text("kind")
    is_open = column("is_open")
    wallet = text("wallet__address")
    wallet_state = text("wallet__state")
    payment = text("payment__reference")
    asset = text("asset")
    recorded = column("recorded", WholeNumberWidget())
    on_chain = column("on_chain", WholeNumberWidget())
    account = text("account")
    suggested_action = text("suggested_action")
    detail = text("detail")

    export_relations = ("wallet", "payment")

    class Meta:
        model = Difference
        fields = (
            "id",
            "run",
            "created_at",
            "kind",
            "is_open",
            "wallet",
            "wallet_state",
            "payment",
            "asset",
            "recorded",
            "on_chain",
            "account",
            "suggested_action",
            "detail",
        )
        export_order = fields
        name = "Reconciliation differences"


# -- tokens (import and export) -----------------------------------------------------------------------

NATIVE_SYMBOL = "SOL"
NATIVE_DECIMALS = 9


@dataclass
class RowCheck:
    """What the file-wide check found about one row: its problems and the token program read on chain."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    token_program: str | None = None

    def add(self, field_name, message):
        messages = self.errors.setdefault(field_name, [])
        if message not in messages:
            messages.append(message)


def _program_name(program_id):
    from .chain.accounts import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

    if program_id == TOKEN_PROGRAM_ID:
        return TokenProgram.TOKEN.value
    if program_id == TOKEN_2022_PROGRAM_ID:
        return TokenProgram.TOKEN_2022.value
    return None


class PaymentTokenResource(SafeModelResource):
    """Tokens, imported and exported. A row is identified by its mint (empty for SOL).

    Import checks the whole file before anything is written, and writes nothing if any row is wrong:

    - ``mint`` is a valid address, appears once in the file, and is a Token or Token-2022 mint on chain
      (all mints are read in one ``getMultipleAccounts`` batch; if the chain cannot be reached, the import
      stops with that error);
    - ``decimals`` equal the mint's decimals on chain; ``token_program`` is read from the chain (the
      mint's owner). The column is optional; when given it must agree with the chain;
    - ``symbol`` is unique in the file and not used by another token in the database (compared without
      case, so ``usdc`` cannot sit next to ``USDC``);
    - SOL, the native token, has no mint and 9 decimals, and only SOL may have no mint.

    A bad row is reported with its row number (data rows counted from 1) and the reason in the admin's
    import preview. The import runs in one transaction.
    """

    symbol = Field(attribute="symbol", column_name="symbol", widget=TextWidget())
    name = Field(attribute="name", column_name="name", widget=TextWidget())
    mint = Field(attribute="mint", column_name="mint", widget=MintWidget())
    decimals = Field(attribute="decimals", column_name="decimals", widget=WholeNumberWidget())
    token_program = Field(attribute="token_program", column_name="token_program", readonly=True)
    is_active = Field(
        attribute="is_active", column_name="is_active", widget=widgets.BooleanWidget(), default=True
    )

    import_allowed = True

    class Meta:
        model = PaymentToken
        fields = ("symbol", "name", "mint", "decimals", "token_program", "is_active")
        export_order = fields
        import_order = fields
        import_id_fields = ["mint"]
        use_transactions = True  # whatever IMPORT_EXPORT_USE_TRANSACTIONS says
        # skip_diff stays False: token files are short, and the preview's diff is what the operator checks.
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        name = "Payment tokens"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._checks = None
        self._file_has_errors = False

    def import_data(self, dataset, *args, **kwargs):
        # A file with a bad row imports nothing, on every path (the admin's confirm step included).
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, *args, **kwargs)

    # The file is checked as a whole, before the first row is written.
    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._checks = None
        rows = [dict(zip(dataset.headers or [], values, strict=False)) for values in dataset]
        self._checks = self.check_rows(rows)
        self._file_has_errors = any(check.errors for check in self._checks.values())

    def check_rows(self, rows, *, editing=None):
        """``{row number: RowCheck}`` for every row, with one batch read of the mints on chain.

        The admin's token form checks its one row here too, with ``editing`` the token it changes (left
        out when symbols are compared with the database).
        """
        from .chain.keypairs import parse_pubkey

        checks, parsed = {}, {}
        for number, row in enumerate(rows, 1):
            check = checks[number] = RowCheck()
            symbol = self._clean(check, "symbol", row) or ""
            mint = self._clean(check, "mint", row)
            decimals = self._clean(check, "decimals", row)
            program = str(row.get("token_program") or "").strip()
            if not symbol:
                check.add("symbol", "A symbol is required.")
            if decimals is None and "decimals" not in check.errors:
                check.add("decimals", "Decimals are required.")
            if program and program not in TokenProgram.values:
                check.add("token_program", f"{program!r} is not one of {', '.join(TokenProgram.values)}.")
            if mint is not None:
                try:
                    parse_pubkey(mint)
                except ValueError as exc:
                    check.add("mint", str(exc))
                if symbol.upper() == NATIVE_SYMBOL:
                    check.add("mint", "SOL is the native token: leave its mint empty.")
            else:
                if symbol and symbol.upper() != NATIVE_SYMBOL:
                    check.add("mint", f"Only SOL (the native token) has no mint: give the mint of {symbol}.")
                if decimals is not None and decimals != NATIVE_DECIMALS:
                    check.add("decimals", f"SOL has {NATIVE_DECIMALS} decimals, not {decimals}.")
                if program and program != TokenProgram.NATIVE:
                    check.add("token_program", "A token without a mint is native SOL.")
                check.token_program = TokenProgram.NATIVE.value
            parsed[number] = (symbol, mint, decimals, program)

        self._check_duplicates(checks, parsed)
        self._check_against_database(checks, parsed, editing=editing)
        self._check_against_chain(checks, parsed)
        return checks

    def _clean(self, check, name, row):
        if self.fields[name].column_name not in row:
            return None
        try:
            return self.fields[name].clean(row)
        except ValueError as exc:
            check.add(name, str(exc))
            return None

    @staticmethod
    def _check_duplicates(checks, parsed):
        symbols, mints = {}, {}
        for number, (symbol, mint, _decimals, _program) in parsed.items():
            if symbol:
                first = symbols.setdefault(symbol.casefold(), number)
                if first != number:
                    checks[number].add("symbol", f"Symbol {symbol} is also on row {first}.")
            first = mints.setdefault(mint, number)
            if first != number:
                what = "This mint" if mint else "SOL (no mint)"
                checks[number].add("mint", f"{what} is also on row {first}.")

    @staticmethod
    def _check_against_database(checks, parsed, *, editing=None):
        tokens = PaymentToken.objects.only("symbol", "mint")
        if editing is not None and editing.pk is not None:
            tokens = tokens.exclude(pk=editing.pk)
        existing = {t.symbol.casefold(): t for t in tokens}
        for number, (symbol, mint, _decimals, _program) in parsed.items():
            other = existing.get(symbol.casefold()) if symbol else None
            # A file's row with the same mint updates that token; a form's edit is one token only.
            if other is not None and (editing is not None or other.mint != mint):
                owner = f"the token with mint {other.mint}" if other.mint else "native SOL"
                checks[number].add("symbol", f"Symbol {symbol} is already used by {owner}.")

    @staticmethod
    def _check_against_chain(checks, parsed):
        from .chain.client import ChainClient

        wanted = {
            number: mint
            for number, (_symbol, mint, _decimals, _program) in parsed.items()
            if mint is not None and "mint" not in checks[number].errors
        }
        mints = sorted(set(wanted.values()))
        if not mints:
            return
        try:
            with ChainClient.from_settings() as chain:
                infos = dict(zip(mints, chain.get_mints(mints), strict=True))
        except ChainError as exc:
            raise ChainError(
                f"Could not read the mints from the chain, so nothing was imported: {exc}"
            ) from exc
        for number, mint in wanted.items():
            check, info = checks[number], infos[mint]
            _symbol, _mint, decimals, program = parsed[number]
            chain_program = _program_name(info.token_program) if info is not None else None
            if info is None or chain_program is None:
                check.add("mint", f"{mint} is not a Token or Token-2022 mint on chain.")
                continue
            if decimals is not None and decimals != info.decimals:
                check.add("decimals", f"The mint has {info.decimals} decimals on chain, not {decimals}.")
            if program and program != chain_program:
                check.add("token_program", f"The mint belongs to the {chain_program} program, not {program}.")
            check.token_program = chain_program

    # Each row then carries the problems found above into import-export's validation errors.
    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        check = (self._checks or {}).get(kwargs.get("row_number"))
        if check is None:
            errors.setdefault(NON_FIELD_ERRORS, []).append("This row was not checked.")
        else:
            for field_name, messages in check.errors.items():
                already = {
                    str(m.message if isinstance(m, ValidationError) else m)
                    for m in errors.get(field_name, [])
                }
                errors.setdefault(field_name, []).extend(m for m in messages if m not in already)
            if check.token_program:
                instance.token_program = check.token_program
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if import_validation_errors:
            raise ValidationError(import_validation_errors)  # the file's own problems, without echoes
        super().validate_instance(instance, import_validation_errors, validate_unique)

    def save_instance(self, instance, is_create, row, **kwargs):
        if self._file_has_errors:
            return  # another row is wrong: nothing of this file is written
        super().save_instance(instance, is_create, row, **kwargs)


#: Every resource of the app (the admin uses these; a test checks each against the sensitive fields).
RESOURCES = (
    PaymentResource,
    OneTimeWalletResource,
    PaymentTokenResource,
    OperationRunResource,
    OperationItemResource,
    DifferenceResource,
)
