"""Transaction builders that pack several one-time wallets into each transaction.

Every builder returns signed ``VersionedTransaction`` s (message v0, no lookup tables) wrapped in
:class:`BuiltTransaction`, which says which wallets each one moves, its signature (known before sending, so
the caller can write it ahead), its size and its expected fee. The fee payer signs once per transaction and
pays the fees (5,000 lamports a signature, plus the priority fee when ``priority_fee_microlamports`` > 0)
and any ATA rent; every closed one-time ATA returns its rent to the fee payer. The one-time wallets only sign.

Packing is greedy on the real serialised size (1,232 bytes), never on a hard-coded count; a wallet's
instructions always stay together in one transaction. ``max_atas_per_tx`` caps the token accounts created
or closed per transaction. The builders read no settings: the app passes its ``PRIORITY_FEE_MICROLAMPORTS``
and ``MAX_ATAS_PER_TX``; left out, there is no priority fee and no cap but the size.

The builders do not read the chain: the caller passes balances it just read (``ChainClient.get_accounts``).
A SOL sweep moves the whole balance given; if more arrived since, the remainder may fall below the
rent-exempt minimum and the transaction fails (InsufficientFundsForRent) rather than strand dust: re-read
and rebuild.
"""

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.instructions import close_account, create_idempotent_associated_token_account, transfer_checked
from spl.token.models import CloseAccountParams, TransferCheckedParams

from .accounts import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, ata_rent, get_associated_token_address

logger = logging.getLogger(__name__)

PACKET_DATA_SIZE = 1232  # the largest serialised transaction a node accepts
LAMPORTS_PER_SIGNATURE = 5_000
MAX_COMPUTE_UNIT_LIMIT = 1_400_000

# Compute-unit estimates used for SetComputeUnitLimit when a priority fee is paid (generous: the real
# Token program spends ~6k CU on transfer_checked, Token-2022 more; a too-low limit fails the transaction).
CU_BASE = 1_000
CU_SOL_TRANSFER = 300
CU_TRANSFER_CHECKED = {TOKEN_PROGRAM_ID: 12_000, TOKEN_2022_PROGRAM_ID: 20_000}
CU_CLOSE_ACCOUNT = {TOKEN_PROGRAM_ID: 8_000, TOKEN_2022_PROGRAM_ID: 12_000}
CU_CREATE_ATA = {TOKEN_PROGRAM_ID: 40_000, TOKEN_2022_PROGRAM_ID: 60_000}
CU_MARGIN = 1.2


@dataclass(frozen=True)
class TokenFunds:
    """One token account of a one-time wallet: what to sweep (``amount``) or close (amount 0)."""

    mint: Pubkey
    token_program: Pubkey = TOKEN_PROGRAM_ID
    amount: int = 0
    decimals: int | None = None  # required when amount > 0 (transfer_checked)
    account: Pubkey | None = None  # the token account; the wallet's ATA when None
    lamports: int | None = None  # its lamports (returned to the fee payer on close); ATA rent when None

    def address_for(self, owner: Pubkey) -> Pubkey:
        return self.account or get_associated_token_address(owner, self.mint, self.token_program)


@dataclass
class WalletFunds:
    """A one-time wallet and the balances to move: its SOL (whole balance) and its token accounts."""

    keypair: Keypair
    lamports: int = 0
    tokens: Sequence[TokenFunds] = ()

    @cached_property
    def address(self) -> Pubkey:
        return self.keypair.pubkey()


@dataclass
class BuiltTransaction:
    """A signed transaction and what it does; write ``signature`` ahead, then send ``transaction``."""

    transaction: VersionedTransaction
    signature: str
    wallets: list[Pubkey]  # the one-time wallets it moves or closes (the ATA owner for create-ATA)
    fee: int  # lamports: 5,000 per signature + priority fee
    size: int  # serialised bytes (<= 1,232)
    num_signatures: int
    compute_unit_limit: int | None = None
    compute_unit_price: int = 0  # micro-lamports per CU
    priority_fee: int = 0  # lamports
    lamports_swept: int = 0  # SOL to the receiver
    tokens_swept: dict = field(default_factory=dict)  # mint (Pubkey) -> base units to the receiver
    rent_reclaimed: int = 0  # lamports of closed token accounts, back to the fee payer
    rent_max: int = 0  # rent the fee payer pays if every account it creates idempotently is new
    created_accounts: list[Pubkey] = field(default_factory=list)  # ATAs created idempotently
    closed_accounts: list[Pubkey] = field(default_factory=list)

    def __bytes__(self) -> bytes:
        return bytes(self.transaction)


