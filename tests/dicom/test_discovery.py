"""Indexing a folder: grouping, classification, non-DICOM and corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest

from petdx.dicom import SeriesKind, index_dicom_files, index_dicom_folder
from petdx.errors import InputValidationError
from tests.factories import ct_series, pet_series, save_series


def test_groups_and_classifies_recursively(tmp_path: Path) -> None:
    save_series(pet_series(3), tmp_path / "a" / "pet")
    save_series(ct_series(2), tmp_path / "b" / "deep" / "ct")
    (tmp_path / "notes.txt").write_text("not DICOM")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\x00" * 300)
    index = index_dicom_folder(tmp_path)
    assert sorted(s.kind for s in index.series.values()) == [SeriesKind.CT, SeriesKind.PT]
    assert [len(s.instances) for s in index.of_kind(SeriesKind.PT)] == [3]
    assert len(index.non_dicom) == 2
    assert index.unreadable == []
    assert index.n_files == 5


def test_instances_sorted_by_instance_number(tmp_path: Path) -> None:
    series = pet_series(4)
    save_series(list(reversed(series)), tmp_path)
    (entry,) = index_dicom_folder(tmp_path).of_kind(SeriesKind.PT)
    assert [int(i.header.InstanceNumber) for i in entry.instances] == [1, 2, 3, 4]


def test_corrupt_dicom_is_listed_not_fatal(tmp_path: Path) -> None:
    paths = save_series(pet_series(2), tmp_path)
    corrupt = tmp_path / "corrupt.dcm"
    data = paths[0].read_bytes()
    corrupt.write_bytes(data[:200] + b"\xff" * 40)  # DICM marker, then garbage
    index = index_dicom_folder(tmp_path)
    assert len(index.of_kind(SeriesKind.PT)) == 1
    assert [p.path for p in index.unreadable] == [corrupt]
    assert str(corrupt) in index.unreadable[0].message


def test_missing_series_uid_is_reported(tmp_path: Path) -> None:
    series = pet_series(1)
    del series[0].SeriesInstanceUID
    save_series(series, tmp_path)
    index = index_dicom_folder(tmp_path)
    assert index.series == {}
    assert "SeriesInstanceUID (0020,000E) is missing" in index.unreadable[0].message


def test_missing_folder() -> None:
    with pytest.raises(InputValidationError, match="no such file or folder"):
        index_dicom_folder("/nonexistent/petdx/folder")


def test_progress_callback(tmp_path: Path) -> None:
    save_series(pet_series(3), tmp_path)
    calls: list[tuple[int, int]] = []
    index_dicom_folder(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)
    assert [c[0] for c in calls] == [1, 2, 3]


def test_files_in_memory_are_parsed_from_their_bytes(tmp_path: Path) -> None:
    """``contents`` (the bytes of files just written): those files are parsed from memory,
    the others read from disk, into the same index as reading every file."""
    paths = save_series(pet_series(3), tmp_path)
    on_disk = index_dicom_files(paths)
    in_memory = {paths[1]: paths[1].read_bytes(), paths[2]: paths[2].read_bytes()}
    for path in in_memory:
        path.unlink()  # only the bytes given can be read now
    index = index_dicom_files(paths, contents=in_memory)
    (entry,) = index.of_kind(SeriesKind.PT)
    (expected,) = on_disk.of_kind(SeriesKind.PT)
    assert [i.path for i in entry.instances] == [i.path for i in expected.instances]
    assert [i.sop_instance_uid for i in entry.instances] == [
        i.sop_instance_uid for i in expected.instances
    ]
    assert index.unreadable == []
    # and a file neither on disk nor given is reported, not skipped
    paths[0].unlink()
    assert [p.path for p in index_dicom_files(paths, contents=in_memory).unreadable] == [paths[0]]
