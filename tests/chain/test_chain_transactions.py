"""The packing builders, executed on LiteSVM: they fit, they run, and they move every lamport and token."""

import pytest
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata
from spl.token.instructions import initialize_mint2, mint_to
from spl.token.models import InitializeMint2Params, MintToParams

from solana_payments.chain.accounts import (
    MINT_SIZE,
    RENT_EXEMPT_MINIMUM,
    TOKEN_2022_ATA_RENT,
    TOKEN_2022_ATA_SIZE,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_ACCOUNT_RENT,
    TOKEN_ACCOUNT_SIZE,
    TOKEN_PROGRAM_ID,
    ata_rent,
    decode_token_account,
    get_associated_token_address,
)
from solana_payments.chain.transactions import (
    PACKET_DATA_SIZE,
    TokenFunds,
    WalletFunds,
    build_close_ata_transactions,
    build_create_ata_transactions,
    build_sol_sweep_transactions,
    build_sweep_transactions,
    expected_fee,
)

PROGRAMS = pytest.mark.parametrize(
    "program", [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID], ids=["token", "token-2022"]
)
DECIMALS = 6


class Chain:
    """A LiteSVM with a funded fee payer and helpers to set up mints and one-time wallets."""

    def __init__(self):
        self.svm = LiteSVM()
        self.fee_payer = Keypair()
        self.receiver = Keypair().pubkey()
        self.svm.airdrop(self.fee_payer.pubkey(), 100_000_000_000)

    def balance(self, pubkey) -> int:
        return self.svm.get_balance(pubkey) or 0

    def execute(self, tx):
        result = self.svm.send_transaction(tx)
        assert isinstance(result, TransactionMetadata), f"{result.err()} {result.meta().logs()}"
        return result

    def run(self, instructions, signers=()):
        message = MessageV0.try_compile(
            self.fee_payer.pubkey(), instructions, [], self.svm.latest_blockhash()
        )
        return self.execute(VersionedTransaction(message, [self.fee_payer, *signers]))

    def create_mint(self, program):
        mint = Keypair()
        self.run(
            [
                create_account(
                    CreateAccountParams(
                        from_pubkey=self.fee_payer.pubkey(),
                        to_pubkey=mint.pubkey(),
                        lamports=self.svm.minimum_balance_for_rent_exemption(MINT_SIZE),
                        space=MINT_SIZE,
                        owner=program,
                    )
                ),
                initialize_mint2(
                    InitializeMint2Params(
                        decimals=DECIMALS,
                        program_id=program,
                        mint=mint.pubkey(),
                        mint_authority=self.fee_payer.pubkey(),
                    )
                ),
            ],
            [mint],
        )
        return mint.pubkey()

    def create_atas(self, owner, mints):
        """With the project's own builder, so that one is executed too."""
        built = build_create_ata_transactions(
            owner,
            mints,
            fee_payer=self.fee_payer,
            recent_blockhash=self.svm.latest_blockhash(),
            priority_fee_microlamports=0,
        )
        for item in built:
            self.execute(item.transaction)
        return built

    def mint_to(self, mint, program, owner, amount):
        ata = get_associated_token_address(owner, mint, program)
        self.run(
            [
                mint_to(
                    MintToParams(
                        program_id=program,
                        mint=mint,
                        dest=ata,
                        mint_authority=self.fee_payer.pubkey(),
                        amount=amount,
                    )
                )
            ]
        )
        return ata

    def token_amount(self, address) -> int:
        account = self.svm.get_account(address)
        return decode_token_account(account.data).amount if account else 0


@pytest.fixture
def chain():
    return Chain()


def blockhash(chain):
    return chain.svm.latest_blockhash()


def test_sol_sweep_packs_nine_wallets_and_moves_every_lamport(chain):
    wallets = []
    for index in range(20):
        keypair = Keypair()
        lamports = RENT_EXEMPT_MINIMUM + 1_000 * index + 7
        chain.svm.airdrop(keypair.pubkey(), lamports)
        wallets.append((keypair, lamports))
    built = build_sol_sweep_transactions(
        wallets,
        fee_payer=chain.fee_payer,
        receiver=chain.receiver,
        recent_blockhash=blockhash(chain),
        priority_fee_microlamports=0,
    )
    assert [len(item.wallets) for item in built] == [9, 9, 2]
    assert [w for item in built for w in item.wallets] == [k.pubkey() for k, _ in wallets]
    before = chain.balance(chain.fee_payer.pubkey())
    for item in built:
        assert len(bytes(item.transaction)) == item.size <= PACKET_DATA_SIZE
        assert item.fee == expected_fee(len(item.wallets) + 1) == 5_000 * (len(item.wallets) + 1)
        assert item.signature == str(item.transaction.signatures[0])
        result = chain.execute(item.transaction)
        assert result.fee() == item.fee
        assert str(result.signature()) == item.signature
    total = sum(lamports for _, lamports in wallets)
    assert chain.balance(chain.receiver) == total == sum(item.lamports_swept for item in built)
    assert all(chain.svm.get_account(k.pubkey()) is None for k, _ in wallets)
    assert before - chain.balance(chain.fee_payer.pubkey()) == sum(item.fee for item in built)


