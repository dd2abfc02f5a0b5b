"""Writing per-row values to many rows in one UPDATE statement.

``bulk_update`` writes one ``CASE`` branch per row inside its own transaction and splits the rows into
small batches. Operations mostly write values many rows share (a state, a transaction's signature), so
here rows are grouped by value: one ``WHEN pk IN (...)`` per distinct value, one statement in all.
"""

import json
from collections import defaultdict

from django.db.models import Case, Value, When
from django.utils import timezone


def update_rows(model, objects, fields, *, where=None, **common):
    """Write ``fields`` of ``objects`` (as they are in memory) plus ``common`` values, in one UPDATE.

    ``where`` (a dict of lookups) makes it conditional: rows that no longer match are left as they are.
    Returns the number of rows written.
    """
    objects = list(objects)
    if not objects:
        return 0
    updates = dict(common)
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        updates.setdefault("updated_at", timezone.now())
    for name in fields:
        field = model._meta.get_field(name)
        groups = defaultdict(list)
        values = {}
        for obj in objects:
            value = getattr(obj, field.attname)
            key = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
            values.setdefault(key, value)
            groups[key].append(obj.pk)
        if len(groups) == 1:
            updates[field.attname] = values[next(iter(groups))]
        else:
            updates[field.attname] = Case(
                *[
                    When(pk__in=pks, then=Value(values[key], output_field=field))
                    for key, pks in groups.items()
                ],
                output_field=field,
            )
    rows = model._default_manager.filter(pk__in=[obj.pk for obj in objects], **(where or {}))
    return rows.update(**updates)
