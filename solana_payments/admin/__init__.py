"""The app's admin: records, runs, operation actions and the dashboard."""

from . import reconcile, records, runs, webhooks  # noqa: F401  (registers the ModelAdmins)
