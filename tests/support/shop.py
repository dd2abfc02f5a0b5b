"""A shop on the localnet for operation tests: real tokens, real payments, real customer transfers.

Customers pay with solana-py's AsyncClient over HTTP, exactly like a wallet app would.
"""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.instructions import create_idempotent_associated_token_account, transfer_checked
from spl.token.models import TransferCheckedParams

from solana_payments.chain.accounts import token_account_from_account
from solana_payments.holdings import token_account_address, token_program_id
from solana_payments.models import OneTimeWallet, OperationItem, PaymentToken, TokenProgram
from solana_payments.payments import create_payment


@dataclass
class Shop:
    localnet: object
    receiver: Pubkey
    tokens: dict
    paid: Counter = field(default_factory=Counter)  # symbol -> base units customers sent
    sent_at: float = 0.0  # time.time() just before the latest customer transfer was sent

    # -- payments --------------------------------------------------------------------------------------

    def new_payment(self, options=None, **kwargs):
        return create_payment(options or {"SOL": Decimal("0.5"), "USDC": Decimal("25")}, **kwargs)

    def pay(self, payment, symbol, amount):
        """A fresh customer pays ``amount`` base units of ``symbol`` into the payment's wallet."""
        token = self.tokens[symbol]
        customer = Keypair()
        self.localnet.airdrop(customer.pubkey(), 1_000_000_000 + (amount if token.is_native else 0))
        wallet = Pubkey.from_string(payment.wallet.address)
        if token.is_native:
            instructions = [
                transfer(TransferParams(from_pubkey=customer.pubkey(), to_pubkey=wallet, lamports=amount))
            ]
        else:
            mint = Pubkey.from_string(token.mint)
            program = token_program_id(token)
            self.localnet.mint_to(mint, customer.pubkey(), amount)
            instructions = [
                create_idempotent_associated_token_account(customer.pubkey(), wallet, mint, program),
                transfer_checked(
                    TransferCheckedParams(
                        program_id=program,
                        source=token_account_address(customer.pubkey(), token),
                        mint=mint,
                        dest=token_account_address(wallet, token),
                        owner=customer.pubkey(),
                        amount=amount,
                        decimals=token.decimals,
                    )
                ),
            ]
        signature = asyncio.run(self._send(customer, instructions))
        self.paid[symbol] += amount
        return customer, signature

    async def _send(self, payer, instructions):
        async with AsyncClient(self.localnet.url) as client:
            blockhash = (await client.get_latest_blockhash()).value.blockhash
            message = MessageV0.try_compile(payer.pubkey(), instructions, [], blockhash)
            tx = VersionedTransaction(message, [payer])
            self.sent_at = time.time()  # it is confirmed after this moment, never before
            signature = (await client.send_transaction(tx)).value
            await client.confirm_transaction(signature, commitment="confirmed")
            return str(signature)

    # -- reading the chain -----------------------------------------------------------------------------

    def balance(self, owner, symbol):
        token = self.tokens[symbol]
        if token.is_native:
            return self.localnet.get_balance(Pubkey.from_string(str(owner)))
        account = self.localnet.get_account(token_account_address(owner, token))
        decoded = token_account_from_account(account) if account is not None else None
        return decoded.amount if decoded else 0

    def in_wallets(self, symbol):
        return sum(self.balance(w.address, symbol) for w in OneTimeWallet.objects.all())

    def received(self, symbol):
        return self.balance(self.receiver, symbol)

    def assert_money_conserved(self):
        """What customers paid equals what reached the receiver plus what is still in wallets."""
        for symbol in self.tokens:
            assert self.paid[symbol] == self.received(symbol) + self.in_wallets(symbol), symbol

    def open_wallet_rent(self):
        """Lamports of rent still locked in the one-time wallets' token accounts."""
        total = 0
        for wallet in OneTimeWallet.objects.all():
            for token in self.tokens.values():
                if not token.is_native:
                    account = self.localnet.get_account(token_account_address(wallet.address, token))
                    total += account.lamports if account is not None else 0
        return total

    def item_fees(self):
        return sum(OperationItem.objects.values_list("fee", flat=True))

    def outgoing_sweeps(self, wallet):
        """Transactions on chain that moved funds out of ``wallet`` (from its own signature history)."""
        from solana_payments.chain.client import ChainClient

        with ChainClient(self.localnet.url) as chain:
            (history,) = chain.get_signatures_for_addresses([wallet.address], limit=100)
            txs = chain.get_transactions([h.signature for h in history if h.err is None])
        count = 0
        for tx in txs:
            keys = [str(k) for k in tx.transaction.transaction.message.account_keys]
            header = tx.transaction.transaction.message.header
            signers = keys[: header.num_required_signatures]
            if wallet.address in signers:
                count += 1
        return count


def make_tokens(localnet):
    return {
        "SOL": PaymentToken.objects.create(symbol="SOL", name="Solana", decimals=9),
        "USDC": PaymentToken.objects.create(
            symbol="USDC",
            name="USD Coin (local)",
            mint=str(localnet.mints["USDC"]),
            token_program=TokenProgram.TOKEN,
            decimals=6,
        ),
        "PYUSD": PaymentToken.objects.create(
            symbol="PYUSD",
            name="PayPal USD (local)",
            mint=str(localnet.mints["PYUSD"]),
            token_program=TokenProgram.TOKEN_2022,
            decimals=6,
        ),
    }
