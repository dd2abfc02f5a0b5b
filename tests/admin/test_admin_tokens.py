"""Token edits in the admin are checked against the local chain like an import, and a token that payments
use keeps its mint, decimals and token program."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from solana_payments.models import PaymentToken, TokenProgram

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_editor(client, django_user_model):
    """A staff user who may change tokens and nothing else."""
    user = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="solana_payments", codename="change_paymenttoken")
    )
    client.force_login(user)
    return client


def change_url(token):
    return reverse("admin:solana_payments_paymenttoken_change", args=[token.pk])


def form_data(token, **changes):
    data = {
        "symbol": token.symbol,
        "name": token.name,
        "mint": token.mint or "",
        "token_program": token.token_program,
        "decimals": token.decimals,
        "is_active": "on" if token.is_active else "",
    }
    data.update(changes)
    return data


def errors_of(response):
    assert response.status_code == 200, "the form was saved"
    form = response.context["adminform"].form
    return {name: [str(e) for e in errors] for name, errors in form.errors.items()}


def as_saved(token):
    return PaymentToken.objects.values("symbol", "name", "mint", "token_program", "decimals").get(pk=token.pk)


def test_a_token_editor_cannot_set_usdc_decimals_to_zero(token_editor, shop):
    usdc = shop.tokens["USDC"]
    before = as_saved(usdc)
    response = token_editor.post(change_url(usdc), form_data(usdc, decimals=0))
    assert errors_of(response) == {"decimals": ["The mint has 6 decimals on chain, not 0."]}
    assert as_saved(usdc) == before


def test_the_receivers_address_is_refused_as_a_token_2022_mint(token_editor, shop):
    shop.localnet.airdrop(shop.receiver, 1_000_000_000)  # a plain system account on chain
    pyusd = shop.tokens["PYUSD"]
    before = as_saved(pyusd)
    response = token_editor.post(
        change_url(pyusd), form_data(pyusd, mint=str(shop.receiver), token_program=TokenProgram.TOKEN_2022)
    )
    assert errors_of(response) == {"mint": [f"{shop.receiver} is not a Token or Token-2022 mint on chain."]}
    assert as_saved(pyusd) == before


def test_a_mint_of_another_program_is_refused(token_editor, shop):
    usdc = shop.tokens["USDC"]
    response = token_editor.post(change_url(usdc), form_data(usdc, token_program=TokenProgram.TOKEN_2022))
    assert errors_of(response) == {
        "token_program": ["The mint belongs to the token program, not token-2022."]
    }
    assert PaymentToken.objects.get(pk=usdc.pk).token_program == TokenProgram.TOKEN


def test_a_new_token_is_checked_too(admin_client, shop):
    add = reverse("admin:solana_payments_paymenttoken_add")
    pyusd_mint = str(shop.localnet.mints["PYUSD"])
    PaymentToken.objects.filter(symbol="PYUSD").delete()
    data = {"symbol": "PYUSD", "name": "PayPal USD", "mint": pyusd_mint, "decimals": 6, "is_active": "on"}
    response = admin_client.post(add, {**data, "token_program": TokenProgram.TOKEN})
    assert "token_program" in errors_of(response)
    response = admin_client.post(add, {**data, "token_program": TokenProgram.NATIVE})
    assert "token_program" in errors_of(response)
    response = admin_client.post(add, {**data, "decimals": 2, "token_program": TokenProgram.TOKEN_2022})
    assert "decimals" in errors_of(response)
    assert not PaymentToken.objects.filter(symbol="PYUSD").exists()

    response = admin_client.post(add, {**data, "token_program": TokenProgram.TOKEN_2022})
    assert response.status_code == 302
    saved = PaymentToken.objects.get(symbol="PYUSD")
    assert (saved.mint, saved.decimals, saved.token_program) == (pyusd_mint, 6, TokenProgram.TOKEN_2022)


def test_sol_keeps_nine_decimals_and_symbols_stay_unique_without_case(token_editor, shop):
    sol, usdc = shop.tokens["SOL"], shop.tokens["USDC"]
    assert errors_of(token_editor.post(change_url(sol), form_data(sol, decimals=8))) == {
        "decimals": ["SOL has 9 decimals, not 8."]
    }
    assert "symbol" in errors_of(token_editor.post(change_url(usdc), form_data(usdc, symbol="pyusd")))


def test_name_and_active_flag_change_without_a_chain_read(token_editor, shop):
    usdc = shop.tokens["USDC"]
    shop.localnet.reset_counts()
    response = token_editor.post(change_url(usdc), form_data(usdc, name="USD Coin", is_active=""))
    assert response.status_code == 302
    usdc.refresh_from_db()
    assert (usdc.name, usdc.is_active, usdc.decimals) == ("USD Coin", False, 6)
    assert shop.localnet.request_counts == {}


def test_an_edit_the_chain_cannot_confirm_is_not_saved(token_editor, tokens, configure):
    configure(RPC_MAX_RETRY_SECONDS=0)  # the chain of these settings is a closed port
    usdc = tokens["USDC"]
    response = token_editor.post(change_url(usdc), form_data(usdc, decimals=7))
    (message,) = errors_of(response)["__all__"]
    assert message.startswith("The mint could not be read from the chain, so nothing was saved:")
    assert PaymentToken.objects.get(pk=usdc.pk).decimals == 6


def test_a_token_that_payments_use_keeps_its_mint_decimals_and_program(token_editor, shop):
    usdc = shop.tokens["USDC"]
    shop.new_payment({"USDC": "25"})
    page = token_editor.get(change_url(usdc))
    form = page.context["adminform"].form
    assert not {"mint", "decimals", "token_program"} & set(form.fields)
    assert {"mint", "decimals", "token_program"} <= set(page.context["adminform"].readonly_fields)

    response = token_editor.post(
        change_url(usdc),
        form_data(usdc, name="USD Coin", decimals=0, mint=str(shop.receiver), token_program="token-2022"),
    )
    assert response.status_code == 302
    usdc.refresh_from_db()
    assert usdc.name == "USD Coin"
    assert (usdc.mint, usdc.decimals, usdc.token_program) == (
        str(shop.localnet.mints["USDC"]),
        6,
        TokenProgram.TOKEN,
    )


def test_imported_decimals_are_ascii_digits(db):
    """The import's whole-number column refuses other scripts' digits ("٩" is 9 to int())."""
    from solana_payments.resources import PaymentTokenResource

    (check,) = (
        PaymentTokenResource()
        .check_rows([{"symbol": "SOL", "name": "Solana", "mint": "", "decimals": "\u0669"}])
        .values()
    )
    assert check.errors["decimals"][0] == "'\u0669' is not a whole number."
