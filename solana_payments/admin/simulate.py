"""The demo's "simulate customer payment" button on a payment's page (DEBUG and the local chain only).

A fresh customer wallet, funded by the local chain's faucet, pays the payment's wallet for real, so an
operator can watch recheck, expire, sweep and reclaim act on it.
"""

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..amounts import format_units, from_base_units, to_base_units
from ..conf import app_settings
from .objects import object_or_404

logger = logging.getLogger(__name__)


def simulation_enabled():
    return bool(settings.DEBUG and app_settings.LOCALNET)


class SimulatePaymentForm(forms.Form):
    token = forms.ChoiceField(label="Pay with")
    amount = forms.DecimalField(
        label="Amount", min_value=0, help_text="In token units; the exact amount by default."
    )

    def __init__(self, *args, options, **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {o.token.symbol: o for o in options}
        self.fields["token"].choices = [
            (s, f"{s} ({format_units(o.amount, o.token.decimals)})") for s, o in self.options.items()
        ]

    def clean(self):
        data = super().clean()
        option = self.options.get(data.get("token"))
        if option is not None and data.get("amount") is not None:
            try:
                data["base_amount"] = to_base_units(data["amount"], option.token.decimals, what="amount")
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
            data["option"] = option
        return data


class SimulatePaymentMixin:
    """For the payment admin: ``<id>/simulate-payment/``, linked from the change page in the demo."""

    change_form_template = "admin/solana_payments/payment/change_form.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "<path:object_id>/simulate-payment/",
                self.admin_site.admin_view(self.simulate_payment_view),
                name=f"{info[0]}_{info[1]}_simulate_payment",
            )
        ]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Offered only to who may use it: a view-only user would press it for a bare 403.
        allowed = simulation_enabled() and self.has_change_permission(request)
        extra_context = {**(extra_context or {}), "simulate_payment": allowed}
        return super().change_view(request, object_id, form_url, extra_context)

    def simulate_payment_view(self, request, object_id):
        if not simulation_enabled():
            raise Http404("Simulated payments exist only in the demo (DEBUG and the local chain).")
        payment = object_or_404(self.get_queryset(request), object_id)
        if not self.has_change_permission(request, payment):
            raise PermissionDenied
        options = list(payment.options.select_related("token"))
        initial = (
            {
                "token": options[0].token.symbol,
                "amount": from_base_units(options[0].amount, options[0].token.decimals),
            }
            if options
            else {}
        )
        form = SimulatePaymentForm(request.POST or None, options=options, initial=initial)
        change_url = reverse(
            "admin:solana_payments_payment_change", args=[payment.pk], current_app=self.admin_site.name
        )
        if request.method == "POST" and form.is_valid():
            from ..chain.faucet import pay

            option, amount = form.cleaned_data["option"], form.cleaned_data["base_amount"]
            try:
                customer, signature = pay(app_settings.RPC_URL, payment.wallet.address, option.token, amount)
            except (
                Exception
            ) as exc:  # the local chain is down or refused: say why, on the page and in the log
                logger.warning("Simulated payment of payment %s failed: %s", payment.pk, exc, exc_info=True)
                messages.error(request, f"The simulated payment failed: {exc or type(exc).__name__}")
            else:
                messages.success(
                    request,
                    f"Customer {customer} paid {format_units(amount, option.token.decimals)} {option.token.symbol} "
                    f"into the payment's wallet (transaction {signature}). Run recheck to see it settle.",
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Simulate a customer payment",
            "opts": self.opts,
            "original": payment,
            "payment": payment,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/solana_payments/payment/simulate_payment.html", context)
