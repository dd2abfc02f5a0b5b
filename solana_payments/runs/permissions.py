"""The ``run_<kind>`` permissions, made from the operations registry after each ``migrate``.

One per operation that has its own (a maintenance run needs each step's): a new operation gets its
permission without a migration, and one from the ``OPERATIONS`` setting too.
"""

from django.db import DEFAULT_DB_ALIAS, router

from ..operations import operation_classes


def create_run_permissions(app_config=None, using=DEFAULT_DB_ALIAS, apps=None, **kwargs):
    """The ``post_migrate`` handler: create the missing ``run_<kind>`` permissions (and rename none)."""
    from django.apps import apps as global_apps

    apps = apps or global_apps
    try:
        Permission = apps.get_model("auth", "Permission")
        ContentType = apps.get_model("contenttypes", "ContentType")
        OperationRun = apps.get_model("solana_payments", "OperationRun")
    except LookupError:  # auth or contenttypes is not installed, or not migrated yet
        return
    if not router.allow_migrate_model(using, Permission):
        return
    content_type, _ = ContentType.objects.db_manager(using).get_or_create(
        app_label=OperationRun._meta.app_label, model=OperationRun._meta.model_name
    )
    existing = set(
        Permission.objects.using(using)
        .filter(content_type=content_type, codename__startswith="run_")
        .values_list("codename", flat=True)
    )
    Permission.objects.using(using).bulk_create(
        Permission(codename=f"run_{kind}", name=f"Can run the {kind} operation", content_type=content_type)
        for kind, operation_class in operation_classes().items()
        if operation_class.own_permission and f"run_{kind}" not in existing
    )
