"""Who may run which operation: one custom permission per operation (``solana_payments.run_<kind>``).

``admin_view`` only checks that the user is active staff, so every view that acts checks these itself.
"""

from ..models import OperationKind
from ..operations import MAINTENANCE, MAINTENANCE_STEPS, OPERATIONS, operation_kinds

OPERATION_KINDS = operation_kinds()


def can_run(user, kind):
    """A maintenance run is its steps in a row: it needs each step's permission."""
    if kind == MAINTENANCE:
        return all(can_run(user, step) for step in MAINTENANCE_STEPS)
    return kind in OPERATIONS and user.has_perm(OPERATIONS[kind].permission())


def can_run_any(user):
    return any(can_run(user, kind) for kind in OPERATION_KINDS)


class RunPermissionsMixin:
    """``has_run_<kind>_permission(request)``: what ``@admin.action(permissions=["run_<kind>"])`` asks."""

    def has_run_recheck_permission(self, request):
        return can_run(request.user, OperationKind.RECHECK)

    def has_run_expire_permission(self, request):
        return can_run(request.user, OperationKind.EXPIRE)

    def has_run_sweep_permission(self, request):
        return can_run(request.user, OperationKind.SWEEP)

    def has_run_reclaim_permission(self, request):
        return can_run(request.user, OperationKind.RECLAIM)

    def has_run_refund_permission(self, request):
        return can_run(request.user, OperationKind.REFUND)

    def has_run_resolve_permission(self, request):
        return can_run(request.user, OperationKind.RESOLVE)

    def has_run_reconcile_permission(self, request):
        return can_run(request.user, OperationKind.RECONCILE)

    def has_run_any_permission(self, request):
        return can_run_any(request.user)
