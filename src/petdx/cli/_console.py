"""Shared console helpers of the command line: stderr console, progress, exit codes."""

from __future__ import annotations

import errno
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from petdx.errors import Hint, PetdxError, StorageError

__all__ = [
    "ExitCode",
    "err_console",
    "error_text",
    "fault_text",
    "flag_text",
    "out_console",
    "progress_bar",
]

#: What to do about the operating system's most common refusals.
_FAULT_FIXES = {
    errno.ENOSPC: "Free space on that disk (or write to another disk) and run again.",
    errno.EDQUOT: "Free space within your disk quota (or write elsewhere) and run again.",
    errno.EROFS: "The file system is mounted read-only: write to a writable folder.",
    errno.EACCES: "The folder or file is read-only for this user: make it writable (or "
    "choose another folder) and run again.",
    errno.EPERM: "The folder or file is read-only for this user: make it writable (or "
    "choose another folder) and run again.",
    errno.ENOTDIR: "A part of the path is a file, not a folder: choose another path.",
    errno.EISDIR: "The path is a folder where a file was expected: choose another path.",
}

#: Library parameters whose command-line flag is not ``--`` + the name with dashes (for
#: ``align`` the fix a hint asks for is always to switch it off).
_FLAGS = {
    "body_weight_kg": "--weight-kg",
    "align": "--no-align",
    "voi_labels": "--seg/--rtstruct/--mask",
    "seeds_mm": "--seed",
    "n_patients": "--patients",
    "time_points_min": "--time-points",
    "patients": "--patient",
}

#: Messages, warnings and progress go to stderr so that stdout stays machine-readable.
err_console = Console(stderr=True, soft_wrap=not Console(stderr=True).is_terminal)
_probe = Console()
#: Tables go to stdout; when stdout is a file or pipe, use a wide page instead of 80 columns.
out_console = _probe if _probe.is_terminal else Console(width=200)


class ExitCode(IntEnum):
    """Exit statuses of every petdx command."""

    OK = 0
    INTERNAL_ERROR = 1  # a bug in petdx: please report it
    ENVIRONMENT = 1  # the disk or the permissions refused: the message names path and cause
    BAD_INPUT = 2  # some input was refused; the message names it and the fix


#: Without a terminal, a plain progress line at most this often (seconds), and at the end.
PLAIN_PROGRESS_SECONDS = 10.0


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """Progress on stderr; yields ``update(done, total)``.

    On a terminal, a transient Rich bar. Without one (a log file, a pipe, ``make demo`` in
    CI), plain lines with no control codes: ``Simulating patients: 3/50 (12 s)`` at most
    every :data:`PLAIN_PROGRESS_SECONDS` and when the work is done, so a long step is seen
    to move. Nothing when ``enabled`` is False.
    """
    if not enabled:
        yield lambda done, total: None
        return
    if not err_console.is_terminal:
        started = time.monotonic()
        last = [-math.inf]

        def plain(done: int, total: int) -> None:
            now = time.monotonic()
            if done < total and now - last[0] < PLAIN_PROGRESS_SECONDS:
                return
            last[0] = now
            sys.stderr.write(f"{description}: {done}/{total} ({now - started:.0f} s)\n")
            sys.stderr.flush()

        yield plain
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _flag(parameter: str) -> str:
    return _FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def flag_text(hint: Hint) -> str:
    """The command-line form of a library hint: ``--resample nearest|fraction``."""
    flags = [_flag(p) for p in hint.parameters]
    if hint.values:
        flags[0] += " " + "|".join(hint.values)
    return flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " or " + flags[-1]


def error_text(exc: PetdxError) -> str:
    """A library error as the command line says it.

    A message that opens with the refused parameter and its value (``"contrast 0.5: ..."``)
    opens with the flag instead (``"--contrast 0.5: ..."``); any other hinted message is
    followed by the flags that fix it (``"... Pass --resample nearest|fraction."``).
    """
    text = str(exc)
    hint = exc.hint
    if hint is None:
        return text
    if text.startswith(hint.parameter + " ") and not hint.alternatives:
        return _flag(hint.parameter) + text[len(hint.parameter) :]
    return f"{text} Pass {flag_text(hint)}."


def fault_text(exc: OSError) -> str:
    """An environment fault (a full disk, a read-only folder) as one line: the path, the
    cause and the fix."""
    if isinstance(exc, StorageError):
        return str(exc)
    cause = exc.strerror or str(exc) or type(exc).__name__
    paths = [os.fsdecode(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(paths) + ": " if paths else ""
    fix = _FAULT_FIXES.get(exc.errno or 0, "Check the path and the disk, then run again.")
    return f"{where}{cause}. {fix}"
