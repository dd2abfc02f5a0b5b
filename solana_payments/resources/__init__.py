"""django-import-export resources: what the admin exports, and the one thing it imports (tokens).

Safety is built into :class:`SafeModelResource`, the base of every resource here:

- **Allow-list only.** A resource's columns are the fields it declares, in their order (each declared once;
  ``Meta.fields`` is filled from them); a resource that declares none and lists none, or with any column, attribute path, dehydrate method or related path whose name looks like key material
  (:data:`SENSITIVE_NAME`: ``*secret*``, ``*keypair*``, ``pending_transaction``, ...), is refused with
  ``ImproperlyConfigured`` when its class is created. The sensitive model fields are also deferred in every
  export query, so a wallet's encrypted secret and signed transaction are never even loaded.
- **Formula escaping.** Every exported text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading single quote (OWASP's CSV-injection advice), in every format.
- **Export-only by default.** Only :class:`PaymentTokenResource` may import.

Exports stream: the queryset is read with ``iterator(chunk_size)`` and ``select_related``, never with a
prefetch, so exporting N rows holds one chunk of model objects and makes a fixed number of queries. A
payment's options come from a correlated subquery (``group_concat`` / ``string_agg``) on SQLite and
PostgreSQL; on other databases they fall back to django-import-export's paginated prefetch.

Formats of the cells, the same in CSV, XLSX and JSON:

- amounts of tokens are exact decimal strings in token units (``"25.000001"``), never floats;
- SOL fees and rent are whole lamports (integers), in columns named ``*_lamports``;
- times are ISO 8601 in UTC (``"2025-01-31T12:00:00+00:00"``);
- a payment's ``options`` column lists every option as ``"<symbol> <amount>"`` sorted by symbol and joined
  by ``"; "``, e.g. ``"SOL 0.5; USDC 25.000001"``.
"""

from .records import (
    DifferenceResource,
    OneTimeWalletResource,
    OperationItemResource,
    OperationRunResource,
    PaymentResource,
)
from .safety import (
    EXPORT_CHUNK_SIZE,
    FORMULA_TRIGGERS,
    SENSITIVE_NAME,
    SafeModelResource,
    check_allow_list,
    escape_formula,
    sensitive_field_names,
    unescape_formula,
)
from .tokens import PaymentTokenResource, RowCheck
from .transfers import TransferResource

RESOURCES = (
    PaymentResource,
    OneTimeWalletResource,
    PaymentTokenResource,
    OperationRunResource,
    OperationItemResource,
    DifferenceResource,
    TransferResource,
)


__all__ = [
    "EXPORT_CHUNK_SIZE",
    "DifferenceResource",
    "FORMULA_TRIGGERS",
    "RESOURCES",
    "SENSITIVE_NAME",
    "OneTimeWalletResource",
    "OperationItemResource",
    "OperationRunResource",
    "PaymentResource",
    "PaymentTokenResource",
    "RowCheck",
    "SafeModelResource",
    "TransferResource",
    "check_allow_list",
    "escape_formula",
    "sensitive_field_names",
    "unescape_formula",
]
