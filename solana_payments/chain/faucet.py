"""A local chain's faucet over HTTP, and a customer paying a one-time wallet through the chain client: a
fresh keypair, funded by the faucet, sends a real transfer.

Used by the demo's seed data and the admin's "simulate customer payment" button. It talks to the local
chain over HTTP only (the faucet's endpoints and JSON-RPC), so it works from any process, and it needs
nothing of the local chain's code.
"""

import json
import urllib.error
import urllib.request

from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.instructions import create_idempotent_associated_token_account, transfer_checked
from spl.token.models import TransferCheckedParams

from .accounts import PROGRAM_BY_NAME, get_associated_token_address
from .client import ChainClient
from .commitment import status_reached

GAS_LAMPORTS = 100_000_000  # the customer's own fees and the wallet's token account, if missing


class FaucetError(RuntimeError):
    """The local chain's faucet refused a request; the message says why (its own answer)."""


def faucet(rpc_url, action, payload):
    request = urllib.request.Request(
        rpc_url.rstrip("/") + f"/localnet/{action}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:  # the faucet says why in its JSON body: never drop it
        raise FaucetError(
            f"the local chain's faucet refused {action} (HTTP {exc.code}): {_reason(exc)}"
        ) from None


def _reason(http_error):
    try:
        body = http_error.read().decode("utf-8", "replace")
    except OSError:
        return http_error.reason
    try:
        return json.loads(body).get("error") or body
    except (ValueError, AttributeError):
        return body.strip()[:500] or http_error.reason


def pay(rpc_url, wallet_address, token, amount, *, block_time_offset=None):
    """A new customer pays ``amount`` base units of ``token`` (a PaymentToken) to ``wallet_address``.

    Returns ``(customer address, signature)`` once the transfer is confirmed.
    """
    customer = Keypair()
    wallet = Pubkey.from_string(str(wallet_address))
    faucet(
        rpc_url,
        "airdrop",
        {"pubkey": str(customer.pubkey()), "lamports": GAS_LAMPORTS + (amount if token.is_native else 0)},
    )
    if token.is_native:
        instructions = [
            transfer(TransferParams(from_pubkey=customer.pubkey(), to_pubkey=wallet, lamports=amount))
        ]
    else:
        mint, program = Pubkey.from_string(token.mint), PROGRAM_BY_NAME[token.token_program]
        faucet(rpc_url, "mint", {"mint": token.mint, "owner": str(customer.pubkey()), "amount": amount})
        instructions = [
            create_idempotent_associated_token_account(customer.pubkey(), wallet, mint, program),
            transfer_checked(
                TransferCheckedParams(
                    program_id=program,
                    source=get_associated_token_address(customer.pubkey(), mint, program),
                    mint=mint,
                    dest=get_associated_token_address(wallet, mint, program),
                    owner=customer.pubkey(),
                    amount=amount,
                    decimals=token.decimals,
                )
            ),
        ]
    if block_time_offset is not None:
        faucet(rpc_url, "time", {"offset": block_time_offset})
    try:
        with ChainClient(rpc_url) as chain:
            blockhash = chain.get_latest_blockhash().blockhash
            message = MessageV0.try_compile(customer.pubkey(), instructions, [], blockhash)
            signature = chain.send_transaction(VersionedTransaction(message, [customer]))
            status = chain.confirm([signature], commitment="confirmed", timeout=30)[signature]
    finally:
        if block_time_offset is not None:
            faucet(rpc_url, "time", {"offset": 0})
    if status is None or status.err is not None or not status_reached(status, "confirmed"):
        raise RuntimeError(f"the customer's transfer {signature} did not confirm")
    return str(customer.pubkey()), signature
