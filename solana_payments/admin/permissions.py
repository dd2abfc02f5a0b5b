"""Who may run which operation: one custom permission per operation (``solana_payments.run_<kind>``).

``admin_view`` only checks that the user is active staff, so every view that acts checks these itself.
"""

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
    """``has_run_<kind>_permission(request)`` for every operation (and ``has_run_any_permission``): what
    ``@admin.action(permissions=["run_<kind>"])`` asks the ModelAdmin."""

    def __getattr__(self, name):
        prefix, suffix = "has_run_", "_permission"
        if name.startswith(prefix) and name.endswith(suffix):
            kind = name[len(prefix) : -len(suffix)]
            if kind == "any":
                return lambda request: can_run_any(request.user)
            if kind in OPERATIONS or kind == MAINTENANCE:
                return lambda request: can_run(request.user, kind)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
