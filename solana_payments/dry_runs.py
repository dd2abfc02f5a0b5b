"""Previews (dry runs) are recorded runs too: how queries tell them from the runs that act.

A preview reads the chain and changes nothing. It is listed with the runs for the audit trail, marked as a
preview, but it is not what the dashboard, the metrics or the runs list (by default) report.
"""

from django.db.models import Q


def dry_run_q(prefix=""):
    """Runs (or, with ``prefix="run__"``, the rows of runs) that were previews."""
    return Q(**{f"{prefix}parameters__dry_run": True})


def not_dry_run(prefix=""):
    """Runs that act: every run that is not a preview (a run recorded without the flag acts)."""
    return ~dry_run_q(prefix) | Q(**{f"{prefix}parameters__dry_run__isnull": True})
