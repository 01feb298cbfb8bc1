"""Crash-safe file output: write to a temporary name in the same folder, then rename.

A reader never sees a half-written file: either the old file or the complete new one. The
temporary file is removed when writing fails.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

__all__ = ["atomic_output", "atomic_write_bytes", "atomic_write_text", "write_atomically"]


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
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.name}.",
        suffix=suffix if suffix is not None else final.suffix,
        dir=final.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


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
