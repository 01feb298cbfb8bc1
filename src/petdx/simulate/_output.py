"""A new output folder that appears only when everything in it was written."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from petdx.errors import InputValidationError

__all__ = ["check_new_folder", "new_folder"]


def check_new_folder(out: Path) -> None:
    """Refuse an existing folder that is not empty (or a file)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputValidationError(
            f"Output folder {out} already exists and is not empty; petdx simulate never "
            "overwrites earlier output. Choose a new folder or remove this one."
        )


@contextmanager
def new_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``, renamed to ``out`` when the block succeeds
    and removed when it fails. An ``OSError`` without a file name (a full disk) is raised
    again naming ``out``."""
    check_new_folder(out)
    temporary = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    try:
        yield temporary
        if out.exists():
            out.rmdir()
        temporary.rename(out)
    except OSError as exc:  # a full disk: write() names no file, so name the output folder
        shutil.rmtree(temporary, ignore_errors=True)
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(out)) from exc
        raise
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
