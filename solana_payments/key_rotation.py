"""Re-encrypting every wallet's secret under the first configured key (``rotate_wallet_keys`` command)."""

from cryptography.fernet import Fernet, InvalidToken
from django.db import transaction

from .exceptions import WalletKeyError
from .keys import configured_keys, get_fernet
from .models import OneTimeWallet


def rotate_wallet_keys(*, batch_size=500):
    """Re-encrypt every wallet's secret under the first key. Idempotent; returns counts.

    Rows already under the first key are left untouched. A wallet no key can decrypt stops the
    rotation with ``WalletKeyError`` naming it; rows of finished batches stay rotated.
    """
    fernet = get_fernet()
    primary = Fernet(configured_keys()[0])
    counts = {"checked": 0, "rotated": 0, "unchanged": 0}
    last_pk = 0
    while True:
        batch = list(
            OneTimeWallet.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .only("pk", "encrypted_secret")[:batch_size]
        )
        if not batch:
            return counts
        changed = []
        for wallet in batch:
            counts["checked"] += 1
            token = wallet.encrypted_secret.encode("ascii")
            if _is_under(primary, token):
                counts["unchanged"] += 1
                continue
            try:
                wallet.encrypted_secret = fernet.rotate(token).decode("ascii")
            except InvalidToken:
                raise WalletKeyError(
                    f"Cannot decrypt the secret of wallet {wallet.pk}: "
                    "none of the configured keys matches it."
                ) from None
            changed.append(wallet)
        with transaction.atomic():
            OneTimeWallet.objects.bulk_update(changed, ["encrypted_secret"])
        counts["rotated"] += len(changed)
        last_pk = batch[-1].pk


def _is_under(fernet, token):
    try:
        fernet.decrypt(token)
    except InvalidToken:
        return False
    return True
