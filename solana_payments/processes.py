"""Child processes that never outlive the process that started them (Linux).

`python -m solana_payments.processes COMMAND [ARGS...]` runs a Django management command (for example
`qcluster`) so that it is killed when its parent exits, however the parent ends, SIGKILL included, and so
that every process it forks in turn (django-q2's sentinel, workers, monitor and pusher) is killed when *its*
parent exits. The kernel does the killing (`prctl(PR_SET_PDEATHSIG, SIGKILL)`), so nothing is left behind
even when nobody is alive to clean up. On systems without prctl the command simply runs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None, sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send `sig` to this process when its parent exits. False where that is unsupported.

    `parent` is the pid the caller expects as its parent: when that one is already gone (it died between
    fork and this call), the process kills itself at once.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        logger.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
        return False
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def tie_forks_to_parents() -> None:
    """From now on, every process forked from this one (and from those) dies with its parent."""
    forking: dict[str, int] = {}
    os.register_at_fork(
        before=lambda: forking.__setitem__("pid", os.getpid()),
        after_in_child=lambda: die_with_parent(forking.get("pid")),
    )


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m solana_payments.processes COMMAND [ARGS...]")
    die_with_parent(int(os.environ.get("SOLANA_PAYMENTS_PARENT_PID", "0")) or None)
    tie_forks_to_parents()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["solana_payments.processes", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
