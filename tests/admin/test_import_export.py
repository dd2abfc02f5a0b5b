"""Import and export through the admin: content, formats, no secret, formula escaping, permissions,
token import validated against the chain, and exports that stream with a fixed number of queries."""

import datetime
import io
import json

import openpyxl
import pytest
import tablib
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from import_export.fields import Field
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from solana_payments.admin.exports import ExportAdminMixin
from solana_payments.models import (
    OneTimeWallet,
    OperationItem,
    OperationRun,
    Payment,
    PaymentToken,
)
from solana_payments.resources import (
    RESOURCES,
    SENSITIVE_NAME,
    OneTimeWalletResource,
    OperationItemResource,
    OperationRunResource,
    PaymentResource,
    PaymentTokenResource,
    SafeModelResource,
    sensitive_field_names,
)
from tests.support.exports import cell, export, export_form_data, export_url, grant, table, text_of
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db

FORMATS = {"csv": 0, "xlsx": 1, "json": 2}
RESOURCE_OF = {
    "payment": PaymentResource,
    "onetimewallet": OneTimeWalletResource,
    "paymenttoken": PaymentTokenResource,
    "operationrun": OperationRunResource,
    "operationitem": OperationItemResource,
}
SIGNATURE = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"
PENDING_TX = "AZ3wXN7TQ6Wsj3+o1b0EncEoT4c1VEd9dH0Zz9Vq7cGvI2ohHnQ2uZ5XUzJm5E0O8xpL2qf3xq9Y0zEXAMPLESIGNEDTX=="


# -- helpers ------------------------------------------------------------------------------------------


@pytest.fixture
def records(tokens, admin_user):
    """Three payments (one paid 25.000001 USDC), a wallet mid-sweep, and a run with one item."""
    payments, keypairs = make_payments(3, tokens, amounts={"SOL": 500_000_000, "USDC": 25_000_001})
    paid = payments[0]
    Payment.objects.filter(pk=paid.pk).update(
        status="confirmed",
        paid_token=tokens["USDC"],
        paid_amount=25_000_001,
        refunded_amount=5_000_000,
        paid_signature=SIGNATURE,
        paid_at=timezone.now(),
        label="Order 42",
        email="buyer@example.com",
    )
    OneTimeWallet.objects.filter(pk=paid.wallet_id).update(
        state="processing_funds",
        rent_paid=2_039_280,
        pending_signature=SIGNATURE,
        pending_transaction=PENDING_TX,
    )
    run = OperationRun.objects.create(
        kind="sweep",
        trigger="admin_action",
        requested_by=admin_user,
        status="succeeded",
        total=1,
        done=1,
        fees_paid=5_000,
        parameters={"ids": [paid.pk], "dry_run": False},
    )
    OperationItem.objects.create(
        run=run,
        payment=paid,
        wallet=paid.wallet,
        outcome="done",
        reason="swept",
        signature=SIGNATURE,
        token=tokens["USDC"],
        amount=25_000_001,
        fee=5_000,
        rent=2_039_280,
    )
    wallets = {w.pk: w for w in OneTimeWallet.objects.all()}
    return {
        "payments": payments,
        "paid": Payment.objects.select_related("wallet").get(pk=paid.pk),
        "keypairs": keypairs,
        "wallets": [wallets[p.wallet_id] for p in payments],
        "run": run,
    }


