"""The initializer of petdx's local worker processes (:mod:`petdx.pipeline.executors`).

Apart from :mod:`petdx.pipeline`, so that a spawned worker, which imports the initializer's
module by name, loads only this and the module of its task (a cohort simulator's worker
needs nothing of the study database or the ingest).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

__all__ = ["start_worker"]

_PR_SET_PDEATHSIG = 1


def start_worker(parent_pid: int, end_with_parent: bool, forked: bool) -> None:
    """Worker initializer. With ``end_with_parent``: die with the parent (Linux), so none
    writes after it is killed. A forked worker also gets stdout and stderr of its own:
    another thread of the parent (a progress bar) may have held their locks at the fork."""
    if end_with_parent:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the parent died before the line above
            os._exit(1)
    if forked:
        for name, fd in (("stdout", 1), ("stderr", 2)):
            try:
                setattr(sys, name, os.fdopen(os.dup(fd), "w", buffering=1))
            except OSError:
                setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 (the worker's)
