"""The record a custom admin page is about. As on Django's own change pages, an id that cannot be one
(``…/payment/abc/refund/``) is a 404, like an id that names no record, never a 500."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404


def object_or_404(queryset, object_id):
    try:
        pk = queryset.model._meta.pk.to_python(object_id)
    except ValidationError:
        raise Http404(f"No {queryset.model._meta.verbose_name} has the id {object_id!r}.") from None
    return get_object_or_404(queryset, pk=pk)
