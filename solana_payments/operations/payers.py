"""Who paid into a one-time wallet, read from the chain: the newest transaction that brought money in.

``holdings.find_evidence`` takes a wallet's newest transaction, which is the paying one while the money is
still there. Once the wallet was swept or refunded its newest transaction moves money *out*; the accept
and refund decisions need the one that brought it in, so they read here.
"""

from .holdings import SIGNATURE_LOOKBACK, Evidence, _aware


def find_incoming(chain, lookups):
    """``[(key, address, token)]`` -> ``{key: Evidence}``: for each address (the wallet, or its token
    account for a token), the newest successful transaction among its last few that raised its balance."""
    if not lookups:
        return {}
    histories = chain.get_signatures_for_addresses(
        [address for _, address, _ in lookups], limit=SIGNATURE_LOOKBACK
    )
    wanted = [
        (key, str(address), token, entry)
        for (key, address, token), history in zip(lookups, histories, strict=True)
        for entry in history
        if entry.err is None
    ]
    transactions = chain.get_transactions([entry.signature for *_, entry in wanted])
    evidence = {}
    for (key, address, token, entry), tx in zip(wanted, transactions, strict=True):
        if key in evidence or tx is None or tx.transaction.meta is None:
            continue  # histories come newest first: the first incoming one per key wins
        payer = _sender(tx, address, token)
        if payer:
            block_time = tx.block_time or entry.block_time
            evidence[key] = Evidence(signature=str(entry.signature), payer=payer, paid_at=_aware(block_time))
    return evidence


def _sender(tx, address, token):
    """The owner (tokens) or account (SOL) whose balance fell while ``address``'s rose; ``""`` when
    ``address`` received nothing in ``tx``."""
    meta = tx.transaction.meta
    keys = [str(k) for k in tx.transaction.transaction.message.account_keys]
    if address not in keys:
        return ""
    index = keys.index(address)
    if token is None or token.is_native:
        if meta.post_balances[index] <= meta.pre_balances[index]:
            return ""
        drops = [
            (pre - post, i)
            for i, (pre, post) in enumerate(zip(meta.pre_balances, meta.post_balances, strict=False))
            if i != index and pre > post
        ]
        return keys[max(drops)[1]] if drops else ""
    amounts = {}
    owners = {}
    for when, balances in (("pre", meta.pre_token_balances), ("post", meta.post_token_balances)):
        for b in balances or []:
            if str(b.mint) == token.mint:
                amounts[(when, b.account_index)] = int(b.ui_token_amount.amount)
                owners[b.account_index] = str(b.owner) if b.owner else keys[b.account_index]
    if amounts.get(("post", index), 0) <= amounts.get(("pre", index), 0):
        return ""
    for i, owner in owners.items():
        if i != index and amounts.get(("post", i), 0) < amounts.get(("pre", i), 0):
            return owner
    return ""