@dataclass
class _Unit:
    """Instructions that must stay together (one wallet's sweep or close; one ATA creation)."""

    wallet: Pubkey
    signers: list[Keypair]
    instructions: list[Instruction]
    compute_units: int
    ata_count: int = 0
    needs_receiver_atas: list[tuple[Pubkey, Pubkey]] = field(default_factory=list)  # (mint, program)
    lamports_swept: int = 0
    tokens_swept: dict = field(default_factory=dict)
    rent_reclaimed: int = 0
    rent_max: int = 0
    created_accounts: list[Pubkey] = field(default_factory=list)
    closed_accounts: list[Pubkey] = field(default_factory=list)


def expected_fee(
    num_signatures: int, compute_unit_price: int = 0, compute_unit_limit: int | None = None
) -> int:
    """Lamports a transaction costs: 5,000 per signature + ceil(price x limit / 10^6) priority fee."""
    return LAMPORTS_PER_SIGNATURE * num_signatures + priority_fee(compute_unit_price, compute_unit_limit)


def priority_fee(compute_unit_price: int, compute_unit_limit: int | None) -> int:
    if not compute_unit_price or not compute_unit_limit:
        return 0
    return math.ceil(compute_unit_price * compute_unit_limit / 1_000_000)


def transaction_size(message: MessageV0) -> int:
    """Serialised size of a transaction with ``message`` once signed."""
    count = message.header.num_required_signatures
    return len(bytes(VersionedTransaction.populate(message, [Signature.default()] * count)))


def _priority(value) -> int:
    value = int(value or 0)
    if value < 0:
        raise ValueError("priority fee must not be negative")
    return value


def _max_atas(value) -> int | None:
    if value is None:
        return None
    value = int(value)
    if value < 1:
        raise ValueError("max_atas_per_tx must be at least 1")
    return value


class _Packer:
    def __init__(
        self,
        *,
        fee_payer: Keypair,
        recent_blockhash: Hash,
        compute_unit_price: int,
        compute_unit_limit: int | None,
        max_units: int | None,
        max_atas: int | None,
        max_size: int,
        prefix: Callable | None = None,
    ):
        self.fee_payer = fee_payer
        self.payer = fee_payer.pubkey()
        self.recent_blockhash = recent_blockhash
        self.compute_unit_price = compute_unit_price
        self.compute_unit_limit = compute_unit_limit
        self.max_units = max_units
        self.max_atas = max_atas
        self.max_size = max_size
        self.prefix = prefix or (lambda units: _Unit(Pubkey.default(), [], [], 0))

    def assemble(self, units: list[_Unit]):
        head = self.prefix(units)
        body = head.instructions + [ix for unit in units for ix in unit.instructions]
        limit = None
        instructions = body
        if self.compute_unit_price > 0:
            estimate = CU_BASE + head.compute_units + sum(unit.compute_units for unit in units)
            limit = self.compute_unit_limit or min(MAX_COMPUTE_UNIT_LIMIT, int(estimate * CU_MARGIN))
            instructions = [
                set_compute_unit_limit(limit),
                set_compute_unit_price(self.compute_unit_price),
                *body,
            ]
        message = MessageV0.try_compile(self.payer, instructions, [], self.recent_blockhash)
        return head, message, limit, transaction_size(message)

    def fits(self, units: list[_Unit]) -> bool:
        if self.max_units is not None and len(units) > self.max_units:
            return False
        if self.max_atas is not None and sum(unit.ata_count for unit in units) > self.max_atas:
            return False
        return self.assemble(units)[3] <= self.max_size

    def pack(self, units: Sequence[_Unit]) -> list[BuiltTransaction]:
        groups: list[list[_Unit]] = []
        current: list[_Unit] = []
        for unit in units:
            if current and self.fits([*current, unit]):
                current.append(unit)
                continue
            # Alone, a unit only has to fit the size (the caps are for combining units).
            size = self.assemble([unit])[3]
            if size > self.max_size:
                raise ValueError(
                    f"the instructions for {unit.wallet} do not fit in one transaction "
                    f"({size} bytes, limit {self.max_size})"
                )
            if current:
                groups.append(current)
            current = [unit]
        if current:
            groups.append(current)
        return [self.build(group) for group in groups]

    def build(self, units: list[_Unit]) -> BuiltTransaction:
        head, message, limit, size = self.assemble(units)
        signers = [self.fee_payer]
        seen = {self.payer}
        for unit in units:
            for keypair in unit.signers:
                key = keypair.pubkey()
                if key not in seen:
                    seen.add(key)
                    signers.append(keypair)
        if message.header.num_required_signatures != len(signers):
            raise ValueError("signer mismatch while building a transaction")
        tx = VersionedTransaction(message, signers)
        tokens: dict = {}
        for unit in units:
            for mint, amount in unit.tokens_swept.items():
                tokens[mint] = tokens.get(mint, 0) + amount
        wallets = list(dict.fromkeys(unit.wallet for unit in units))
        return BuiltTransaction(
            transaction=tx,
            signature=str(tx.signatures[0]),
            wallets=wallets,
            fee=expected_fee(len(signers), self.compute_unit_price, limit),
            size=size,
            num_signatures=len(signers),
            compute_unit_limit=limit,
            compute_unit_price=self.compute_unit_price,
            priority_fee=priority_fee(self.compute_unit_price, limit),
            lamports_swept=sum(unit.lamports_swept for unit in units),
            tokens_swept=tokens,
            rent_reclaimed=sum(unit.rent_reclaimed for unit in units),
            rent_max=head.rent_max + sum(unit.rent_max for unit in units),
            created_accounts=head.created_accounts + [a for unit in units for a in unit.created_accounts],
            closed_accounts=[a for unit in units for a in unit.closed_accounts],
        )


