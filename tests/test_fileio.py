"""Crash-safe output: a failed write leaves the old file (or nothing) and no temporary file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from petdx.fileio import atomic_output, atomic_write_text, write_atomically


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    target.write_text("old\n")

    def write_half_then_fail() -> None:
        with atomic_output(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_half_then_fail()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_successful_write_replaces_the_file_with_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    atomic_write_text(target, "<html></html>")
    assert target.read_text() == "<html></html>"
    mask = os.umask(0)
    os.umask(mask)
    # mkstemp creates 0600; the output gets 0666 minus the umask like any created file
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_write_atomically_keeps_every_suffix_for_format_sniffing_writers(tmp_path: Path) -> None:
    seen: list[str] = []

    def writer(tmp: Path) -> None:
        seen.append("".join(tmp.suffixes[-2:]))
        tmp.write_bytes(b"x")

    out = write_atomically(tmp_path / "mask.nii.gz", writer)
    assert seen == [".nii.gz"]
    assert out.read_bytes() == b"x"

    def failing(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise OSError("no space left on device")

    with pytest.raises(OSError):
        write_atomically(tmp_path / "other.nii.gz", failing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.nii.gz"]
