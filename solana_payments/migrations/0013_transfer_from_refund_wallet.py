import base64

from django.db import migrations, models


def record_landed_refunds(apps, schema_editor):
    """Every landed refund becomes a row of its payment's ledger, from the transaction that was sent (stored
    with the refund), so a payment's refunded total is the sum of its rows from now on."""
    from solders.pubkey import Pubkey
    from solders.transaction import VersionedTransaction

    from solana_payments.chain.accounts import PROGRAM_BY_NAME, get_associated_token_address

    Refund = apps.get_model("solana_payments", "Refund")
    Transfer = apps.get_model("solana_payments", "Transfer")
    recorded = set(Transfer.objects.filter(kind="refund").values_list("signature", flat=True))
    rows = []
    for refund in Refund.objects.filter(status="landed").select_related("payment__wallet", "token"):
        if refund.signature in recorded or refund.payment.wallet is None:
            continue
        message = VersionedTransaction.from_bytes(base64.b64decode(refund.signed_transaction)).message
        keys = [str(k) for k in message.account_keys]
        from_refund_wallet = refund.source != "wallet"
        if from_refund_wallet:
            owner = keys[1] if message.header.num_required_signatures > 1 else keys[0]
        else:
            owner = refund.payment.wallet.address
        account = owner
        if refund.token.mint:
            account = str(
                get_associated_token_address(
                    Pubkey.from_string(owner),
                    Pubkey.from_string(refund.token.mint),
                    PROGRAM_BY_NAME[refund.token.token_program],
                )
            )
        if account not in keys:
            continue
        rows.append(
            Transfer(
                wallet_id=refund.payment.wallet_id,
                payment_id=refund.payment_id,
                signature=refund.signature,
                position=keys.index(account),
                block_time=refund.landed_at,
                direction="out",
                token_id=refund.token_id,
                amount=refund.amount,
                counterparty=refund.destination,
                kind="refund",
                fee=refund.fee,
                from_refund_wallet=from_refund_wallet,
            )
        )
    Transfer.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("solana_payments", "0012_payment_received_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="transfer",
            name="from_refund_wallet",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "A refund paid from the refund wallet: one of the payment's transfers, not a movement of "
                    "the one-time wallet's own balance."
                ),
            ),
        ),
        migrations.RunPython(record_landed_refunds, migrations.RunPython.noop),
    ]
