"""Who may run which operation: one custom permission per operation (``solana_payments.run_<kind>``).

``admin_view`` only checks that the user is active staff, so every view that acts checks these itself.
"""

from ..operations import get_operation_class, operation_classes


def can_run(user, kind):
    """Whether ``user`` has every permission the operation needs (a maintenance run: each step's)."""
    try:
        operation_class = get_operation_class(kind)
    except ValueError:
        return False
    return all(user.has_perm(permission) for permission in operation_class.permissions())


def can_run_any(user):
    return any(can_run(user, kind) for kind, c in operation_classes().items() if c.own_permission)


class RunPermissionsMixin:
    """``has_run_<kind>_permission(request)`` for every operation (and ``has_run_any_permission``): what
    ``@admin.action(permissions=["run_<kind>"])`` asks the ModelAdmin."""

    def __getattr__(self, name):
        prefix, suffix = "has_run_", "_permission"
        if name.startswith(prefix) and name.endswith(suffix):
            kind = name[len(prefix) : -len(suffix)]
            if kind == "any":
                return lambda request: can_run_any(request.user)
            if kind in operation_classes():
                return lambda request: can_run(request.user, kind)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
