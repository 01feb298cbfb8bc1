"""Crash-safe file output: write to a temporary name in the same folder, then rename.

A reader never sees a half-written file: either the old file or the complete new one. The
temporary file is removed when writing fails, and an ``OSError`` of the write (a full disk,
a read-only folder) names the destination, for the command line's one message about it.

Names that come from data (pseudonyms, de-identified UIDs, profile names) become file and
folder names only through :func:`check_path_component` (:data:`PATH_COMPONENT`), the one rule
that :mod:`petdx.study.layout` applies to every study path.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from petdx.errors import InputValidationError

__all__ = [
    "PATH_COMPONENT",
    "atomic_output",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_path_component",
    "exclusive_lock",
    "path_component_problem",
    "shown_value",
    "write_atomically",
]

#: A name that may become one path component: no separator, no leading dot, no ``..``.
PATH_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHOWN_CHARS = 60


def shown_value(value: object) -> str:
    """``repr(value)``, cut to a readable length, for error messages."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 4] + "...'"


def path_component_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a path component (None when it is acceptable)."""
    if not isinstance(value, str) or value == "":
        return "is empty or not text"
    if len(value) > 64:
        return f"is {len(value)} characters long (at most 64)"
    if "\x00" in value:
        return "contains a NUL character"
    if "/" in value or "\\" in value:
        return "contains a path separator ('/' or '\\')"
    if ".." in value:
        return "contains '..'"
    if not PATH_COMPONENT.fullmatch(value):
        return "must start with a letter or digit and hold only letters, digits, '.', '_' and '-'"
    return None


def check_path_component(value: object, *, field: str) -> str:
    """``value`` when it may name a file or folder (:data:`PATH_COMPONENT`), else raise.

    Raises
    ------
    InputValidationError
        Names ``field``, the value (truncated) and what to change.
    """
    problem = path_component_problem(value)
    if problem is not None:
        raise InputValidationError(
            f"{field} {shown_value(value)} {problem}, so it cannot name a file or folder. "
            "Identifiers and names that reach file names must be 1 to 64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (a pseudonym such as SIM-0001); "
            f"correct the {field} where it comes from (the imported table, the DICOM header, "
            "the profile) and run again."
        )
    assert isinstance(value, str)
    return value


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    Parameters
    ----------
    path
        Final destination. Its folder is created when missing.
    suffix
        Suffix of the temporary file (default: the destination's), for writers that infer the
        format from the name.
    """
    final = Path(path)
    with _naming(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{final.name}.",
            suffix=suffix if suffix is not None else final.suffix,
            dir=final.parent,
        )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _naming(final, tmp):
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
            yield tmp
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def _naming(final: Path, tmp: Path | None = None) -> Iterator[None]:
    """Let an ``OSError`` name the destination: a full disk raises from ``write()`` with no
    file name, and an error on the temporary file would name a file the user never sees."""
    try:
        yield
    except OSError as exc:
        named = None if exc.filename is None else Path(os.fsdecode(exc.filename))
        temporary = named is not None and (
            named == tmp
            or (named.parent == final.parent and named.name.startswith(f".{final.name}."))
        )
        if exc.errno is None or (named is not None and not temporary):
            raise
        raise type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(final)) from exc


@cache
def _umask() -> int:
    """The process umask, read once (setting it is process-wide, so not on every write)."""
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary_path)`` and rename the result onto ``path``; returns the path.

    The temporary file keeps all of ``path``'s suffixes (``.nii.gz``), for writers that choose
    the format by the name (nibabel, pandas, highdicom's ``save_as``).
    """
    target = Path(path)
    with atomic_output(target, suffix="".join(target.suffixes)) as tmp:
        write(tmp)
    return target


@contextmanager
def exclusive_lock(path: Path, busy: str) -> Iterator[None]:
    """Hold a POSIX record lock on ``path`` (created if missing) or refuse with ``busy``.

    Unlike ``flock``, forked worker processes do not inherit the lock, and it is free as soon
    as the holding process ends (a killed run leaves no stale lock).

    Raises
    ------
    InputValidationError
        Another process holds the lock (the message is ``busy``).
    """
    with path.open("a") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            raise InputValidationError(busy) from None
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)
