"""The admin's forms: which records an operation is run on, as posted by an action or a dashboard button."""

from django import forms
from django.core.exceptions import ValidationError

from ..models import OperationTrigger
from ..parameters import clean_ids

MAX_IDS = 10_000
TRIGGERS = (OperationTrigger.ADMIN_ACTION, OperationTrigger.DASHBOARD)


class InvalidSelection(ValueError):
    """A selection of records that cannot be run: the message says why, for the admin's message bar."""


class RecordIdsField(forms.Field):
    """Record ids posted as repeated fields or comma-separated: ``[int]``, in order, without duplicates.

    No ids, more than ``MAX_IDS``, or anything but a decimal number in 1 .. 2**63-1 is refused, so
    negative, huge and non-integer ids never reach the database.
    """

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        parts = [part for value in values for part in str(value).split(",") if part.strip()]
        if not parts:
            if self.required:
                raise ValidationError("No records were selected: nothing was run.", code="required")
            return []
        if len(parts) > MAX_IDS:
            raise ValidationError(
                f"{len(parts):,} records were selected; at most {MAX_IDS:,} can be run at once. "
                "Narrow the selection with the filters, or run the operation on everything eligible "
                "from the operations dashboard.",
                code="too_many",
            )
        try:
            return clean_ids(parts)
        except ValueError as exc:
            raise ValidationError(f"{exc}: nothing was run.", code="invalid") from None


class OperationSelectionForm(forms.Form):
    """``ids`` (or ``all=1`` for everything eligible), how the run was started, and where to go after."""

    ids = RecordIdsField(required=False)
    all = forms.BooleanField(required=False)
    trigger = forms.ChoiceField(
        choices=[(t.value, t.label) for t in TRIGGERS],
        required=False,
        error_messages={"invalid_choice": "%(value)r is not a way to start a run from the admin."},
    )
    next = forms.CharField(required=False)

    def clean_trigger(self):
        return self.cleaned_data["trigger"] or OperationTrigger.DASHBOARD

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("ids") and not data.get("all"):
            raise ValidationError("No records were selected: nothing was run.", code="required")
        return data

    def error_text(self):
        return " ".join(message for errors in self.errors.values() for message in errors)


def parse_ids(values):
    """``RecordIdsField`` for code that has the posted values at hand; raises ``InvalidSelection``."""
    try:
        return RecordIdsField(required=True).clean(list(values))
    except ValidationError as exc:
        raise InvalidSelection(" ".join(exc.messages)) from None
