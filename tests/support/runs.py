"""Waiting for runs that a worker executes."""


def wait_for_run(run, *, timeout=60):
    """Poll the database until ``run`` has finished; returns it refreshed."""
    import time

    from solana_payments.models import FINISHED_RUN_STATUSES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in FINISHED_RUN_STATUSES:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run #{run.pk} still {run.status} after {timeout} s")
