"""Admins for webhook endpoints and the delivery log. A secret is shown once, when it is made."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from ..webhooks.delivery import redeliver
from ..webhooks.models import WebhookEndpoint, WebhookEvent, new_webhook_secret
from ..webhooks.test_event import TEST_EVENT, send_test_event


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text=WebhookEndpoint._meta.get_field("url").help_text
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=WebhookEvent.values,  # a new endpoint hears every event unless told otherwise
        error_messages={
            "required": "Tick at least one event: an endpoint without events receives nothing "
            "(untick Is active to pause it)."
        },
    )
    new_secret = forms.BooleanField(
        required=False,
        label="Make a new secret",
        help_text="The new one is shown once, after saving. Until you end the rotation, every delivery is "
        "signed with both: move your receiver to the new secret, then end it.",
    )
    end_rotation = forms.BooleanField(
        required=False,
        label="End the rotation",
        help_text="Forget the previous secret: deliveries are signed with the current one only.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]


@admin.action(description="Send a test event to the selected endpoints", permissions=["change"])
def send_test_events(modeladmin, request, queryset):
    deliveries = [send_test_event(endpoint) for endpoint in queryset]
    log = reverse("admin:solana_payments_webhookdelivery_changelist")
    modeladmin.message_user(
        request,
        format_html(
            '{} test event{} queued (type <code>{}</code>): see the <a href="{}?event={}">delivery log</a>.',
            len(deliveries),
            "" if len(deliveries) == 1 else "s",
            TEST_EVENT,
            log,
            TEST_EVENT,
        ),
        messages.SUCCESS,
    )


class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    actions = [send_test_events]
    list_display = ["url", "description", "events_display", "is_active", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["rotation", "failing_since", "disabled_at", "disabled_reason"]

    def get_fields(self, request, obj=None):
        fields = ["url", "description", "events", "is_active"]
        if obj is None:
            return fields
        return (
            fields
            + ["disabled_reason", "disabled_at", "failing_since", "new_secret", "rotation"]
            + (["end_rotation"] if obj.previous_secret else [])
        )

    @admin.display(description="secret rotation")
    def rotation(self, endpoint):
        if not endpoint.previous_secret:
            return "— (one secret signs the deliveries)"
        return f"since {endpoint.secret_rotated_at:%Y-%m-%d %H:%M} UTC, the new and the previous secret sign"

    @admin.display(description="events")
    def events_display(self, endpoint):
        labels = dict(WebhookEvent.choices)
        return ", ".join(str(labels.get(e, e)) for e in endpoint.events) or "—"

    def save_model(self, request, obj, form, change):
        fresh = not change or form.cleaned_data.get("new_secret")
        if fresh and change:
            obj.previous_secret, obj.secret = obj.secret, new_webhook_secret()
            obj.secret_rotated_at = timezone.now()
        elif form.cleaned_data.get("end_rotation"):
            obj.previous_secret, obj.secret_rotated_at = "", None
        if obj.is_active and "is_active" in form.changed_data:  # turned on again: its failures are history
            obj.failing_since = obj.disabled_at = None
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)
        if fresh:
            self.message_user(
                request,
                format_html(
                    "The signing secret of this endpoint is <code>{}</code>. Copy it now: it is never "
                    "shown again.",
                    obj.secret,
                ),
                messages.WARNING,
            )


@admin.action(description="Redeliver the selected deliveries", permissions=["change"])
def redeliver_selected(modeladmin, request, queryset):
    count = redeliver(list(queryset))
    skipped = queryset.count() - count
    modeladmin.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(
            request, f"{skipped} deliveries are being sent right now and were left alone.", messages.WARNING
        )


class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, one row per event and endpoint, with a redeliver action."""

    actions = [redeliver_selected]
    list_display = [
        "pk",
        "event",
        "endpoint",
        "payment_link",
        "status",
        "attempts",
        "last_status_code",
        "response_time",
        "error_display",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint", "payment"]
    search_fields = ["event_key"]
    date_hierarchy = "created_at"
    fields = [
        "endpoint",
        "event",
        "event_key_display",
        "payment",
        "status",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "retry_until",
        "last_status_code",
        "last_response_ms",
        "last_error",
        "delivered_at",
        "created_at",
        "payload",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change permission allows the redeliver action on the list; a delivery itself is never edited.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="payment", ordering="payment")
    def payment_link(self, delivery):
        if delivery.payment_id is None:
            return "—"
        url = reverse("admin:solana_payments_payment_change", args=[delivery.payment_id])
        return format_html('<a href="{}">{}</a>', url, delivery.payment)

    @admin.display(description="event key")
    def event_key_display(self, delivery):
        # The model's help text names "<reference>", which the admin would print as markup: say it here.
        return format_html(
            '{}<div class="help">What makes the event unique, e.g. payment.accepted:&lt;reference&gt;.</div>',
            delivery.event_key,
        )

    @admin.display(description="response time", ordering="last_response_ms")
    def response_time(self, delivery):
        return "—" if delivery.last_response_ms is None else f"{delivery.last_response_ms} ms"

    @admin.display(description="last error")
    def error_display(self, delivery):
        return Truncator(delivery.last_error).chars(80) or "—"
