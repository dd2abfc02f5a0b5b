"""Run kinds and their permissions come from the operations registry; a run records its requester's name.

The kind's choices are read from the registry (a callable), so a new operation needs no migration; the
``run_<kind>`` permissions are created after each migrate from the registry (``runs.permissions``), so
they leave the model's ``Meta`` (the rows already in the database stay).
"""

from django.db import migrations, models

import solana_payments.models


class Migration(migrations.Migration):
    dependencies = [
        ("solana_payments", "0013_transfer_from_refund_wallet"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="operationrun",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("approve_runs", "Can approve or reject runs that wait for a second person"),
                    ("export_operationrun", "Can export operation runs"),
                ],
            },
        ),
        migrations.AddField(
            model_name="operationrun",
            name="requester",
            field=models.CharField(blank=True, db_default="", default="", max_length=150),
        ),
        migrations.AlterField(
            model_name="operationrun",
            name="kind",
            field=models.CharField(choices=solana_payments.models.operation_kinds, max_length=16),
        ),
    ]