def _check_wallets(wallets: Sequence[WalletFunds], fee_payer: Keypair, receiver: Pubkey | None = None):
    seen = set()
    for wallet in wallets:
        address = wallet.address
        if address in seen:
            raise ValueError(f"wallet {address} is listed twice")
        seen.add(address)
        if address == fee_payer.pubkey():
            raise ValueError("the fee payer cannot be one of the one-time wallets")
        if receiver is not None and address == receiver:
            raise ValueError("the receiver cannot be one of the one-time wallets")
        if wallet.lamports < 0 or any(t.amount < 0 for t in wallet.tokens):
            raise ValueError(f"wallet {address}: negative balance")


def _close_instruction(account: Pubkey, owner: Pubkey, destination: Pubkey, program: Pubkey) -> Instruction:
    return close_account(
        CloseAccountParams(account=account, dest=destination, owner=owner, program_id=program)
    )


def build_sweep_transactions(
    wallets: Sequence[WalletFunds],
    *,
    fee_payer: Keypair,
    receiver: Pubkey,
    recent_blockhash: Hash,
    missing_receiver_atas: Iterable[Pubkey] = (),
    priority_fee_microlamports: int | None = None,
    compute_unit_limit: int | None = None,
    max_wallets_per_tx: int | None = None,
    max_atas_per_tx: int | None = None,
    max_size: int = PACKET_DATA_SIZE,
) -> list[BuiltTransaction]:
    """Move every SOL and token balance of ``wallets`` to ``receiver``; close their token accounts.

    Per wallet: for each token account ``transfer_checked`` of ``amount`` to the receiver's ATA (same token
    program) then ``close_account`` with its rent to the fee payer (amount 0: close only); then a transfer
    of ``lamports`` (the whole SOL balance) to the receiver. ``missing_receiver_atas`` lists the mints whose
    receiver ATA does not exist yet: every transaction moving such a mint creates it idempotently first
    (paid by the fee payer; only the first to land pays), so the transactions may land in any order.
    """
    _check_wallets(wallets, fee_payer, receiver)
    missing = set(missing_receiver_atas)
    payer = fee_payer.pubkey()
    units = []
    for wallet in wallets:
        owner = wallet.address
        unit = _Unit(owner, [wallet.keypair], [], 0)
        for holding in wallet.tokens:
            program = holding.token_program
            source = holding.address_for(owner)
            if holding.amount > 0:
                if holding.decimals is None:
                    raise ValueError(f"wallet {owner}: decimals of {holding.mint} are needed to transfer it")
                destination = get_associated_token_address(receiver, holding.mint, program)
                unit.instructions.append(
                    transfer_checked(
                        TransferCheckedParams(
                            program_id=program,
                            source=source,
                            mint=holding.mint,
                            dest=destination,
                            owner=owner,
                            amount=holding.amount,
                            decimals=holding.decimals,
                        )
                    )
                )
                unit.compute_units += CU_TRANSFER_CHECKED[program]
                unit.tokens_swept[holding.mint] = unit.tokens_swept.get(holding.mint, 0) + holding.amount
                if holding.mint in missing and (holding.mint, program) not in unit.needs_receiver_atas:
                    unit.needs_receiver_atas.append((holding.mint, program))
            unit.instructions.append(_close_instruction(source, owner, payer, program))
            unit.compute_units += CU_CLOSE_ACCOUNT[program]
            unit.ata_count += 1
            unit.closed_accounts.append(source)
            unit.rent_reclaimed += holding.lamports if holding.lamports is not None else ata_rent(program)
        if wallet.lamports > 0:
            unit.instructions.append(
                transfer(TransferParams(from_pubkey=owner, to_pubkey=receiver, lamports=wallet.lamports))
            )
            unit.compute_units += CU_SOL_TRANSFER
            unit.lamports_swept = wallet.lamports
        if not unit.instructions:
            raise ValueError(f"wallet {owner} has nothing to sweep")
        units.append(unit)

    def prefix(group: list[_Unit]) -> _Unit:
        head = _Unit(Pubkey.default(), [], [], 0)
        needed = list(dict.fromkeys(pair for unit in group for pair in unit.needs_receiver_atas))
        for mint, program in needed:
            head.instructions.append(
                create_idempotent_associated_token_account(payer, receiver, mint, program)
            )
            head.compute_units += CU_CREATE_ATA[program]
            head.rent_max += ata_rent(program)
            head.created_accounts.append(get_associated_token_address(receiver, mint, program))
        return head

    packer = _Packer(
        fee_payer=fee_payer,
        recent_blockhash=recent_blockhash,
        compute_unit_price=_priority(priority_fee_microlamports),
        compute_unit_limit=compute_unit_limit,
        max_units=max_wallets_per_tx,
        max_atas=_max_atas(max_atas_per_tx),
        max_size=max_size,
        prefix=prefix,
    )
    return packer.pack(units)


