"""The views that start operations: the confirmation page shared by the dashboard's buttons and the
actions, and queueing the run.

Two steps, like ``django.contrib.admin.actions.delete_selected``: the first request shows what would
happen, and only a POST carrying ``post=yes`` queues the run on django-q2. Every view here checks the
``run_<kind>`` permission itself: ``admin_view`` only checks staff.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from ..health import cluster_warning
from ..models import RunStatus
from ..operations import get_operation_class, operation_classes
from ..runs import request_run
from .forms import InvalidSelection, OperationSelectionForm
from .permissions import can_run
from .previews import preview_operation


def record_model(kind):
    """What the operation selects (its ``model``): payments or wallets."""
    return get_operation_class(kind).record_model()


def record_noun(kind, count=2):
    noun = get_operation_class(kind).model
    return noun if count == 1 else noun + "s"


def check_exist(kind, ids):
    """Raise ``InvalidSelection`` naming the ids that match no record."""
    found = set(record_model(kind)._default_manager.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        shown = ", ".join(f"#{pk}" for pk in missing[:10]) + (" …" if len(missing) > 10 else "")
        verb = "does" if len(missing) == 1 else "do"
        raise InvalidSelection(
            f"{len(missing)} selected {record_noun(kind, len(missing))} {verb} not exist ({shown}): "
            "nothing was run."
        )


def safe_next(request, url):
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def confirmation_response(request, modeladmin, kind, preview, *, fields, back_url, opts):
    """The confirmation page; its form posts ``fields`` and ``post=yes`` to the shared run view."""
    admin_site = modeladmin.admin_site
    request.current_app = admin_site.name
    count = len(fields.get("ids", "").split(",")) if fields.get("ids") else None
    context = {
        **admin_site.each_context(request),
        "title": f"Run {kind}: confirm",
        "subtitle": None,
        "kind": kind,
        "description": get_operation_class(kind).description,
        "selected": (
            f"{count} selected {record_noun(kind, count)}" if count is not None else "everything eligible now"
        ),
        "limit": fields.get("limit"),
        "scope_all": "all" in fields,
        "preview": preview,
        "record_noun": record_noun(kind),
        "form_action": reverse(
            "admin:solana_payments_operationrun_run", args=[kind], current_app=admin_site.name
        ),
        "fields": sorted(fields.items()),
        "back_url": back_url,
        "opts": opts,
        "preview_url": (
            reverse(
                "admin:solana_payments_operationrun_change",
                args=[preview.run.pk],
                current_app=admin_site.name,
            )
            if preview
            else None
        ),
    }
    return TemplateResponse(request, "admin/solana_payments/operation_confirmation.html", context)


def start_run(request, modeladmin, kind, *, ids, limit, trigger):
    """Queue the run on django-q2 and tell the user, with a link to the run's page."""
    try:
        run = request_run(kind, ids, limit=limit, user=request.user, trigger=trigger)
    except ValueError as exc:  # a record already in an open run of it, an option refused
        modeladmin.message_user(request, f"Nothing was run: {exc}.", messages.ERROR)
        return None
    url = reverse(
        "admin:solana_payments_operationrun_change", args=[run.pk], current_app=modeladmin.admin_site.name
    )
    scope = f"{len(ids)} {record_noun(kind, len(ids))}" if ids is not None else "everything eligible"
    held = run.status == RunStatus.AWAITING_APPROVAL  # see approvals: a second person approves it
    modeladmin.message_user(
        request,
        format_html(
            '{} {} for {}: <a href="{}">run #{}</a>.',
            kind.capitalize(),
            "awaits approval" if held else "queued",
            scope,
            url,
            run.pk,
        ),
        messages.SUCCESS,
    )
    warning = cluster_warning()
    if warning:
        modeladmin.message_user(request, warning, messages.WARNING)
    return run


def admin_kinds():
    """The operations the admin starts here: those with a dashboard tile or an admin action."""
    return [kind for kind, c in operation_classes().items() if c.on_dashboard() or c.admin_actions]


def operation_view(modeladmin, request, kind):
    """``GET``: a page whose button asks for the preview, and nothing else. ``POST`` without ``post``: the
    preview page (a recorded dry run). ``POST`` with ``post=yes``: queue the run.

    Parameters: ``ids`` (repeated or comma-separated record ids: payments for recheck and expire, wallets
    for sweep and reclaim) or ``all=1`` (everything eligible), ``trigger`` (``dashboard`` or
    ``admin_action``) and ``next`` (where to go afterwards).
    """
    if kind not in admin_kinds():
        raise Http404(f"No operation called {kind!r}.")
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if not can_run(request.user, kind):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else request.GET
    back = safe_next(request, data.get("next")) or reverse(
        "admin:solana_payments_dashboard", current_app=modeladmin.admin_site.name
    )
    form = OperationSelectionForm(data)
    try:
        if not form.is_valid():
            raise InvalidSelection(form.error_text())
        trigger, ids = form.cleaned_data["trigger"], form.cleaned_data["ids"]
        if ids:
            limit = None
            check_exist(kind, ids)
        else:
            ids, limit = None, get_operation_class(kind).default_limit
    except InvalidSelection as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(back)

    if request.method == "POST" and data.get("post") == "yes":
        start_run(request, modeladmin, kind, ids=ids, limit=limit, trigger=trigger)
        return HttpResponseRedirect(back)

    fields = {"trigger": trigger, "next": back}
    if ids is None:
        fields["all"] = "1"
    else:
        fields["ids"] = ",".join(str(pk) for pk in ids)
    if limit:
        fields["limit"] = limit
    if request.method == "GET":
        # A link, a bookmark or a browser's prefetch records no run and asks the chain nothing: the page
        # only offers the preview, which is a POST.
        return confirmation_response(request, modeladmin, kind, None, fields=fields, back_url=back, opts=None)
    try:
        preview = preview_operation(kind, ids=ids, limit=limit, user=request.user, trigger=trigger)
    except InvalidSelection as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(back)
    return confirmation_response(request, modeladmin, kind, preview, fields=fields, back_url=back, opts=None)