def test_sol_sweep_must_take_all_lamports(chain):
    """Leaving 0 < lamports < rent-exempt minimum fails: the builder is given whole balances for this."""
    keypair = Keypair()
    chain.svm.airdrop(keypair.pubkey(), 2_000_000)
    [item] = build_sol_sweep_transactions(
        [(keypair, 1_500_000)],
        fee_payer=chain.fee_payer,
        receiver=chain.receiver,
        recent_blockhash=blockhash(chain),
        priority_fee_microlamports=0,
    )
    result = chain.svm.send_transaction(item.transaction)
    assert not isinstance(result, TransactionMetadata)
    assert "InsufficientFundsForRent" in str(result.err())


@PROGRAMS
def test_token_sweep_packs_six_pairs_moves_every_unit_and_returns_rent(chain, program):
    mint = chain.create_mint(program)
    wallets = []
    for index in range(13):
        keypair = Keypair()
        [created] = chain.create_atas(keypair.pubkey(), [(mint, program)])
        assert created.rent_max == ata_rent(program)
        amount = 1_000_000 * (index + 1) + 1
        ata = chain.mint_to(mint, program, keypair.pubkey(), amount)
        account = chain.svm.get_account(ata)
        size = TOKEN_2022_ATA_SIZE if program == TOKEN_2022_PROGRAM_ID else TOKEN_ACCOUNT_SIZE
        assert len(account.data) == size
        assert account.lamports == ata_rent(program)
        wallets.append(WalletFunds(keypair, 0, [TokenFunds(mint, program, amount, DECIMALS)]))

    built = build_sweep_transactions(
        wallets,
        fee_payer=chain.fee_payer,
        receiver=chain.receiver,
        recent_blockhash=blockhash(chain),
        missing_receiver_atas=[mint],
        priority_fee_microlamports=0,
        max_atas_per_tx=100,
    )
    # With the receiver's ATA created idempotently in each transaction there is room for 5 pairs.
    assert all(len(bytes(item.transaction)) <= PACKET_DATA_SIZE for item in built)
    assert max(len(item.wallets) for item in built) == 5
    receiver_ata = get_associated_token_address(chain.receiver, mint, program)
    payer_before = chain.balance(chain.fee_payer.pubkey())
    first = True
    for item in built:
        assert item.created_accounts == [receiver_ata]
        result = chain.execute(item.transaction)
        assert result.fee() == item.fee == 5_000 * (len(item.wallets) + 1)
        if first:  # only the first transaction pays the receiver ATA's rent
            payer_before -= ata_rent(program)
            first = False
    rent = sum(item.rent_reclaimed for item in built)
    assert rent == 13 * ata_rent(program)
    fees = sum(item.fee for item in built)
    assert chain.balance(chain.fee_payer.pubkey()) == payer_before - fees + rent
    assert chain.token_amount(receiver_ata) == sum(w.tokens[0].amount for w in wallets)
    for wallet in wallets:
        assert chain.svm.get_account(wallet.tokens[0].address_for(wallet.address)) is None


@PROGRAMS
def test_token_sweep_six_pairs_when_receiver_ata_exists(chain, program):
    mint = chain.create_mint(program)
    chain.create_atas(chain.receiver, [(mint, program)])
    wallets = []
    for _ in range(7):
        keypair = Keypair()
        chain.create_atas(keypair.pubkey(), [(mint, program)])
        chain.mint_to(mint, program, keypair.pubkey(), 5_000_000)
        wallets.append(WalletFunds(keypair, 0, [TokenFunds(mint, program, 5_000_000, DECIMALS)]))
    built = build_sweep_transactions(
        wallets,
        fee_payer=chain.fee_payer,
        receiver=chain.receiver,
        recent_blockhash=blockhash(chain),
        priority_fee_microlamports=0,
        max_atas_per_tx=100,
    )
    assert [len(item.wallets) for item in built] == [6, 1]
    assert all(item.size <= PACKET_DATA_SIZE for item in built)
    for item in built:
        chain.execute(item.transaction)
    receiver_ata = get_associated_token_address(chain.receiver, mint, program)
    assert chain.token_amount(receiver_ata) == 7 * 5_000_000


