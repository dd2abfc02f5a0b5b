"""The one import: payment tokens, each row checked against the chain before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from import_export import widgets
from import_export.fields import Field

from ..exceptions import ChainError
from ..models import (
    PaymentToken,
    TokenProgram,
)
from .safety import (
    MintWidget,
    SafeModelResource,
    TextWidget,
    WholeNumberWidget,
)

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
    from ..chain.accounts import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

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
        from ..chain.keypairs import parse_pubkey

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
        from ..chain_client import chain_client

        wanted = {
            number: mint
            for number, (_symbol, mint, _decimals, _program) in parsed.items()
            if mint is not None and "mint" not in checks[number].errors
        }
        mints = sorted(set(wanted.values()))
        if not mints:
            return
        try:
            with chain_client() as chain:
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
