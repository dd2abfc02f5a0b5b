"""What one-time wallets hold on chain, read in batches, and what that means for their payments."""

from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from .chain.accounts import PROGRAM_BY_NAME, get_associated_token_address, token_account_from_account

NATIVE = "native"


def asset_key(token):
    """How an asset is named in a wallet's ``balances`` and ``swept``: ``native`` for SOL, else the mint."""
    return NATIVE if token.is_native else token.mint


def token_program_id(token):
    return PROGRAM_BY_NAME[token.token_program]


def token_account_address(owner, token):
    return get_associated_token_address(
        Pubkey.from_string(str(owner)), Pubkey.from_string(token.mint), token_program_id(token)
    )


@dataclass
class TokenHolding:
    token: object  # PaymentToken
    address: Pubkey
    exists: bool = False
    amount: int = 0
    lamports: int = 0


@dataclass
class Holdings:
    """The SOL balance of a wallet and its associated token accounts for the given tokens."""

    address: Pubkey
    lamports: int = 0
    tokens: dict = field(default_factory=dict)  # token pk -> TokenHolding
    swept: dict = field(default_factory=dict)  # asset key -> base units already moved to the receiver
    refunded: dict = field(default_factory=dict)  # asset key -> base units refunded out of the wallet
    transfers: list | None = None  # the wallet's transfer ledger, when it was brought up to date

    def amount_of(self, token):
        """Base units of ``token`` the wallet holds now."""
        if token.is_native:
            return self.lamports
        holding = self.tokens.get(token.pk)
        return holding.amount if holding else 0

    def received_of(self, token):
        """Base units of ``token`` the wallet ever received: what it holds plus what was swept or refunded
        out of it."""
        key = asset_key(token)
        return self.amount_of(token) + int(self.swept.get(key, 0)) + int(self.refunded.get(key, 0))

    def balances(self):
        """``{asset key: base units}`` of what it holds now (non-zero only), as stored on the wallet."""
        held = {NATIVE: self.lamports} if self.lamports else {}
        held.update({h.token.mint: h.amount for h in self.tokens.values() if h.amount})
        return held

    @property
    def has_funds(self):
        return self.lamports > 0 or any(h.amount > 0 for h in self.tokens.values())

    @property
    def open_token_accounts(self):
        return [h for h in self.tokens.values() if h.exists]

    def where_is(self, token):
        """The address whose history shows a payment in ``token``."""
        return self.address if token.is_native else self.tokens[token.pk].address


def read_holdings(chain, wallet_tokens, *, commitment=None):
    """``{wallet: [PaymentToken, ...]}`` -> ``{wallet.pk: Holdings}`` with one getMultipleAccounts per 100 keys.

    Read at ``PAYMENT_ACCEPTANCE_COMMITMENT`` unless told otherwise: a wallet is never called empty on a
    view older than the one its payment was accepted on.
    """
    from .conf import app_settings

    commitment = commitment or app_settings.PAYMENT_ACCEPTANCE_COMMITMENT
    plan = []
    keys = []
    for wallet, tokens in wallet_tokens.items():
        holdings = Holdings(
            address=Pubkey.from_string(wallet.address),
            swept=dict(wallet.swept or {}),
            refunded=dict(wallet.refunded or {}),
        )
        plan.append((wallet, holdings, len(keys)))
        keys.append(holdings.address)
        for token in tokens:
            if token.is_native:
                continue
            holding = TokenHolding(token=token, address=token_account_address(wallet.address, token))
            holdings.tokens[token.pk] = holding
            keys.append(holding.address)
    accounts = chain.get_accounts(keys, commitment=commitment) if keys else []
    result = {}
    for wallet, holdings, index in plan:
        account = accounts[index]
        holdings.lamports = account.lamports if account is not None else 0
        for offset, holding in enumerate(holdings.tokens.values(), start=1):
            account = accounts[index + offset]
            decoded = token_account_from_account(account, holding.address)
            if account is not None:
                holding.exists = True
                holding.lamports = account.lamports
            if decoded is not None:
                holding.amount = decoded.amount
        result[wallet.pk] = holdings
    return result


PAID, OVERPAID, UNDERPAID, UNPAID = "paid", "overpaid", "underpaid", "unpaid"
WITHIN_TOLERANCE = "underpaid_within_tolerance"  # short by no more than PAYMENT_TOLERANCE_PERCENT: paid


@dataclass(frozen=True)
class Assessment:
    verdict: str  # paid / overpaid / underpaid_within_tolerance / underpaid / unpaid
    token: object = None  # the PaymentToken paid (or most nearly paid)
    held: int = 0  # base units held of that token
    expected: int = 0  # base units the option asks for

    @property
    def settles(self):
        return self.verdict in (PAID, OVERPAID, WITHIN_TOLERANCE)


def assess(options, holdings, *, tolerance_percent=None):
    """Balance-based: a payment is paid when the wallet received at least one option's amount (what it
    holds now plus what was already swept from it, so a top-up after a sweep adds up), or, failing that,
    an option's amount less ``PAYMENT_TOLERANCE_PERCENT`` of it (``underpaid_within_tolerance``)."""
    options = list(options)
    best_partial = None
    for option in options:
        held = holdings.received_of(option.token)
        if held >= option.amount:
            verdict = PAID if held == option.amount else OVERPAID
            return Assessment(verdict, option.token, held, option.amount)
        if held > 0 and (
            best_partial is None or held * best_partial.expected > best_partial.held * option.amount
        ):
            best_partial = Assessment(UNDERPAID, option.token, held, option.amount)
    if best_partial is not None and _within_tolerance(best_partial, tolerance_percent):
        return Assessment(WITHIN_TOLERANCE, best_partial.token, best_partial.held, best_partial.expected)
    return best_partial or Assessment(UNPAID)


def _within_tolerance(partial, tolerance_percent):
    """Short by no more than the tolerance, in exact integer arithmetic on base units."""
    from decimal import Decimal

    from .conf import app_settings

    tolerance = Decimal(
        str(app_settings.PAYMENT_TOLERANCE_PERCENT if tolerance_percent is None else tolerance_percent)
    )
    if tolerance <= 0:
        return False
    shortfall = partial.expected - partial.held
    return Decimal(shortfall) * 100 <= tolerance * partial.expected


@dataclass(frozen=True)
class Evidence:
    """Who paid, with which transaction, and when: read from the chain for the record."""

    signature: str
    payer: str = ""
    paid_at: object = None  # aware datetime, from the block time
