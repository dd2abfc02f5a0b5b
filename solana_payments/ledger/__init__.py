"""The transfer ledger: every token movement into or out of a one-time wallet, and the payment's facts
derived from those rows.

- ``reading``: rows read from the chain (a wallet's new history) or written from a transaction the app
  built and confirmed itself;
- ``facts``: the one rule that derives who paid, when, and how much was received, refunded and swept.
"""