# -- exports: content in every format -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_payment_export(admin_client, records, fmt):
    rows = table(export(admin_client, "payment", fmt), fmt)
    assert len(rows) == 3
    paid = records["paid"]
    row = next(r for r in rows if r["reference"] == str(paid.reference))
    assert row["options"] == "SOL 0.5; USDC 25.000001"
    assert row["paid_token"] == "USDC"
    assert row["paid_amount"] == "25.000001"
    assert row["refunded_amount"] == "5"
    assert row["signature"] == SIGNATURE
    assert row["wallet"] == paid.wallet.address
    assert row["wallet_state"] == "processing_funds"
    assert row["status"] == "confirmed"
    assert row["label"] == "Order 42" and row["email"] == "buyer@example.com"
    assert row["deadline"].endswith("+00:00") and row["paid_at"]
    unpaid = next(r for r in rows if r["reference"] != str(paid.reference))
    assert unpaid["options"] == "SOL 0.5; USDC 25.000001"
    assert cell(unpaid["paid_amount"]) == "" and cell(unpaid["signature"]) == ""
    assert cell(unpaid["refunded_amount"]) == ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_wallet_export(admin_client, records, fmt):
    rows = table(export(admin_client, "onetimewallet", fmt), fmt)
    assert len(rows) == 3
    wallet = records["paid"].wallet
    row = next(r for r in rows if r["address"] == wallet.address)
    assert row["state"] == "processing_funds"
    assert row["payment"] == str(records["paid"].reference)
    assert cell(row["rent_paid_lamports"]) == "2039280"
    assert cell(row["rent_reclaimed_lamports"]) == "0"
    assert set(row) == {
        "address",
        "state",
        "payment",
        "receiver",
        "rent_paid_lamports",
        "rent_reclaimed_lamports",
        "last_checked_at",
        "created_at",
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_token_export(admin_client, tokens, fmt):
    rows = {r["symbol"]: r for r in table(export(admin_client, "paymenttoken", fmt), fmt)}
    assert set(rows) == {"SOL", "USDC", "PYUSD"}
    assert cell(rows["USDC"]["decimals"]) == "6"
    assert rows["USDC"]["mint"] == tokens["USDC"].mint
    assert rows["PYUSD"]["token_program"] == "token-2022"
    assert cell(rows["SOL"]["mint"]) == "" and rows["SOL"]["token_program"] == "native"


@pytest.mark.parametrize("fmt", FORMATS)
def test_run_export(admin_client, records, admin_user, fmt):
    (row,) = table(export(admin_client, "operationrun", fmt), fmt)
    assert row["kind"] == "sweep" and row["status"] == "succeeded" and row["trigger"] == "admin_action"
    assert row["requested_by"] == admin_user.get_username()
    assert cell(row["fees_paid_lamports"]) == "5000"
    assert json.loads(row["parameters"]) == {"dry_run": False, "ids": [records["paid"].pk]}
    assert row["created_at"].endswith("+00:00")


@pytest.mark.parametrize("fmt", FORMATS)
def test_item_export(admin_client, records, admin_user, fmt):
    (row,) = table(export(admin_client, "operationitem", fmt), fmt)
    assert row["amount"] == "25.000001" and row["token"] == "USDC"
    assert row["signature"] == SIGNATURE
    assert cell(row["fee_lamports"]) == "5000" and cell(row["rent_lamports"]) == "2039280"
    assert row["requested_by"] == admin_user.get_username()
    assert row["kind"] == "sweep" and row["outcome"] == "done"
    assert row["wallet"] == records["paid"].wallet.address
    assert row["payment"] == str(records["paid"].reference)


def test_export_action_sits_on_the_changelist(admin_client, records):
    changelist = reverse("admin:solana_payments_payment_changelist")
    page = admin_client.get(changelist)
    assert "export_admin_action" in dict(page.context["action_form"].fields["action"].choices)
    assert export_url("payment").encode() in page.content  # the Export button

    paid = records["paid"]
    form = admin_client.post(changelist, {"action": "export_admin_action", "_selected_action": [paid.pk]})
    assert form.status_code == 200
    assert form.context["form"].initial["export_items"] == [paid.pk]

    response = export(admin_client, "payment", "csv", export_items=[str(paid.pk)])
    (row,) = table(response, "csv")
    assert row["reference"] == str(paid.reference)


def test_the_runs_export_has_a_url_name_for_the_dashboard(admin_client, records):
    url = reverse("admin:solana_payments_operationrun_export")
    assert url == "/admin/solana_payments/operationrun/export/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert [label for _, label in page.context["form"].fields["format"].choices][1:] == [
        "csv",
        "xlsx",
        "json",
    ]


