"""A run's parameters, cleaned once into a frozen request.

``RunRequest.clean()`` is the one place a run's record ids, limit, sleep and the operation's own options are
cleaned (with the functions of ``parameters.py`` and the operation's ``clean_options``), before any run is
recorded: ``runs.request_run()`` cleans what an entry point was given, and a queued run's recorded
parameters are read back through the same function when it executes.
"""

from dataclasses import dataclass, field
from types import MappingProxyType

from ..parameters import clean_ids, clean_limit, clean_sleep
from .registry import get_operation_class

BASE_NAMES = ("ids", "limit", "sleep", "dry_run")


class InvalidParameter(ValueError):
    """A parameter refused: ``name`` says which (``ids``, ``limit``, ``sleep``), the message why."""

    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


def _cleaned(name, clean, value):
    try:
        return clean(value)
    except ValueError as exc:
        raise InvalidParameter(name, str(exc)) from None


@dataclass(frozen=True)
class RunRequest:
    kind: str
    ids: tuple | None = None  # exactly these records; None: everything eligible (up to ``limit``)
    limit: int | None = None
    sleep: float = 0.0
    dry_run: bool = False
    options: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def clean(cls, kind, *, ids=None, limit=None, sleep=0, dry_run=False, options=None):
        """The request, or ``ValueError`` naming what is wrong (nan, 2**63 or '٣' never reach a record)."""
        operation_class = get_operation_class(kind)
        ids = _cleaned("ids", clean_ids, ids)
        limit = _cleaned("limit", clean_limit, limit)
        sleep = _cleaned("sleep", clean_sleep, sleep)
        cleaned = operation_class.clean_options(ids, dict(options or {}))
        if limit is None and ids is None:
            limit = operation_class.default_limit
        return cls(
            kind=kind,
            ids=None if ids is None else tuple(ids),
            limit=limit,
            sleep=sleep,
            dry_run=bool(dry_run),
            options=MappingProxyType(dict(cleaned)),
        )

    @classmethod
    def from_parameters(cls, kind, parameters, **changes):
        """The request a recorded run's ``parameters`` make, cleaned again (they may have been edited)."""
        names = get_operation_class(kind).option_names
        values = {name: parameters.get(name) for name in BASE_NAMES if name in parameters}
        values.update(changes)
        options = {name: parameters[name] for name in names if name in parameters}
        options.update(values.pop("options", None) or {})
        return cls.clean(kind, **values, options=options)

    @property
    def operation_class(self):
        return get_operation_class(self.kind)

    def parameters(self):
        """What the run records (JSON): ids, limit, sleep, dry run and the operation's options."""
        return {
            "ids": None if self.ids is None else list(self.ids),
            "limit": self.limit,
            "sleep": self.sleep,
            "dry_run": self.dry_run,
            **self.options,
        }
