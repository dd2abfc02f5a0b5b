"""The operations, each in a module of its own, and the facts the rest of the app reads about them.

Importing this package registers every operation in ``OPERATIONS`` (``kind`` -> class). Adding one is a
new module here, imported below, plus its management command.
"""

from . import expire, recheck, reclaim, reconcile, refund, resolve, sweep  # noqa: F401  (each registers its operation)
from .base import OPERATIONS, get_operation_class, run_operation

# The maintenance flow: these steps in this order, each a child run, on a schedule of its own.
MAINTENANCE = "maintenance"
MAINTENANCE_STEPS = ("expire", "sweep", "reclaim")
MAINTENANCE_SCHEDULE_MINUTES = 10


def operation_kinds():
    """Every operation's kind, in the order of the recommended flow."""
    return tuple(sorted(OPERATIONS, key=lambda kind: OPERATIONS[kind].order))


def default_schedules():
    """``{kind: minutes}`` of what runs on a schedule by default."""
    schedules = {MAINTENANCE: MAINTENANCE_SCHEDULE_MINUTES}
    schedules.update({kind: c.schedule_minutes for kind, c in OPERATIONS.items() if c.schedule_minutes})
    return schedules


__all__ = [
    "MAINTENANCE",
    "MAINTENANCE_STEPS",
    "OPERATIONS",
    "default_schedules",
    "get_operation_class",
    "operation_kinds",
    "run_operation",
]
