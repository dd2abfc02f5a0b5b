"""Runs: the one way in. Every run, from any entry point or a retry, is asked for with ``request_run``
(``requesting``), which cleans its parameters once, applies approval (``holding``) and records it;
``operations.run_operation`` then executes it. The ``run_<kind>`` permissions come from the operations
registry (``permissions``)."""

from .requesting import request_run, retry_run

__all__ = ["request_run", "retry_run"]
