"""Solana Pay transfer requests and their QR codes, checked against the spec and read back by a QR decoder.

Spec: https://docs.solanapay.com/spec#specification-transfer-request (recipient in the path; ``amount`` in
token units, a decimal without exponent and with at most the mint's decimals; ``spl-token`` for SPL Token
and Token-2022 mints; ``label``, ``message``, ``memo`` URL-encoded).
"""

import re
from decimal import Decimal
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from django.template import Context, Template
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from solana_payments.models import PaymentOption, PaymentToken, TokenProgram
from solana_payments.payments import create_payment
from solana_payments.solana_pay import payment_options, qr_code_svg, transfer_request_url
from tests.support.qr import read_qr

pytestmark = pytest.mark.django_db

AMOUNT = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")  # the spec's amount: no sign, exponent or bare point


def parse(url):
    """``(recipient, [(name, value)])`` of a ``solana:`` URL, values decoded."""
    parts = urlsplit(url)
    assert parts.scheme == "solana"
    assert "+" not in parts.query  # spaces are %20 (encodeURIComponent), never '+'
    return parts.path, [(name, unquote(value)) for name, value in parse_qsl(parts.query, strict_parsing=True)]


def option_of(payment, symbol):
    return next(o for o, _ in payment_options(payment) if o.token.symbol == symbol)


def check_amount(value, token, base):
    assert AMOUNT.match(value), value
    assert "e" not in value.lower()
    if "." in value:
        assert len(value.split(".")[1]) <= token.decimals
        assert not value.endswith("0"), "no trailing zeros"
    assert Decimal(value).scaleb(token.decimals) == base


def test_sol_option_is_a_native_transfer_request(tokens):
    payment = create_payment({"SOL": Decimal("1.000000001")}, label="Coffee Shop", message="Order 42")
    option = option_of(payment, "SOL")
    url = transfer_request_url(option)
    recipient, params = parse(url)
    assert recipient == payment.wallet.address
    assert Pubkey.from_string(recipient)  # a base58 address, not a token account
    assert params == [("amount", "1.000000001"), ("label", "Coffee Shop"), ("message", "Order 42")]
    check_amount(dict(params)["amount"], tokens["SOL"], 1_000_000_001)
    assert read_qr(qr_code_svg(url)) == url


@pytest.mark.parametrize(
    ("symbol", "amount", "expected", "base"),
    [
        ("USDC", Decimal("25"), "25", 25_000_000),  # whole units: no decimal point at all
        ("USDC", Decimal("25.100000"), "25.1", 25_100_000),  # trailing zeros are dropped
        ("USDC", Decimal("0.000001"), "0.000001", 1),  # the smallest unit keeps its leading zero
        ("PYUSD", Decimal("1000000.5"), "1000000.5", 1_000_000_500_000),  # Token-2022 mint
    ],
)
def test_token_options_name_their_mint(tokens, symbol, amount, expected, base):
    payment = create_payment({symbol: amount, "SOL": Decimal("0.5")})
    token = tokens[symbol]
    url = transfer_request_url(option_of(payment, symbol))
    recipient, params = parse(url)
    assert recipient == payment.wallet.address  # the wallet itself: the wallet app derives the ATA
    assert params == [("amount", expected), ("spl-token", token.mint)]
    check_amount(expected, token, base)
    assert read_qr(qr_code_svg(url)) == url
    # The SOL option of the same payment has no spl-token.
    sol_url = transfer_request_url(option_of(payment, "SOL"))
    assert parse(sol_url) == (payment.wallet.address, [("amount", "0.5")])


@pytest.mark.parametrize("program", [TokenProgram.TOKEN, TokenProgram.TOKEN_2022])
def test_the_largest_decimals_and_amounts_stay_exact(tokens, program):
    token = PaymentToken.objects.create(
        symbol="BIG" + program.upper().replace("-", "")[-4:], name="Many decimals", mint=str(Keypair().pubkey()),
        token_program=program, decimals=18,
    )  # fmt: skip
    payment = create_payment({token.symbol: Decimal("1.000000000000000001")})
    url = transfer_request_url(option_of(payment, token.symbol))
    assert dict(parse(url)[1])["amount"] == "1.000000000000000001"
    # The largest amount the database holds, at 18 and at 255 (a mint's largest) decimals.
    option = option_of(payment, token.symbol)
    option.amount = 2**63 - 1
    assert dict(parse(transfer_request_url(option))[1])["amount"] == "9.223372036854775807"
    option.token.decimals = 255
    value = dict(parse(transfer_request_url(option))[1])["amount"]
    check_amount(value, option.token, 2**63 - 1)
    assert value == "0." + "0" * (255 - 19) + "9223372036854775807"
    assert read_qr(qr_code_svg(transfer_request_url(option))) == transfer_request_url(option)


def test_label_message_and_memo_are_url_encoded(tokens):
    payment = create_payment({"USDC": Decimal("5")}, label="Café & Co", message="Order #42 – 2 × mug?=yes")
    option = option_of(payment, "USDC")
    url = transfer_request_url(option, memo="OID-42/a b")
    assert "label=Caf%C3%A9%20%26%20Co" in url
    assert "message=Order%20%2342%20%E2%80%93%202%20%C3%97%20mug%3F%3Dyes" in url
    assert url.endswith("&memo=OID-42%2Fa%20b")
    _, params = parse(url)
    assert [name for name, _ in params] == ["amount", "spl-token", "label", "message", "memo"]
    assert dict(params)["message"] == "Order #42 – 2 × mug?=yes"
    assert read_qr(qr_code_svg(url)) == url


def test_the_shop_label_fills_in_for_payments_without_one(tokens, configure):
    payment = create_payment({"SOL": Decimal("0.5")})
    option = option_of(payment, "SOL")
    assert "label" not in dict(parse(transfer_request_url(option))[1])
    configure(SOLANA_PAY_LABEL="The Shop")
    assert dict(parse(transfer_request_url(option))[1])["label"] == "The Shop"


def test_template_tags_render_the_url_and_its_qr_code(tokens):
    payment = create_payment({"PYUSD": Decimal("7.25")}, label="Shop")
    option = PaymentOption.objects.select_related("token", "payment__wallet").get(payment=payment)
    template = Template(
        "{% load solana_pay %}<a href=\"{% solana_pay_url option memo='m 1' %}\">"
        "{{ option|solana_pay_amount }}</a>{% solana_pay_qr option memo='m 1' %}"
    )
    html = template.render(Context({"option": option}))
    url = transfer_request_url(option, memo="m 1")
    assert f'<a href="{url.replace("&", "&amp;")}">7.25</a>' in html
    svg = html[html.index("<svg") :]
    assert svg.endswith("</svg>")
    assert read_qr(svg) == url
