"""Signing deliveries the Standard Webhooks way (https://www.standardwebhooks.com), with its reference library.

Headers of every delivery:

- ``webhook-id``: the event's id (the body's ``id``), the same on every retry and redelivery;
- ``webhook-timestamp``: the attempt's time, in Unix seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, one per secret, separated
  by spaces: the current secret's, then, while the endpoint rotates its secret, the previous one's.

A secret is ``whsec_`` followed by the standard base64 of 32 random bytes (the HMAC key).

For one release the old header is sent too, for receivers set up before: ``Solana-Payments-Signature:
t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`` under the endpoint's oldest secret (the
previous one while it rotates: the one such a receiver holds), its key being the secret written as before
(``whsec_`` and the URL-safe base64 of the key bytes, without padding).
"""

import base64
import binascii
import datetime
import hashlib
import hmac
import secrets

from standardwebhooks import Webhook

PREFIX = "whsec_"
LEGACY_SIGNATURE_HEADER = "Solana-Payments-Signature"


def new_secret():
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key_bytes(secret):
    """The HMAC key of a secret, from either base64 alphabet (secrets made before this release are URL-safe
    and unpadded); ``ValueError`` for anything else."""
    text = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except binascii.Error as exc:
        raise ValueError("the secret is not base64") from exc
    if not key:
        raise ValueError("the secret is empty")
    return key


def standard_secret(secret):
    """The secret as Standard Webhooks libraries read it: ``whsec_`` and the standard, padded base64."""
    return PREFIX + base64.b64encode(key_bytes(secret)).decode()


def legacy_secret(secret):
    """The secret as the old header's receivers hold it: ``whsec_`` and URL-safe base64 without padding."""
    return PREFIX + base64.urlsafe_b64encode(key_bytes(secret)).decode().rstrip("=")


def signature_headers(secrets_, message_id, timestamp, body):
    """The headers that sign ``body`` (bytes) for ``message_id`` at ``timestamp`` (Unix seconds), under each
    of ``secrets_`` (current first, then the previous one, if any). ``ValueError`` when a secret is not
    base64."""
    secrets_ = [s for s in secrets_ if s]
    when = datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.UTC)
    signatures = [Webhook(key_bytes(s)).sign(message_id, when, body) for s in secrets_]
    legacy = hmac.new(
        legacy_secret(secrets_[-1]).encode(), str(int(timestamp)).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(signatures),
        LEGACY_SIGNATURE_HEADER: f"t={int(timestamp)},v1={legacy}",
    }