def test_max_atas_per_tx_caps_packing(chain):
    mint = chain.create_mint(TOKEN_PROGRAM_ID)
    wallets = [WalletFunds(Keypair(), 0, [TokenFunds(mint, TOKEN_PROGRAM_ID, 1, DECIMALS)]) for _ in range(7)]
    built = build_sweep_transactions(
        wallets,
        fee_payer=chain.fee_payer,
        receiver=chain.receiver,
        recent_blockhash=blockhash(chain),
        priority_fee_microlamports=0,
        max_atas_per_tx=3,
    )
    assert [len(item.wallets) for item in built] == [3, 3, 1]


def test_wallet_with_sol_and_both_token_programs_and_priority_fee(chain):
    usdc = chain.create_mint(TOKEN_PROGRAM_ID)
    pyusd = chain.create_mint(TOKEN_2022_PROGRAM_ID)
    wallets = []
    for _ in range(4):
        keypair = Keypair()
        owner = keypair.pubkey()
        chain.create_atas(owner, [(usdc, TOKEN_PROGRAM_ID), (pyusd, TOKEN_2022_PROGRAM_ID)])
        chain.mint_to(usdc, TOKEN_PROGRAM_ID, owner, 2_500_000)
        chain.mint_to(pyusd, TOKEN_2022_PROGRAM_ID, owner, 3_000_000)
        chain.svm.airdrop(owner, 1_234_567)
        wallets.append(
            WalletFunds(
                keypair,
                1_234_567,
                [
                    TokenFunds(usdc, TOKEN_PROGRAM_ID, 2_500_000, DECIMALS),
                    TokenFunds(pyusd, TOKEN_2022_PROGRAM_ID, 3_000_000, DECIMALS),
                ],
            )
        )
    built = build_sweep_transactions(
        wallets,
        fee_payer=chain.fee_payer,
        receiver=chain.receiver,
        recent_blockhash=blockhash(chain),
        missing_receiver_atas=[usdc, pyusd],
        priority_fee_microlamports=10_000,
        max_atas_per_tx=100,
    )
    for item in built:
        assert item.size <= PACKET_DATA_SIZE
        assert item.priority_fee > 0 and item.compute_unit_limit
        assert item.fee == 5_000 * item.num_signatures + item.priority_fee
        result = chain.execute(item.transaction)
        assert result.fee() == item.fee
        assert result.compute_units_consumed() <= item.compute_unit_limit
    assert chain.balance(chain.receiver) == 4 * 1_234_567
    assert (
        chain.token_amount(get_associated_token_address(chain.receiver, usdc, TOKEN_PROGRAM_ID)) == 10_000_000
    )
    assert (
        chain.token_amount(get_associated_token_address(chain.receiver, pyusd, TOKEN_2022_PROGRAM_ID))
        == 12_000_000
    )
    for wallet in wallets:
        assert chain.svm.get_account(wallet.address) is None
        for holding in wallet.tokens:
            assert chain.svm.get_account(holding.address_for(wallet.address)) is None


def test_close_empty_atas_returns_rent_to_fee_payer(chain):
    usdc = chain.create_mint(TOKEN_PROGRAM_ID)
    pyusd = chain.create_mint(TOKEN_2022_PROGRAM_ID)
    wallets = []
    for _ in range(8):
        keypair = Keypair()
        chain.create_atas(keypair.pubkey(), [(usdc, TOKEN_PROGRAM_ID), (pyusd, TOKEN_2022_PROGRAM_ID)])
        wallets.append(
            WalletFunds(
                keypair,
                tokens=[
                    TokenFunds(usdc, TOKEN_PROGRAM_ID),
                    TokenFunds(pyusd, TOKEN_2022_PROGRAM_ID),
                ],
            )
        )
    built = build_close_ata_transactions(
        wallets,
        fee_payer=chain.fee_payer,
        recent_blockhash=blockhash(chain),
        priority_fee_microlamports=0,
        max_atas_per_tx=6,
    )
    assert [len(item.wallets) for item in built] == [3, 3, 2]
    before = chain.balance(chain.fee_payer.pubkey())
    for item in built:
        assert item.size <= PACKET_DATA_SIZE
        assert item.rent_reclaimed == len(item.wallets) * (TOKEN_ACCOUNT_RENT + TOKEN_2022_ATA_RENT)
        chain.execute(item.transaction)
    gained = sum(item.rent_reclaimed - item.fee for item in built)
    assert chain.balance(chain.fee_payer.pubkey()) - before == gained
    for wallet in wallets:
        for holding in wallet.tokens:
            assert chain.svm.get_account(holding.address_for(wallet.address)) is None