# -- no secret, by construction and in every body -----------------------------------------------------


def secret_forms(keypair, wallet):
    raw = bytes(keypair)
    return [
        str(keypair),  # base58 of the 64 bytes, as wallets export it
        str(Pubkey.from_bytes(raw[:32])),  # base58 of the 32-byte seed
        json.dumps(list(raw)),
        json.dumps(list(raw), separators=(",", ":")),
        ",".join(str(b) for b in raw),
        raw.hex(),
        raw[:32].hex(),
        wallet.encrypted_secret,
        wallet.encrypted_secret[:40],
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_export_holds_a_secret(admin_client, records, fmt):
    bodies = {model: text_of(export(admin_client, model, fmt), fmt) for model in RESOURCE_OF}
    assert records["paid"].wallet.address in bodies["onetimewallet"]  # the exports did run
    for keypair, wallet in zip(records["keypairs"], records["wallets"], strict=True):
        assert wallet.encrypted_secret  # the fixture's wallets really have secrets
        for model, body in bodies.items():
            for secret in secret_forms(keypair, wallet):
                assert secret not in body, (model, fmt)
    for model, body in bodies.items():
        assert PENDING_TX not in body and PENDING_TX[:40] not in body, model


def test_exports_never_read_the_secret_columns(admin_client, records):
    with CaptureQueriesContext(connection) as queries:
        for model in RESOURCE_OF:
            export(admin_client, model, "csv")
    exports = [q["sql"] for q in queries.captured_queries if "solana_payments_" in q["sql"]]
    sql = "\n".join(exports)
    assert "onetimewallet" in sql and "auth_user" in sql
    assert "encrypted_secret" not in sql
    assert "pending_transaction" not in sql
    assert "password" not in sql  # the requesting user of a run is joined without the password hash


@pytest.mark.parametrize("resource", [PaymentResource, OperationItemResource])
def test_any_join_of_a_wallet_leaves_its_secret_behind(records, resource):
    model = resource._meta.model
    every_join = [f.name for f in model._meta.concrete_fields if f.is_relation]  # no bare select_related()
    for queryset in (model.objects.select_related(*every_join), model.objects.select_related("wallet")):
        with CaptureQueriesContext(connection) as queries:
            dataset = resource().export(queryset)
        assert len(dataset) >= 1
        sql = "\n".join(q["sql"] for q in queries.captured_queries)
        assert "onetimewallet" in sql
        assert "encrypted_secret" not in sql and "pending_transaction" not in sql


def test_every_resource_column_is_clear_of_sensitive_fields():
    sensitive = sensitive_field_names(OneTimeWallet)
    assert sensitive == ["encrypted_secret", "pending_transaction"]
    for model_admin in admin.site._registry.values():
        if isinstance(model_admin, ExportAdminMixin):
            for resource in model_admin.get_export_resource_classes(None):
                assert resource in RESOURCES
    for resource in RESOURCES:
        assert issubclass(resource, SafeModelResource)
        for name, field in resource.fields.items():
            path = (field.attribute or "").split("__")
            assert not SENSITIVE_NAME.search(name), (resource, name)
            assert not any(SENSITIVE_NAME.search(part) for part in path), (resource, name)
            assert not set(path) & set(sensitive), (resource, name)


def test_a_resource_naming_a_secret_is_refused_when_defined():
    with pytest.raises(ImproperlyConfigured, match="encrypted_secret"):

        class LeakyWallets(SafeModelResource):
            class Meta:
                model = OneTimeWallet
                fields = ("address", "encrypted_secret")

    with pytest.raises(ImproperlyConfigured, match="pending_transaction"):

        class LeakyPayments(SafeModelResource):
            tx = Field(attribute="wallet__pending_transaction")

            class Meta:
                model = Payment
                fields = ("reference", "tx")

    with pytest.raises(ImproperlyConfigured, match="allow-list"):

        class EverythingWallets(SafeModelResource):
            class Meta:
                model = OneTimeWallet


def test_a_resource_s_columns_are_the_fields_it_declares_in_their_order():
    from solana_payments.resources.safety import text

    class StateFirst(SafeModelResource):
        state = text("state")
        address = text("address")

        class Meta:
            model = OneTimeWallet

    assert StateFirst._meta.fields == StateFirst._meta.export_order == ("state", "address")
    assert StateFirst().get_export_headers() == ["state", "address"]  # no other field of the model


def test_an_admin_without_a_safe_resource_refuses_to_export(rf, admin_user):
    class DefaultResourceAdmin(ExportAdminMixin, admin.ModelAdmin):
        pass  # no resource_classes: import-export's default would export every field

    request = rf.get("/")
    request.user = admin_user
    with pytest.raises(ImproperlyConfigured, match="SafeModelResource"):
        DefaultResourceAdmin(OneTimeWallet, admin.site).get_export_resource_classes(request)


def test_export_only_resources_cannot_import():
    dataset = tablib.Dataset(headers=["address"])
    with pytest.raises(ImproperlyConfigured, match="export-only"):
        OneTimeWalletResource().import_data(dataset, dry_run=True)


# -- formula escaping ---------------------------------------------------------------------------------

DANGEROUS = ["=", "+", "-", "@", "\t", "\r"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
@pytest.mark.parametrize("lead", DANGEROUS, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_cells_that_would_be_formulas_are_escaped(admin_client, records, lead, fmt):
    label, email, reason = f"{lead}HYPERLINK(1)", f"{lead}cmd@example.com", f"{lead}SUM(A1:A9)"
    Payment.objects.filter(pk=records["paid"].pk).update(label=label, email=email)
    OperationItem.objects.update(reason=reason)

    def read(value):
        # XML turns a bare carriage return into a line feed when the workbook is read back.
        return value.replace("\r", "\n") if fmt == "xlsx" else value

    payments = table(export(admin_client, "payment", fmt), fmt)
    row = next(r for r in payments if r["reference"] == str(records["paid"].reference))
    assert row["label"] == read("'" + label)
    assert row["email"] == read("'" + email)
    (item,) = table(export(admin_client, "operationitem", fmt), fmt)
    assert item["reason"] == read("'" + reason)

    if fmt == "xlsx":  # and the spreadsheet holds text, not formulas
        response = export(admin_client, "payment", fmt)
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_harmless_cells_are_left_alone(admin_client, records):
    Payment.objects.filter(pk=records["paid"].pk).update(label="Plain = text", email="a-b@example.com")
    rows = table(export(admin_client, "payment", "csv"), "csv")
    row = next(r for r in rows if r["reference"] == str(records["paid"].reference))
    assert row["label"] == "Plain = text" and row["email"] == "a-b@example.com"


# -- permissions --------------------------------------------------------------------------------------


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("model", RESOURCE_OF)
def test_staff_without_the_export_permission_gets_403(client, staff, records, model):
    grant(staff, f"view_{model}")
    assert client.get(export_url(model)).status_code == 403
    assert client.post(export_url(model), export_form_data(model, "csv")).status_code == 403
    page = client.get(reverse(f"admin:solana_payments_{model}_changelist"))
    assert page.status_code == 200
    actions = page.context["action_form"].fields["action"].choices if page.context["action_form"] else []
    assert "export_admin_action" not in dict(actions)
    assert export_url(model).encode() not in page.content

    grant(staff, f"export_{model}")
    assert client.get(export_url(model)).status_code == 200
    assert client.post(export_url(model), export_form_data(model, "csv")).status_code == 200


def test_the_export_permission_alone_does_not_show_a_table(client, staff, records):
    grant(staff, "export_payment")  # no view permission
    assert client.get(export_url("payment")).status_code == 403


def test_token_import_needs_its_own_permission(client, staff, tokens):
    url = reverse("admin:solana_payments_paymenttoken_import")
    process = reverse("admin:solana_payments_paymenttoken_process_import")
    grant(staff, "view_paymenttoken", "add_paymenttoken", "change_paymenttoken", "export_paymenttoken")
    assert client.get(url).status_code == 403
    assert client.post(process, {}).status_code == 403
    page = client.get(reverse("admin:solana_payments_paymenttoken_changelist"))
    assert url.encode() not in page.content

    grant(staff, "import_paymenttoken")
    staff = type(staff).objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get(url).status_code == 200
    assert url.encode() in client.get(reverse("admin:solana_payments_paymenttoken_changelist")).content


def test_the_import_permission_needs_add_and_change_too(client, staff, tokens):
    grant(staff, "view_paymenttoken", "import_paymenttoken")
    assert client.get(reverse("admin:solana_payments_paymenttoken_import")).status_code == 403


# -- token import -------------------------------------------------------------------------------------

HEADERS = ["symbol", "name", "mint", "decimals", "is_active"]


@pytest.fixture
def chain_mints(shop):
    """The localnet's real mints, with no token rows yet in the database."""
    PaymentToken.objects.all().delete()
    return {symbol: str(mint) for symbol, mint in shop.localnet.mints.items()}


def good_rows(mints):
    return [
        ["SOL", "Solana", "", 9, 1],
        ["USDC", "USD Coin", mints["USDC"], 6, 1],
        ["PYUSD", "PayPal USD", mints["PYUSD"], 6, 0],
    ]


def upload(client, rows, fmt="csv", headers=HEADERS):
    dataset = tablib.Dataset(*rows, headers=headers)
    content = dataset.export(fmt)
    if isinstance(content, str):
        content = content.encode()
    upload = io.BytesIO(content)
    upload.name = f"tokens.{fmt}"
    return client.post(
        reverse("admin:solana_payments_paymenttoken_import"),
        {"format": str(FORMATS[fmt]), "resource": "0", "import_file": upload},
    )


def confirm(client, preview):
    form = preview.context["confirm_form"]
    return client.post(reverse("admin:solana_payments_paymenttoken_process_import"), form.initial)


@pytest.mark.parametrize("fmt", FORMATS)
def test_good_tokens_import_with_the_program_read_from_chain(admin_client, chain_mints, fmt):
    preview = upload(admin_client, good_rows(chain_mints), fmt)
    assert preview.status_code == 200
    result = preview.context["result"]
    assert not result.has_errors() and not result.has_validation_errors(), preview.content[:2000]
    assert preview.context["confirm_form"] is not None
    assert PaymentToken.objects.count() == 0  # the preview wrote nothing

    done = confirm(admin_client, preview)
    assert done.status_code == 302
    tokens = {t.symbol: t for t in PaymentToken.objects.all()}
    assert set(tokens) == {"SOL", "USDC", "PYUSD"}
    assert (tokens["SOL"].mint, tokens["SOL"].token_program, tokens["SOL"].decimals) == (None, "native", 9)
    assert (tokens["USDC"].mint, tokens["USDC"].token_program) == (chain_mints["USDC"], "token")
    assert (tokens["PYUSD"].mint, tokens["PYUSD"].token_program) == (chain_mints["PYUSD"], "token-2022")
    assert tokens["USDC"].decimals == tokens["PYUSD"].decimals == 6
    assert tokens["USDC"].is_active and not tokens["PYUSD"].is_active


def test_all_mints_are_read_in_one_batch(chain_mints, shop):
    dataset = tablib.Dataset(*good_rows(chain_mints), headers=HEADERS)
    shop.localnet.reset_counts()
    result = PaymentTokenResource().import_data(dataset, dry_run=True)
    assert not result.has_validation_errors()
    assert shop.localnet.request_counts.get("getMultipleAccounts") == 1
    assert sum(shop.localnet.request_counts.values()) == 1


def test_an_export_reimports_unchanged(admin_client, shop):
    exported = export(admin_client, "paymenttoken", "csv").content
    upload_file = io.BytesIO(exported)
    upload_file.name = "tokens.csv"
    preview = admin_client.post(
        reverse("admin:solana_payments_paymenttoken_import"),
        {"format": "0", "resource": "0", "import_file": upload_file},
    )
    result = preview.context["result"]
    assert not result.has_validation_errors(), preview.content[:2000]
    assert [row.import_type for row in result.rows] == ["skip", "skip", "skip"]


def test_an_import_may_rename_and_deactivate_a_token(admin_client, shop):
    mints = {symbol: str(mint) for symbol, mint in shop.localnet.mints.items()}
    preview = upload(admin_client, [["USDC", "USD Coin (renamed)", mints["USDC"], 6, 0]])
    assert confirm(admin_client, preview).status_code == 302
    usdc = PaymentToken.objects.get(mint=mints["USDC"])
    assert (usdc.name, usdc.is_active, usdc.pk) == ("USD Coin (renamed)", False, shop.tokens["USDC"].pk)


# case: (the good rows around it, the bad row, its position, the field, the reason shown)
BAD_ROWS = {
    "bad mint": (["BAD", "Bad", "not-a-mint", 6, 1], "mint", "is not a valid Solana address"),
    "wrong decimals": (
        ["USDC", "USD Coin", "{USDC}", 9, 1],
        "decimals",
        "The mint has 6 decimals on chain, not 9.",
    ),
    "duplicate symbol": (["usdc", "Another", "{PYUSD}", 6, 1], "symbol", "Symbol usdc is also on row 2."),
    "SOL with a mint": (
        ["SOL", "Solana", "{GHOST}", 9, 1],
        "mint",
        "SOL is the native token: leave its mint empty.",
    ),
    "not a mint on chain": (
        ["GHOST", "Ghost", "{GHOST}", 6, 1],
        "mint",
        "is not a Token or Token-2022 mint on chain.",
    ),
    "no mint, not SOL": (["WEIRD", "Weird", "", 6, 1], "mint", "Only SOL (the native token) has no mint"),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_one_bad_row_imports_nothing_and_shows_row_and_reason(admin_client, chain_mints, case):
    bad, field, reason = BAD_ROWS[case]
    mints = {**chain_mints, "GHOST": str(Keypair().pubkey())}
    bad = [value.format(**mints) if isinstance(value, str) else value for value in bad]
    sol, usdc, pyusd = good_rows(chain_mints)
    rows = {
        "wrong decimals": [sol, pyusd, bad],  # its mint is USDC's, so USDC's own row stays out
        "duplicate symbol": [sol, usdc, bad],
        "SOL with a mint": [usdc, pyusd, bad],
        "no mint, not SOL": [usdc, pyusd, bad],
    }.get(case, [sol, usdc, pyusd, bad])
    bad_number = len(rows)

    preview = upload(admin_client, rows)
    assert preview.status_code == 200
    assert preview.context.get("confirm_form") is None
    result = preview.context["result"]
    (invalid,) = result.invalid_rows
    assert invalid.number == bad_number
    messages = " ".join(str(m) for m in invalid.field_specific_errors[field])
    assert reason in messages
    html = preview.content.decode()
    assert "Some rows failed to validate" in html
    assert f"<td>{bad_number} </td>" in html
    assert reason.split(":")[0].replace("'", "&#x27;") in html
    assert PaymentToken.objects.count() == 0


def test_a_symbol_taken_in_the_database_is_refused(admin_client, shop):
    mints = {symbol: str(mint) for symbol, mint in shop.localnet.mints.items()}
    PaymentToken.objects.filter(symbol="PYUSD").delete()
    preview = upload(admin_client, [["usdc", "PayPal USD", mints["PYUSD"], 6, 1]])
    (invalid,) = preview.context["result"].invalid_rows
    assert invalid.number == 1
    assert "Symbol usdc is already used by the token with mint" in str(
        invalid.field_specific_errors["symbol"]
    )
    assert not PaymentToken.objects.filter(mint=mints["PYUSD"]).exists()


def test_a_token_program_column_must_agree_with_the_chain(admin_client, chain_mints):
    rows = [["USDC", "USD Coin", chain_mints["USDC"], 6, 1, "token-2022"]]
    preview = upload(admin_client, rows, headers=[*HEADERS, "token_program"])
    (invalid,) = preview.context["result"].invalid_rows
    assert "belongs to the token program, not token-2022" in str(
        invalid.field_specific_errors["token_program"]
    )


def test_the_whole_import_is_atomic_even_past_the_preview(chain_mints):
    rows = [*good_rows(chain_mints), ["BAD", "Bad", "not-a-mint", 6, 1]]
    result = PaymentTokenResource().import_data(tablib.Dataset(*rows, headers=HEADERS), dry_run=False)
    assert result.has_validation_errors()
    assert PaymentToken.objects.count() == 0


def test_a_chain_outage_stops_the_import_with_a_clear_error(admin_client, configure, db):
    configure(RPC_URL="http://127.0.0.1:9", RPC_MAX_RETRY_SECONDS=0.2, RPC_TIMEOUT=0.5)
    rows = [["USDC", "USD Coin", str(Keypair().pubkey()), 6, 1]]
    preview = upload(admin_client, rows)
    assert preview.status_code == 200
    assert preview.context.get("confirm_form") is None
    result = preview.context["result"]
    assert result.has_errors()
    assert "Could not read the mints from the chain, so nothing was imported" in preview.content.decode()
    assert PaymentToken.objects.count() == 0


# -- streaming: the query count does not grow with the rows -------------------------------------------


def test_payment_export_queries_do_not_grow_with_rows(admin_client, tokens):
    def export_queries(expected_rows):
        with CaptureQueriesContext(connection) as queries:
            response = export(admin_client, "payment", "csv")
        rows = table(response, "csv")
        assert len(rows) == expected_rows
        assert rows[0]["options"] == "SOL 1; USDC 25"
        return len(queries)

    make_payments(50, tokens)
    small = export_queries(50)
    make_payments(4_950, tokens, expires_in=3_600)
    large = export_queries(5_000)
    assert large == small
    assert small <= 6


@pytest.mark.parametrize("model", ["onetimewallet", "operationitem"])
def test_other_exports_do_not_grow_with_rows(admin_client, tokens, admin_user, model):
    payments, _ = make_payments(300, tokens)
    run = OperationRun.objects.create(kind="sweep", trigger="command", requested_by=admin_user)

    def items(chosen):
        OperationItem.objects.bulk_create(
            [
                OperationItem(
                    run=run, payment=p, wallet=p.wallet, outcome="done", token=tokens["USDC"], amount=1
                )
                for p in chosen
            ]
        )

    items(payments[:10])
    with CaptureQueriesContext(connection) as small:
        export(admin_client, model, "csv")
    items(payments[10:])
    with CaptureQueriesContext(connection) as large:
        export(admin_client, model, "csv")
    assert len(small) == len(large)


def test_payment_options_without_the_aggregate_fall_back_to_pages(tokens, monkeypatch):
    """On a database without group_concat/string_agg the options still export (paginated prefetch)."""
    import solana_payments.resources.records as resources

    make_payments(3, tokens, amounts={"SOL": 500_000_000, "USDC": 25_000_001})
    monkeypatch.setattr(resources, "AGGREGATE_OPTION_VENDORS", ())
    dataset = PaymentResource().export(Payment.objects.all())
    assert dataset.dict[0]["options"] == "SOL 0.5; USDC 25.000001"
    assert datetime.datetime.fromisoformat(dataset.dict[0]["created_at"]).utcoffset() == datetime.timedelta(0)
