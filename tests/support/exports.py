"""Exporting through the admin as a user does, and reading the files back."""

import csv
import io
import json

import openpyxl
from django.contrib.auth.models import Permission
from django.urls import reverse
from import_export.forms import SelectableFieldsExportForm

from solana_payments.resources import (
    OneTimeWalletResource,
    OperationItemResource,
    OperationRunResource,
    PaymentResource,
    PaymentTokenResource,
)

FORMATS = {"csv": 0, "xlsx": 1, "json": 2}
RESOURCE_OF = {
    "payment": PaymentResource,
    "onetimewallet": OneTimeWalletResource,
    "paymenttoken": PaymentTokenResource,
    "operationrun": OperationRunResource,
    "operationitem": OperationItemResource,
}


def export_url(model):
    return reverse(f"admin:solana_payments_{model}_export")


def export_form_data(model, fmt, **extra):
    """The POST the admin's export form sends: format, resource and every column ticked."""
    resource = RESOURCE_OF[model]
    data = {"format": str(FORMATS[fmt]), "resource": "0", **extra}
    for name in resource().get_export_order():
        data[SelectableFieldsExportForm.create_boolean_field_name(resource, name)] = "on"
    return data


def export(client, model, fmt, **extra):
    response = client.post(export_url(model), export_form_data(model, fmt, **extra))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment;")
    return response


def table(response, fmt):
    """The exported rows as dicts of column -> cell value, whatever the format."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    if fmt == "json":
        return json.loads(response.content)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def text_of(response, fmt):
    """Everything an export holds, as one string (XLSX is decoded cell by cell)."""
    if fmt != "xlsx":
        return response.content.decode("utf-8")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return "\n".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)


def cell(value):
    return "" if value is None else str(value)


def grant(user, *codenames):
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="solana_payments", codename=codename)
        )
