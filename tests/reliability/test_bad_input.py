"""Bad input gets a clear, specific error and changes nothing (hypothesis drives the untrusted parsers)."""

import datetime
import http.server
import io
import threading
from decimal import Decimal
from io import StringIO

import pytest
import tablib
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from solana_payments.admin.forms import InvalidSelection, parse_ids
from solana_payments.amounts import from_base_units, to_base_units
from solana_payments.models import OneTimeWallet, OperationRun, Payment, PaymentToken
from solana_payments.parameters import MAX_ID
from solana_payments.payments import create_payment
from solana_payments.resources import PaymentTokenResource
from tests.support.factories import make_payments

FAST = hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


# -- amounts ---------------------------------------------------------------------------------------------


@FAST
@given(
    text=st.one_of(st.text(max_size=30), st.decimals(allow_nan=True, allow_infinity=True).map(str)),
    decimals=st.integers(min_value=0, max_value=12),
)
def test_amounts_either_convert_exactly_or_are_refused(text, decimals):
    try:
        base = to_base_units(text, decimals)
    except ValueError as exc:
        assert str(exc)  # a specific message, never a bare error
        return
    assert 0 < base < 2**63
    assert from_base_units(base, decimals) == Decimal(text)


@pytest.mark.parametrize(
    "text, decimals",
    [
        ("0.0999999999999999999999999999999", 9),  # 31 digits: Decimal's context rounded it to 0.1
        ("9223372036854775806.9999999999999999999", 0),
        ("1.0000000000000000000000000000001", 6),
        ("0.0000000001", 9),
        ("1e-99999999999", 9),
    ],
)
def test_amounts_with_more_places_than_the_token_are_refused_not_rounded(text, decimals):
    with pytest.raises(ValueError, match="decimal places"):
        to_base_units(text, decimals)


@pytest.mark.parametrize(
    "text, decimals, base",
    [
        ("0.1000000000000000000000000000000000000", 9, 100_000_000),  # trailing zeros are exact
        ("9223372036854775807", 0, 2**63 - 1),
        ("9223372036.854775807", 9, 2**63 - 1),
        ("25.000001", 6, 25_000_001),
        ("1E+3", 2, 100_000),
    ],
)
def test_long_amounts_convert_exactly(text, decimals, base):
    assert to_base_units(text, decimals) == base
    assert to_base_units(Decimal(text), decimals) == base


@pytest.mark.parametrize("text", ["9223372036854775808", "1e999999999999", "9223372036854775807.5e1"])
def test_amounts_past_the_largest_base_unit_count_are_refused(text):
    with pytest.raises(ValueError, match="too large"):
        to_base_units(text, 0)


@pytest.mark.django_db
def test_create_payment_refuses_an_amount_decimal_would_round(tokens):
    with pytest.raises(ValueError, match="SOL amount 0.0999999999999999999999999999999 has more than 9"):
        create_payment({"SOL": Decimal("0.0999999999999999999999999999999")})
    assert not Payment.objects.exists() and not OneTimeWallet.objects.exists()


@pytest.mark.django_db
@FAST
@given(amount=st.one_of(st.floats(), st.text(max_size=12), st.integers(), st.decimals(places=12)))
def test_create_payment_refuses_bad_amounts_and_writes_nothing(tokens, amount):
    before = Payment.objects.count()
    try:
        create_payment({"USDC": amount})
    except ValueError as exc:
        assert "USDC amount" in str(exc) and Payment.objects.count() == before
    else:
        assert Payment.objects.count() == before + 1


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["", "not-an-address", "0OIl" * 11, "1" * 44, None])
def test_create_payment_refuses_a_bad_receiver_address(tokens, configure, address):
    configure(RECEIVER_ADDRESS=address)
    with pytest.raises(ImproperlyConfigured, match=r"RECEIVER_ADDRESS'\] is not a valid Solana address"):
        create_payment({"SOL": "1"})
    assert not OneTimeWallet.objects.exists()


# -- ids in admin POSTs ----------------------------------------------------------------------------------


@FAST
@given(values=st.lists(st.one_of(st.text(max_size=25), st.integers().map(str)), max_size=6))
def test_posted_ids_are_valid_record_ids_or_a_clear_refusal(values):
    try:
        ids = parse_ids(values)
    except InvalidSelection as exc:
        assert "nothing was run" in str(exc) or "at most" in str(exc)
        return
    assert ids and all(1 <= i <= MAX_ID for i in ids)


@pytest.mark.django_db
@pytest.mark.parametrize("ids", ["", "abc", "-1", "0", "1.5", str(2**63), "9" * 5000, "1,,x", "999999"])
def test_forged_ids_get_a_message_not_a_500(admin_client, tokens, ids):
    make_payments(1, tokens)
    url = reverse("admin:solana_payments_operationrun_run", args=["recheck"])
    response = admin_client.post(url, {"ids": ids, "post": "yes"}, follow=True)
    assert response.status_code == 200
    text = " ".join(str(m) for m in response.context["messages"])
    assert "not a record id" in text or "No records were selected" in text or "does not exist" in text
    assert not OperationRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("object_id", ["abc", "1.5", "-", "%20", str(2**70)])
@pytest.mark.parametrize(
    "name",
    [
        "solana_payments_payment_refund",
        "solana_payments_payment_resolve",
        "solana_payments_operationrun_approval",
    ],
)
def test_desk_and_approval_pages_of_an_id_that_cannot_be_one_are_404(admin_client, name, object_id):
    """As Django's own change pages answer; these answered 500 (a ValueError from the lookup)."""
    url = reverse(f"admin:{name}", args=["0"]).replace("/0/", f"/{object_id}/")
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url, {"decision": "approve"}).status_code == 404


