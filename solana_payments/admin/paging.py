"""Changelists of big tables: pages that never count the whole table, and exact searches by index.

A shop that has run for years has millions of payments, wallets and run items. Django's changelist counts
its rows twice per page (``COUNT(*)`` of the filtered list, and of the whole table for "N total"); on
PostgreSQL each count reads every row it counts.

- :class:`CappedCountPaginator` counts at most ``COUNT_CAP`` rows of a list (one bounded query). A list
  longer than that shows an estimate instead: ``pg_class.reltuples`` for an unfiltered list, the planner's
  row estimate for a filtered one, on PostgreSQL; on other databases, the exact count.
- :class:`BigTableAdminMixin` uses it, turns off the full-table count (``show_full_result_count``), shows
  pages of 50 rows (rendering a row of the admin costs more than reading it), and
  answers a search that *is* a reference, an address or a signature with an exact lookup that uses an
  index, before falling back to the admin's usual ``icontains`` search for any other text.
"""

import json
import re
import uuid

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

COUNT_CAP = 10_000

BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]+$")


def is_address(term):
    return 32 <= len(term) <= 44 and bool(BASE58.match(term))


def is_signature(term):
    return 64 <= len(term) <= 88 and bool(BASE58.match(term))


def as_uuid(term):
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


def estimated_count(queryset):
    """The planner's idea of how many rows ``queryset`` has (PostgreSQL only), or None."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    query = queryset.order_by().query
    if not query.where:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        if row and row[0] >= 0:  # -1: never analysed
            return int(row[0])
        return None
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def capped_count(queryset, cap=COUNT_CAP):
    """How many rows ``queryset`` has, counting no more than ``cap + 1`` of them."""
    return queryset.order_by().values("pk")[: cap + 1].count()


class CappedCountPaginator(Paginator):
    """A paginator whose count reads at most ``COUNT_CAP`` rows, and estimates beyond that."""

    count_cap = COUNT_CAP

    @cached_property
    def count(self):
        if not hasattr(self.object_list, "query"):
            return super().count
        counted = capped_count(self.object_list, self.count_cap)
        if counted <= self.count_cap:
            return counted
        self.estimated = True
        estimate = estimated_count(self.object_list)
        if estimate is None:  # not PostgreSQL: the exact count
            return self.object_list.count()
        return max(estimate, counted)

    estimated = False


class BigTableAdminMixin:
    """Changelist settings for tables that grow without bound (see the module's docstring).

    ``exact_search`` maps a kind of search term (``"uuid"``, ``"address"``, ``"signature"``) to the
    lookups tried with an exact match, e.g. ``{"uuid": ["reference"], "address": ["wallet__address"]}``.
    """

    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    exact_search = {}

    def exact_search_filter(self, term):
        from django.db.models import Q

        term = term.strip()
        kinds = []
        value = as_uuid(term)
        if value is not None:
            kinds.append(("uuid", value))
        if is_address(term):
            kinds.append(("address", term))
        if is_signature(term):
            kinds.append(("signature", term))
        condition = Q()
        for kind, value in kinds:
            for lookup in self.exact_search.get(kind, ()):
                condition |= Q(**{lookup: value})
        return condition or None

    def get_search_results(self, request, queryset, search_term):
        condition = self.exact_search_filter(search_term) if search_term else None
        if condition is not None:
            return queryset.filter(condition), False
        return super().get_search_results(request, queryset, search_term)
