"""``petdx suv`` on a mixed folder: good and bad inputs in one run."""

from __future__ import annotations

import io
import json
from pathlib import Path

from typer.testing import CliRunner

from petdx.cli import app
from tests.factories import ct_series, pet_series, save_series


def _mixed_folder(root: Path) -> tuple[str, str, Path]:
    good = pet_series(3)
    bad = pet_series(3)
    for ds in bad:
        del ds.PatientWeight
        ds.SeriesDescription = "PET without weight"
    save_series(good, root / "good")
    save_series(bad, root / "bad")
    save_series(ct_series(3), root / "ct")
    corrupt = root / "corrupt.dcm"
    corrupt.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00garbage" * 5)
    (root / "README.txt").write_text("scan notes")
    return good[0].SeriesInstanceUID, bad[0].SeriesInstanceUID, corrupt


def test_mixed_folder_json(tmp_path: Path) -> None:
    good_uid, bad_uid, corrupt = _mixed_folder(tmp_path)
    run = CliRunner().invoke(app, ["suv", str(tmp_path), "--json"])
    assert run.exit_code == 2
    rows = {row["series_instance_uid"]: row for row in json.loads(run.stdout)}
    assert set(rows) == {good_uid, bad_uid}
    assert rows[good_uid]["error"] is None
    expected_factor = 70_000 / (370e6 * 0.5 ** (3600 / 6586.2))
    assert abs(rows[good_uid]["suv_factor"] / expected_factor - 1) < 1e-9
    assert abs(rows[good_uid]["suv_max"] - 1000 * expected_factor) < 1e-4
    assert "PatientWeight (0010,1030) is missing" in rows[bad_uid]["error"]
    assert bad_uid in rows[bad_uid]["error"]
    assert str(corrupt) in run.stderr
    assert "1 other series ignored (CT)" in run.stderr
    assert "1 non-DICOM file(s) skipped" in run.stderr


def test_mixed_folder_table(tmp_path: Path) -> None:
    good_uid, _, _ = _mixed_folder(tmp_path)
    run = CliRunner().invoke(app, ["suv", str(tmp_path), "--wide"])
    assert run.exit_code == 2
    assert good_uid in run.stdout
    assert "series-datetime" in run.stdout
    assert "PatientWeight (0010,1030) is missing" in run.stderr


def test_table_fits_80_columns_with_factor_and_suvmax_whole(tmp_path: Path) -> None:
    """The bug: in an 80-132 column terminal the 64-character UID column pushed the factor
    and SUVmax off screen. The default table at width 80: no line longer than 80, each
    series' factor and SUVmax (from --json) whole on one line, the UID's end shown."""
    from rich.console import Console

    from petdx.cli.suv import _compact_table
    from petdx.suv import SuvNormalization

    good_uid, _, _ = _mixed_folder(tmp_path)
    rows = json.loads(CliRunner().invoke(app, ["suv", str(tmp_path), "--json"]).stdout)
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(_compact_table(rows, SuvNormalization.BW))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    (good,) = [r for r in rows if r["series_instance_uid"] == good_uid]
    factor, suv_max = f"{good['suv_factor']:.6g}", f"{good['suv_max']:.2f}"
    assert any(factor in line and suv_max in line for line in lines)
    assert any(good_uid[-13:] in line for line in lines)
    text = " ".join(line.strip("│ ") for line in lines)
    assert "PatientWeight" in text  # the failed series' error is in the table too
    # wider terminals get the same table; --wide the full one
    wide = Console(width=80, record=True, file=io.StringIO())
    from petdx.cli.suv import _table

    wide.print(_table(rows, SuvNormalization.BW))
    assert not any(factor in line and suv_max in line for line in wide.export_text().splitlines())


def test_progress_without_a_terminal_is_plain_lines(tmp_path: Path) -> None:
    """Without a terminal (CliRunner's streams, a log file), progress is plain lines with no
    control codes, and the last line says the work is done."""
    save_series(pet_series(2), tmp_path / "a")
    save_series(pet_series(2), tmp_path / "b")
    run = CliRunner().invoke(app, ["suv", str(tmp_path), "--json"])
    assert run.exit_code == 0, run.stderr
    assert "\x1b" not in run.stderr
    assert "\r" not in run.stderr
    lines = run.stderr.splitlines()
    assert any(line.startswith("Computing SUV: 2/2 (") for line in lines)
    assert any(line.startswith("Indexing DICOM: ") for line in lines)
    json.loads(run.stdout)  # stdout stays machine-readable


def test_weight_option_rescues_the_series(tmp_path: Path) -> None:
    bad = pet_series(2)
    for ds in bad:
        del ds.PatientWeight
    save_series(bad, tmp_path)
    run = CliRunner().invoke(app, ["suv", str(tmp_path), "--json", "--weight-kg", "70"])
    assert run.exit_code == 0, run.stderr
    (row,) = json.loads(run.stdout)
    assert row["body_weight_kg"] == 70


def test_only_good_input_exits_zero(tmp_path: Path) -> None:
    save_series(pet_series(2), tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    run = CliRunner().invoke(app, ["suv", str(tmp_path), "-n", "sul", "--json"])
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)[0]["normalization"] == "sul"


def test_bad_option_values_exit_2(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["suv", str(tmp_path), "--weight-kg", "0.2"])
    assert run.exit_code == 2
    assert "--weight-kg" in run.stderr
    run = CliRunner().invoke(app, ["suv", str(tmp_path / "missing")])
    assert run.exit_code == 2
    assert "no such file or folder" in run.stderr


def test_irregular_step_series_succeeds_with_the_warning(tmp_path: Path) -> None:
    # Issue 12: GE Discovery ST steps of 3.27 mm with two of 3.29 and one of 3.19.
    series = pet_series(8)
    z = [0.0, 3.27, 6.54, 9.83, 13.12, 16.39, 19.58, 22.85]
    for ds, zk in zip(series, z, strict=True):
        ds.ImagePositionPatient = [0.0, 0.0, zk]
    save_series(series, tmp_path)
    run = CliRunner().invoke(app, ["suv", str(tmp_path), "--json"])
    assert run.exit_code == 0, run.output
    (row,) = json.loads(run.stdout)
    expected_factor = 70_000 / (370e6 * 0.5 ** (3600 / 6586.2))  # as test_mixed_folder_json
    assert abs(row["suv_factor"] / expected_factor - 1) < 1e-9
    assert abs(row["suv_max"] - 1000 * expected_factor) < 1e-4
    assert "slice steps vary" in run.stderr
    assert "0.08 mm (2.45%)" in run.stderr
