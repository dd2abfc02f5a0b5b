"""The token form of the admin: an edit is checked against the chain exactly as an imported row is.

A token's mint, decimals and token program decide how much every payment asks for and what recheck
accepts: USDC with 0 decimals would ask for a millionth of the price. So the form runs the import's own
row check (``PaymentTokenResource.check_rows``): the mint exists, is a mint of the token program it
claims, and has those decimals on chain. Once a payment offers the token, these three fields are
read-only: changing them would change what existing payments mean.
"""

from django import forms
from django.core.exceptions import ValidationError

from ..exceptions import ChainError
from ..models import PaymentOption, PaymentToken
from ..resources import PaymentTokenResource

CHAIN_FIELDS = ("mint", "decimals", "token_program")


class PaymentTokenForm(forms.ModelForm):
    class Meta:
        model = PaymentToken
        fields = ["symbol", "name", "mint", "token_program", "decimals", "is_active"]

    def clean(self):
        cleaned = super().clean()
        checked = ("symbol", *CHAIN_FIELDS)
        if self.errors or (self.instance.pk and not set(self.changed_data) & set(checked)):
            return cleaned  # a field is already wrong, or only the name or the active flag changed

        def value(name):  # a read-only field keeps the token's own value
            return cleaned.get(name) if name in self.fields else getattr(self.instance, name)

        row = {
            "symbol": value("symbol"),
            "mint": value("mint") or "",
            "decimals": str(value("decimals")),
            "token_program": value("token_program"),
        }
        try:
            (check,) = PaymentTokenResource().check_rows([row], editing=self.instance).values()
        except ChainError as exc:
            raise ValidationError(
                f"The mint could not be read from the chain, so nothing was saved: {exc.__cause__ or exc}"
            ) from None
        for name, messages in check.errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return cleaned


def token_in_use(token):
    """Whether any payment offers ``token`` (then its mint, decimals and program stay as they are)."""
    return token is not None and token.pk is not None and PaymentOption.objects.filter(token=token).exists()
