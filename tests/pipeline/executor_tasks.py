"""Tasks for the executor tests (tests/pipeline/test_executors.py), in a module of their own
so that a spawned worker imports only this (not petdx.pipeline and pytest) to find them."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

#: Set by a test in this process after import: a forked worker sees it, a spawned one not.
PARENT_STATE: list[str] = []


def collatz_steps(n: int) -> tuple[int, int]:
    """Steps of the Collatz map from n to 1, and the pid of the process that counted."""
    steps = 0
    while n != 1:
        n = 3 * n + 1 if n % 2 else n // 2
        steps += 1
    return steps, os.getpid()


def fail_on(n: int, bad: int) -> int:
    if n == bad:
        raise ValueError(f"patient {n}: the PET series has no PatientWeight (0010,1030).")
    return n


def parent_state(_: int) -> list[str]:
    return list(PARENT_STATE)


def sleep_then_mark(folder: Path, n: int) -> int:
    time.sleep(0.2)
    (folder / f"{n}.ran").write_text("")
    return n


def imported_modules(_: int) -> list[str]:
    return sorted(sys.modules)
