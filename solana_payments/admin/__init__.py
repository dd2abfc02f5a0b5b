"""The app's admin: records, runs, operation actions and the dashboard."""

from . import export_jobs, records, runs  # noqa: F401  (registers the ModelAdmins)
