"""A "New payment" page in the admin: an operator creates a payment through ``create_payment``, as the
shop's code does, and gets its checkout link (for a customer on the phone, or to try the checkout).

``<prefix>/payment/new/``, linked from the payments list, for users with ``add_payment``. The admin's own
add form stays off: a payment is never a bare row, it owns a one-time wallet and its options.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from ..conf import app_settings
from ..exceptions import SolanaPaymentsError
from ..models import PaymentToken

ADD_PERMISSION = "solana_payments.add_payment"


class NewPaymentForm(forms.Form):
    label = forms.CharField(max_length=200, help_text="What is paid for; the customer's wallet shows it.")
    email = forms.EmailField(required=False, help_text="The customer's, for your records (never public).")
    message = forms.CharField(max_length=500, required=False, help_text="Shown by the customer's wallet.")
    minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, label="Valid for (minutes)")

    def __init__(self, *args, tokens, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokens = tokens
        for token in tokens:
            self.fields[f"amount_{token.symbol}"] = forms.DecimalField(
                required=False,
                min_value=0,
                label=f"Amount in {token.symbol}",
                help_text="In token units; empty: not an option of this payment.",
            )
        self.fields["price"] = forms.DecimalField(
            required=False,
            min_value=0,
            help_text="Or a price in the shop's currency: each token's amount comes from the rates read now.",
        )
        self.fields["currency"] = forms.CharField(required=False, max_length=8, help_text="e.g. EUR or USD.")
        self.fields["price_tokens"] = forms.MultipleChoiceField(
            required=False,
            choices=[(t.symbol, t.symbol) for t in tokens],
            widget=forms.CheckboxSelectMultiple,
            label="Pay the price with",
        )

    def clean(self):
        data = super().clean()
        options = {t.symbol: data.get(f"amount_{t.symbol}") for t in self.tokens}
        data["options"] = {symbol: amount for symbol, amount in options.items() if amount}
        priced = data.get("price") or data.get("currency") or data.get("price_tokens")
        if priced:
            if data["options"]:
                raise forms.ValidationError("Give either amounts in tokens or a price, not both.")
            if not (data.get("price") and data.get("currency") and data.get("price_tokens")):
                raise forms.ValidationError(
                    "A price needs its currency and at least one token to pay it with."
                )
        elif not data["options"]:
            raise forms.ValidationError("Give at least one amount: the customer pays one of them.")
        return data


class NewPaymentMixin:
    """For the payment admin: the New payment page, and its link on the payments list."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "new/",
                self.admin_site.admin_view(self.new_payment_view),
                name=f"{info[0]}_{info[1]}_new",
            )
        ]
        return urls + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        if request.user.has_perm(ADD_PERMISSION):
            url = reverse("admin:solana_payments_payment_new", current_app=self.admin_site.name)
            extra_context = {**(extra_context or {}), "new_payment_url": url}
        return super().changelist_view(request, extra_context)

    def new_payment_view(self, request):
        if not request.user.has_perm(ADD_PERMISSION):
            raise PermissionDenied
        tokens = list(PaymentToken.objects.filter(is_active=True).order_by("symbol"))
        initial = {"minutes": max(1, app_settings.PAYMENT_VALIDITY_SECONDS // 60)}
        form = NewPaymentForm(request.POST or None, tokens=tokens, initial=initial)
        if request.method == "POST" and form.is_valid():
            payment = self.create_from_form(request, form)
            if payment is not None:
                change_url = reverse(
                    "admin:solana_payments_payment_change",
                    args=[payment.pk],
                    current_app=self.admin_site.name,
                )
                self.message_user(request, created_message(payment), messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": "New payment",
            "subtitle": None,
            "opts": self.opts,
            "form": form,
            "has_tokens": bool(tokens),
            "changelist_url": reverse(
                "admin:solana_payments_payment_changelist", current_app=self.admin_site.name
            ),
        }
        return TemplateResponse(request, "admin/solana_payments/payment/new_payment.html", context)

    def create_from_form(self, request, form):
        """The payment, or None with the reason added to the form (a refused amount, a chain outage)."""
        from ..payments import create_payment

        data = form.cleaned_data
        if data.get("price"):
            how = {"price": data["price"], "currency": data["currency"], "tokens": data["price_tokens"]}
        else:
            how = {"options": data["options"]}
        try:
            return create_payment(
                **how,
                expires_in=data["minutes"] * 60,
                label=data["label"],
                email=data["email"],
                message=data["message"],
                metadata={"created_in": "admin", "by": request.user.get_username()},
            )
        except (ValueError, TypeError, SolanaPaymentsError) as exc:
            form.add_error(None, f"The payment was not created: {exc}")
            return None


def created_message(payment):
    try:
        checkout = reverse("solana_payments:checkout", args=[payment.reference])
    except NoReverseMatch:  # the app's URLs are not included: there is no checkout page to link
        return f"Payment {payment.reference} created."
    return format_html(
        'Payment {} created. Its checkout page: <a href="{}" id="sp-new-checkout">{}</a>.',
        payment.reference,
        checkout,
        checkout,
    )
