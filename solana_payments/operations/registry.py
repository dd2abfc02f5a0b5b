"""Which operations exist: ``kind`` -> ``Operation`` subclass.

The built-in operations are registered by ``operations/__init__.py``, by name, in one list. A project adds
its own with the ``OPERATIONS`` setting: dotted paths of ``Operation`` subclasses, read when the registry
is asked (never at import time). Each class is the one declaration of its kind: the run's kind choices, its
permission, its admin actions, its dashboard tile, its command, its schedule and how its runs are retried
and approved are all read from it.
"""

from django.utils.module_loading import import_string

from ..conf import app_settings

_BUILT_IN = {}  # kind -> class, filled by operations/__init__.py


def register(*classes):
    """Register built-in operation classes (``operations/__init__.py`` names each one)."""
    for operation_class in classes:
        _BUILT_IN[operation_class.kind] = operation_class


def built_in_kinds():
    return tuple(_BUILT_IN)


def _project_operations():
    classes = {}
    for path in app_settings.OPERATIONS or ():
        operation_class = import_string(path)
        classes[operation_class.kind] = operation_class
    return classes


def operation_classes():
    """``{kind: class}`` of every operation, built-in and the project's, in the order of the flow."""
    classes = {**_BUILT_IN, **_project_operations()}
    return dict(sorted(classes.items(), key=lambda pair: (pair[1].order, pair[0])))


def get_operation_class(kind):
    classes = operation_classes()
    try:
        return classes[kind]
    except KeyError:
        raise ValueError(f"Unknown operation {kind!r}; choose one of {', '.join(classes)}.") from None


def operation_kinds():
    """Every operation's kind, in the order of the recommended flow."""
    return tuple(operation_classes())


def kind_choices():
    """``[(kind, label)]``: what ``OperationRun.kind`` may hold."""
    return [(kind, c.label or kind) for kind, c in operation_classes().items()]


def default_schedules():
    """``{kind: minutes}`` of what runs on a schedule by default."""
    return {kind: c.schedule_minutes for kind, c in operation_classes().items() if c.schedule_minutes}
