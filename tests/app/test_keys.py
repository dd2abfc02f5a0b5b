"""Wallet secrets: encryption round trip, rotation across keys, and clear errors for a wrong key."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from solana_payments.exceptions import WalletKeyError
from solana_payments.key_rotation import rotate_wallet_keys
from solana_payments.keys import decrypt_keypair, encrypt_keypair, new_wallet_secret
from solana_payments.models import OneTimeWallet


def make_wallets(count):
    wallets = []
    for _ in range(count):
        keypair, encrypted = new_wallet_secret()
        wallets.append(
            (OneTimeWallet.objects.create(address=str(keypair.pubkey()), encrypted_secret=encrypted), keypair)
        )
    return wallets


def test_round_trip():
    keypair, encrypted = new_wallet_secret()
    assert bytes(keypair) not in encrypted.encode()
    assert decrypt_keypair(encrypted) == keypair


def test_list_of_keys_first_encrypts_all_decrypt(configure):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=old)
    keypair, under_old = new_wallet_secret()
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=[new, old])
    assert decrypt_keypair(under_old) == keypair
    under_new = encrypt_keypair(keypair)
    Fernet(new).decrypt(under_new.encode())  # the first key encrypted it
    with pytest.raises(InvalidToken):
        Fernet(old).decrypt(under_new.encode())


@pytest.mark.django_db
def test_rotation_across_two_keys_is_idempotent_and_batched(configure):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=old)
    wallets = make_wallets(7)
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=[new, old])

    assert rotate_wallet_keys(batch_size=3) == {"checked": 7, "rotated": 7, "unchanged": 0}
    assert rotate_wallet_keys(batch_size=3) == {"checked": 7, "rotated": 0, "unchanged": 7}

    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=new)  # the old key can now be dropped
    for wallet, keypair in wallets:
        wallet.refresh_from_db()
        assert wallet.keypair() == keypair


@pytest.mark.django_db
def test_rotate_command_reports_counts(configure):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=old)
    make_wallets(2)
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=[new, old])
    from io import StringIO

    out = StringIO()
    call_command("rotate_wallet_keys", "--batch-size", "1", stdout=out)
    assert "checked=2 rotated=2 unchanged=0" in out.getvalue()


@pytest.mark.django_db
def test_wrong_key_names_the_wallet_without_ciphertext(configure):
    ((wallet, _),) = make_wallets(1)
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=Fernet.generate_key().decode())
    with pytest.raises(WalletKeyError) as excinfo:
        wallet.keypair()
    assert f"wallet {wallet.pk}" in str(excinfo.value)
    assert wallet.encrypted_secret not in str(excinfo.value)
    with pytest.raises(CommandError, match=f"wallet {wallet.pk}") as excinfo:
        call_command("rotate_wallet_keys")
    assert wallet.encrypted_secret[:20] not in str(excinfo.value)


@pytest.mark.django_db
def test_missing_key_is_improperly_configured(configure):
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=None)
    with pytest.raises(ImproperlyConfigured, match="ONE_TIME_WALLETS_ENCRYPTION_KEY"):
        new_wallet_secret()
    with pytest.raises(CommandError, match="ONE_TIME_WALLETS_ENCRYPTION_KEY"):
        call_command("rotate_wallet_keys")


@pytest.mark.django_db
def test_repr_never_shows_the_secret():
    ((wallet, keypair),) = make_wallets(1)
    for text in (repr(wallet), str(wallet)):
        assert wallet.encrypted_secret not in text
        assert str(keypair) not in text