# -- imports ---------------------------------------------------------------------------------------------


def post_import(client, content, fmt):
    upload = io.BytesIO(content)
    upload.name = f"tokens.{fmt}"
    formats = {"csv": 0, "xlsx": 1, "json": 2}
    return client.post(
        reverse("admin:solana_payments_paymenttoken_import"),
        {"format": str(formats[fmt]), "resource": "0", "import_file": upload},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, fmt",
    [
        (b"\x00\x01\x02\xff\xfe binary", "csv"),
        ("symbol,name,mint,decimals\nMÜNZE,Münze,,9\n".encode("latin-1"), "csv"),  # not UTF-8
        (b"PK\x03\x04 not really a workbook", "xlsx"),
        (b'{"symbol": "SOL", ', "json"),
        (b'[{"symbol": ["a list"], "decimals": {"x": 1}}]', "json"),
        (b"symbol,decimals\nSOL,nine\n", "csv"),
    ],
)
def test_malformed_import_files_are_refused_and_import_nothing(admin_client, content, fmt):
    response = post_import(admin_client, content, fmt)
    assert response.status_code == 200
    page = response.content.decode()
    assert "errorlist" in page or "Errors" in page or "error" in page.lower()
    assert response.context.get("confirm_form") is None
    assert not PaymentToken.objects.exists()


@pytest.mark.django_db
def test_a_50_mb_import_is_refused_up_front(admin_client):
    content = b"symbol,name,mint,decimals\n" + b"AAA,Token,,9\n" * (50 * 2**20 // 12)
    response = post_import(admin_client, content, "csv")
    assert "imports here are limited to 1 MB" in response.content.decode()
    assert not PaymentToken.objects.exists()


@pytest.mark.django_db
@FAST
@given(
    rows=st.lists(
        st.tuples(st.text(max_size=8), st.text(max_size=8), st.text(max_size=46), st.text(max_size=4)),
        min_size=1,
        max_size=4,
    )
)
def test_token_import_rows_never_crash_and_bad_files_write_nothing(rows):
    dataset = tablib.Dataset(*rows, headers=["symbol", "name", "mint", "decimals"])
    before = PaymentToken.objects.count()
    result = PaymentTokenResource().import_data(dataset, dry_run=False, raise_errors=False)
    if result.has_errors() or result.has_validation_errors():
        assert PaymentToken.objects.count() == before  # atomic: a bad row anywhere imports nothing


# -- an RPC node that answers nonsense -------------------------------------------------------------------


class NonsenseNode(http.server.BaseHTTPRequestHandler):
    answers = {
        "html": (200, b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        "garbage": (200, b"\x00\xffnot json at all", "application/json"),
        "truncated": (200, b'{"jsonrpc":"2.0","result":{"context":{"slot":1},"value":[', "application/json"),
    }
    mode = "html"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body, kind = self.answers[self.server.mode]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def nonsense_node():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NonsenseNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["html", "garbage", "truncated"])
def test_a_node_answering_nonsense_gives_a_clear_error_and_changes_nothing(
    tokens, configure, nonsense_node, mode
):
    nonsense_node.mode = mode
    configure(RPC_URL=f"http://127.0.0.1:{nonsense_node.server_address[1]}", RPC_MAX_RETRY_SECONDS=0.5)
    payments, _ = make_payments(3, tokens)
    Payment.objects.update(expires_at="2000-01-01T00:00:00Z")
    with pytest.raises(CommandError) as excinfo:
        call_command("close_expired_solana_payments_with_wallets", stdout=StringIO())
    message = str(excinfo.value)
    assert "expire run" in message and "failed" in message
    assert "Traceback" not in message and len(message) < 500
    assert set(Payment.objects.values_list("status", flat=True)) == {"initiated"}
    assert OperationRun.objects.get().status == "failed"


@pytest.mark.parametrize(
    "expires_in, error",
    [
        (float("inf"), "finite"),
        (float("nan"), "finite"),
        (1e300, "at most"),
        (10**14, "at most"),
        (datetime.timedelta(days=3650), "at most"),
        (datetime.timedelta(days=-1), "in the future"),
    ],
)
def test_create_payment_bounds_expires_in(tokens, expires_in, error):
    with pytest.raises(ValueError, match=error):
        create_payment({"SOL": Decimal("1")}, expires_in=expires_in)
    assert not Payment.objects.exists() and not OneTimeWallet.objects.exists()


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"label": "a\x00b"}, "NUL"),
        ({"email": "x" * 250 + "@example.com"}, "at most 254"),
        ({"email": "not an email"}, "not a valid email"),
        ({"message": 5}, "must be a string"),
        ({"metadata": {"a": ["\x00"]}}, "NUL"),
        ({"metadata": {1: "integer key"}}, "keys must be strings"),
        ({"metadata": {"amount": Decimal("1")}}, "JSON values only"),
        ({"metadata": {"amount": float("inf")}}, "finite"),
    ],
)
def test_create_payment_refuses_what_a_database_cannot_store(tokens, fields, error):
    with pytest.raises(ValueError, match=error):
        create_payment({"SOL": Decimal("1")}, **fields)
    assert not Payment.objects.exists() and not OneTimeWallet.objects.exists()