def build_sol_sweep_transactions(
    wallets: Sequence[tuple[Keypair, int]],
    *,
    fee_payer: Keypair,
    receiver: Pubkey,
    recent_blockhash: Hash,
    **options,
) -> list[BuiltTransaction]:
    """SOL only: ``wallets`` as (keypair, whole balance in lamports) pairs."""
    funds = [WalletFunds(keypair, lamports) for keypair, lamports in wallets]
    return build_sweep_transactions(
        funds, fee_payer=fee_payer, receiver=receiver, recent_blockhash=recent_blockhash, **options
    )


def build_close_ata_transactions(
    wallets: Sequence[WalletFunds],
    *,
    fee_payer: Keypair,
    recent_blockhash: Hash,
    priority_fee_microlamports: int | None = None,
    compute_unit_limit: int | None = None,
    max_atas_per_tx: int | None = None,
    max_size: int = PACKET_DATA_SIZE,
) -> list[BuiltTransaction]:
    """Close the (empty) token accounts of ``wallets``, rent to the fee payer; SOL balances are not touched.

    Each ``TokenFunds`` must have amount 0 (a token account with a balance cannot be closed: sweep it).
    """
    _check_wallets(wallets, fee_payer)
    payer = fee_payer.pubkey()
    units = []
    for wallet in wallets:
        owner = wallet.address
        if not wallet.tokens:
            raise ValueError(f"wallet {owner} has no token account to close")
        unit = _Unit(owner, [wallet.keypair], [], 0)
        for holding in wallet.tokens:
            if holding.amount:
                raise ValueError(
                    f"wallet {owner}: token account for {holding.mint} holds {holding.amount}; "
                    "sweep it instead of closing it"
                )
            source = holding.address_for(owner)
            unit.instructions.append(_close_instruction(source, owner, payer, holding.token_program))
            unit.compute_units += CU_CLOSE_ACCOUNT[holding.token_program]
            unit.ata_count += 1
            unit.closed_accounts.append(source)
            unit.rent_reclaimed += (
                holding.lamports if holding.lamports is not None else ata_rent(holding.token_program)
            )
        units.append(unit)
    packer = _Packer(
        fee_payer=fee_payer,
        recent_blockhash=recent_blockhash,
        compute_unit_price=_priority(priority_fee_microlamports),
        compute_unit_limit=compute_unit_limit,
        max_units=None,
        max_atas=_max_atas(max_atas_per_tx),
        max_size=max_size,
    )
    return packer.pack(units)


def build_create_ata_transactions(
    owner: Pubkey,
    mints: Sequence[tuple[Pubkey, Pubkey]],
    *,
    fee_payer: Keypair,
    recent_blockhash: Hash,
    priority_fee_microlamports: int | None = None,
    compute_unit_limit: int | None = None,
    max_atas_per_tx: int | None = None,
    max_size: int = PACKET_DATA_SIZE,
) -> list[BuiltTransaction]:
    """Create ``owner``'s ATA for each (mint, token program) idempotently, the fee payer paying the rent.

    Usually one transaction (``max_atas_per_tx`` and the size limit split longer lists); ``owner`` does not
    sign.
    """
    payer = fee_payer.pubkey()
    units = []
    for mint, program in dict.fromkeys((m, p) for m, p in mints):
        address = get_associated_token_address(owner, mint, program)
        units.append(
            _Unit(
                owner,
                [],
                [create_idempotent_associated_token_account(payer, owner, mint, program)],
                CU_CREATE_ATA[program],
                ata_count=1,
                rent_max=ata_rent(program),
                created_accounts=[address],
            )
        )
    if not units:
        return []
    packer = _Packer(
        fee_payer=fee_payer,
        recent_blockhash=recent_blockhash,
        compute_unit_price=_priority(priority_fee_microlamports),
        compute_unit_limit=compute_unit_limit,
        max_units=None,
        max_atas=_max_atas(max_atas_per_tx),
        max_size=max_size,
    )
    return packer.pack(units)