def test_close_refuses_a_token_account_with_a_balance(chain):
    with pytest.raises(ValueError, match="sweep it"):
        build_close_ata_transactions(
            [WalletFunds(Keypair(), tokens=[TokenFunds(Keypair().pubkey(), TOKEN_PROGRAM_ID, 5, DECIMALS)])],
            fee_payer=chain.fee_payer,
            recent_blockhash=blockhash(chain),
            priority_fee_microlamports=0,
        )


def test_create_atas_one_transaction_fee_payer_pays_owner_does_not_sign(chain):
    usdc = chain.create_mint(TOKEN_PROGRAM_ID)
    pyusd = chain.create_mint(TOKEN_2022_PROGRAM_ID)
    owner = Keypair().pubkey()
    before = chain.balance(chain.fee_payer.pubkey())
    [item] = chain.create_atas(owner, [(usdc, TOKEN_PROGRAM_ID), (pyusd, TOKEN_2022_PROGRAM_ID)])
    assert item.num_signatures == 1 and item.wallets == [owner]
    assert item.rent_max == TOKEN_ACCOUNT_RENT + TOKEN_2022_ATA_RENT
    assert before - chain.balance(chain.fee_payer.pubkey()) == item.fee + item.rent_max
    for address in item.created_accounts:
        token = decode_token_account(chain.svm.get_account(address).data)
        assert token.owner == owner and token.amount == 0


def test_create_atas_respects_max_atas_per_tx(chain):
    mints = [(Keypair().pubkey(), TOKEN_PROGRAM_ID) for _ in range(5)]
    built = build_create_ata_transactions(
        Keypair().pubkey(),
        mints,
        fee_payer=chain.fee_payer,
        recent_blockhash=blockhash(chain),
        priority_fee_microlamports=0,
        max_atas_per_tx=2,
    )
    assert [len(item.created_accounts) for item in built] == [2, 2, 1]


def test_builders_read_no_settings(chain, settings):
    """The app passes PRIORITY_FEE_MICROLAMPORTS and MAX_ATAS_PER_TX; left out, no fee and no cap."""
    settings.SOLANA_PAYMENTS = {"PRIORITY_FEE_MICROLAMPORTS": 1_000, "MAX_ATAS_PER_TX": 1}
    mints = [(Keypair().pubkey(), TOKEN_PROGRAM_ID) for _ in range(2)]
    owner = Keypair().pubkey()
    built = build_create_ata_transactions(
        owner, mints, fee_payer=chain.fee_payer, recent_blockhash=blockhash(chain)
    )
    assert len(built) == 1
    assert built[0].compute_unit_price == 0 and built[0].priority_fee == 0
    built = build_create_ata_transactions(
        owner,
        mints,
        fee_payer=chain.fee_payer,
        recent_blockhash=blockhash(chain),
        priority_fee_microlamports=1_000,
        max_atas_per_tx=1,
    )
    assert len(built) == 2
    assert built[0].compute_unit_price == 1_000 and built[0].priority_fee > 0


def test_sweep_input_errors(chain):
    keypair = Keypair()
    options = dict(
        fee_payer=chain.fee_payer,
        receiver=chain.receiver,
        recent_blockhash=blockhash(chain),
        priority_fee_microlamports=0,
    )
    with pytest.raises(ValueError, match="twice"):
        build_sol_sweep_transactions([(keypair, 1_000_000), (keypair, 1_000_000)], **options)
    with pytest.raises(ValueError, match="fee payer"):
        build_sol_sweep_transactions([(chain.fee_payer, 1_000_000)], **options)
    with pytest.raises(ValueError, match="nothing to sweep"):
        build_sol_sweep_transactions([(keypair, 0)], **options)
    with pytest.raises(ValueError, match="decimals"):
        build_sweep_transactions(
            [WalletFunds(keypair, 0, [TokenFunds(Keypair().pubkey(), TOKEN_PROGRAM_ID, 5)])], **options
        )
