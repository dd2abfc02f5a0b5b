"""The safety every resource is built on: an allow-list of columns checked when the class is made, no key
material ever loaded, formula escaping in every format, and the widgets of the export formats."""

from __future__ import annotations

import json
import re
from datetime import UTC

from django.core.exceptions import ImproperlyConfigured
from import_export import widgets
from import_export.declarative import ModelDeclarativeMetaclass
from import_export.fields import Field
from import_export.resources import ModelResource

# Names of model fields (and attributes) that hold key material or a signed transaction.
SENSITIVE_NAME = re.compile(
    r"secret|keypair|private|password|mnemonic|seed|pending_transaction", re.IGNORECASE
)

# A cell starting with one of these is a formula (or becomes one) in spreadsheet applications.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

EXPORT_CHUNK_SIZE = 500


def escape_formula(value):
    """Prefix a text cell that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unescape_formula(value):
    """Undo :func:`escape_formula` on import, so an exported file re-imports the same text."""
    if (
        isinstance(value, str)
        and len(value) > 1
        and value[0] == "'"
        and value[1:].startswith(FORMULA_TRIGGERS)
    ):
        return value[1:]
    return value


def sensitive_field_names(model):
    """The concrete fields of ``model`` that an export must never read."""
    return [f.name for f in model._meta.concrete_fields if SENSITIVE_NAME.search(f.name)]


def _names_of(resource_field, field_name):
    names = [field_name, resource_field.column_name or ""]
    if resource_field.attribute:
        names.extend(resource_field.attribute.split("__"))
    method = resource_field.dehydrate_method
    if isinstance(method, str):
        names.append(method)
    elif callable(method):
        names.append(getattr(method, "__name__", ""))
    return [name for name in names if name]


def check_allow_list(resource_class):
    """Refuse a resource that could read key material: called for every resource class as it is created."""
    name = resource_class.__name__
    if not resource_class._meta.fields:
        raise ImproperlyConfigured(
            f"{name} must declare its columns (or list them in Meta.fields): resources here are built from "
            "an allow-list."
        )
    candidates = [(f"Meta.fields entry {entry!r}", entry) for entry in resource_class._meta.fields]
    for field_name, resource_field in resource_class.fields.items():
        candidates.extend((f"field {field_name!r}", part) for part in _names_of(resource_field, field_name))
    for path in resource_class.export_relations:
        candidates.extend((f"export_relations entry {path!r}", part) for part in path.split("__"))
    for where, part in candidates:
        if SENSITIVE_NAME.search(part):
            raise ImproperlyConfigured(f"{name}: {where} names {part!r}, which may hold key material.")


def _joined_paths(tree, prefix=""):
    """``{"run": {"requested_by": {}}}`` (a query's select_related) -> ``["run", "run__requested_by"]``."""
    if not isinstance(tree, dict):
        return []
    paths = []
    for name, subtree in tree.items():
        path = f"{prefix}{name}"
        paths += [path, *_joined_paths(subtree, f"{path}__")]
    return paths


def _related_model(model, path):
    for part in path.split("__"):
        model = model._meta.get_field(part).related_model
    return model


class AllowListMetaclass(ModelDeclarativeMetaclass):
    def __new__(mcs, name, bases, attrs):
        meta = attrs.get("Meta")
        declared = tuple(key for key, value in attrs.items() if isinstance(value, Field))
        if meta is not None and declared and not hasattr(meta, "fields"):
            # The columns are the declared fields, in the order declared: each is written once. Without
            # Meta.fields, django-import-export would add every field of the model.
            meta.fields = declared
            for order in ("export_order", "import_order"):
                if not hasattr(meta, order):
                    setattr(meta, order, declared)
        resource_class = super().__new__(mcs, name, bases, attrs)
        if resource_class._meta.model is not None:
            check_allow_list(resource_class)
        return resource_class


# -- widgets ------------------------------------------------------------------------------------------


class TextWidget(widgets.CharWidget):
    """Text in and out; a value escaped by our export comes back unescaped on import."""

    def clean(self, value, row=None, **kwargs):
        return unescape_formula(super().clean(value, row, **kwargs)).strip()


class MintWidget(widgets.Widget):
    """A mint address; empty means none (SOL)."""

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        return text or None

    def render(self, value, obj=None, **kwargs):
        return value or ""


class WholeNumberWidget(widgets.Widget):
    """Integers exactly as stored (no locale formatting); strict on import."""

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number.")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]{1,18}", text):  # ASCII digits: \d would take "٣" for 3
            raise ValueError(f"{text[:30]!r} is not a whole number.")
        return int(text)

    def render(self, value, obj=None, **kwargs):
        return value


class IsoDateTimeWidget(widgets.Widget):
    """ISO 8601 in UTC, in every format (XLSX included: exact and unambiguous)."""

    def render(self, value, obj=None, **kwargs):
        return value.astimezone(UTC).isoformat() if value is not None else None


class JsonTextWidget(widgets.Widget):
    def render(self, value, obj=None, **kwargs):
        return json.dumps(value, sort_keys=True, default=str) if value not in (None, {}, []) else ""


def column(attribute=None, widget=None, **kwargs):
    """A read-only export column (the column name is the declared name)."""
    return Field(attribute=attribute, widget=widget or widgets.Widget(), readonly=True, **kwargs)


def text(attribute):
    return column(attribute, widgets.CharWidget())


def moment(attribute):
    return column(attribute, IsoDateTimeWidget())


def whole(attribute):
    return column(attribute, WholeNumberWidget())


# -- the base -----------------------------------------------------------------------------------------


class SafeModelResource(ModelResource, metaclass=AllowListMetaclass):
    """An export built from an allow-list, with formula escaping, streaming and no secret in memory."""

    #: ``select_related`` paths the export reads; their sensitive fields are deferred too.
    export_relations: tuple[str, ...] = ()
    #: Only resources that set this may import.
    import_allowed = False

    class Meta:
        chunk_size = EXPORT_CHUNK_SIZE

    def import_data(self, *args, **kwargs):
        if not self.import_allowed:
            raise ImproperlyConfigured(f"{type(self).__name__} is export-only.")
        return super().import_data(*args, **kwargs)

    def filter_export(self, queryset, **kwargs):
        return self.prepare_export_queryset(super().filter_export(queryset, **kwargs))

    def prepare_export_queryset(self, queryset):
        """One streaming query: no prefetch, the relations joined, the sensitive fields never loaded."""
        queryset = queryset.prefetch_related(None)
        if queryset.query.select_related is True:
            queryset = queryset.select_related(None)  # "every foreign key" cannot be checked: name them
        if self.export_relations:
            queryset = queryset.select_related(*self.export_relations)
        model = queryset.model
        deferred = sensitive_field_names(model)
        # Every joined model, ours and any the caller (an admin's list_select_related) asked for.
        for path in _joined_paths(queryset.query.select_related):
            deferred += [f"{path}__{name}" for name in sensitive_field_names(_related_model(model, path))]
        return queryset.defer(*deferred) if deferred else queryset

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))
