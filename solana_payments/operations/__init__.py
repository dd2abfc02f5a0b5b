"""The operations, each in a module of its own, and the registry the rest of the app reads them from.

Adding one is a new module here with an ``Operation`` subclass, named in the ``register`` call below (a
project's own go in the ``OPERATIONS`` setting instead). Nothing else names a kind: the kind choices, the
permission, the admin actions, the dashboard tile, the command and the schedule come from the class.
"""

from .base import run_operation
from .expire import ExpireOperation
from .maintenance import MaintenanceOperation
from .recheck import RecheckOperation
from .reclaim import ReclaimOperation
from .reconcile import ReconcileOperation
from .refund import RefundOperation
from .registry import (
    default_schedules,
    get_operation_class,
    kind_choices,
    operation_classes,
    operation_kinds,
    register,
)
from .request import RunRequest
from .resolve import ResolveOperation
from .sweep import SweepOperation

register(
    RecheckOperation,
    ExpireOperation,
    SweepOperation,
    ReclaimOperation,
    ResolveOperation,
    RefundOperation,
    ReconcileOperation,
    MaintenanceOperation,
)

__all__ = [
    "RunRequest",
    "default_schedules",
    "get_operation_class",
    "kind_choices",
    "operation_classes",
    "operation_kinds",
    "run_operation",
]
