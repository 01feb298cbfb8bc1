"""Environment faults and refused inputs on the command line (issue 19, Build 4 hardening).

Each test reproduces a defect of the independent audit: the command used to end with exit 1
and a traceback. A full disk or a read-only folder is an environment fault: exit 1, one line
naming the path and the cause, no traceback, no "this is a bug", and no half-written file left
behind. A bad input is exit 2 with the cause named.

Read-only folders: the tests run as root in the project's container, where ``chmod`` does not
stop writes, so a read-only folder is emulated by making the write calls (``mkstemp`` of the
atomic writer, ``mkdir``) raise the ``PermissionError`` the kernel would raise; when not root,
the folder is also really made read-only with ``chmod``. A read-only SQLite database is real:
the study's URL opens the file with SQLite's ``mode=ro``, so SQLite itself raises
"attempt to write a readonly database".
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from petdx.cli.app import app
from tests.demo_study import DemoStudy, copy_study
from tests.factories import ct_series, pet_series, save_series
from tests.study.cohort import EXPOSURES, PATIENTS, SCREENING, copy_rows, write_csv


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _assert_clean_fault(code: int, err: str, *words: str) -> None:
    """Exit 1 with one plain message: no traceback, not called a bug."""
    assert code == 1, err
    assert "Traceback" not in err
    assert "bug" not in err
    assert "internal error" not in err
    for word in words:
        assert word in err, (word, err)


def _full_disk_on_write(monkeypatch: pytest.MonkeyPatch, under: Path) -> None:
    """Writes below ``under`` fail as on a full disk: half the bytes, then ENOSPC (the kernel's
    error carries no file name)."""
    real = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:  # type: ignore[override]
        if Path(os.path.abspath(self)).is_relative_to(under):
            real(self, bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """``read_only(folder)`` makes ``folder`` refuse new files (see the module docstring)."""
    folders: list[Path] = []
    real_mkstemp = tempfile.mkstemp
    real_mkdir = Path.mkdir

    def refused(path: object) -> bool:
        target = Path(os.path.abspath(str(path)))
        return any(target.is_relative_to(f) and target != f for f in folders)

    def mkstemp(*args: object, **kwargs: object) -> object:
        folder = kwargs.get("dir")
        if folder is not None and (refused(Path(str(folder)) / "x")):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))
        return real_mkstemp(*args, **kwargs)  # type: ignore[call-overload]

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if refused(self) and not self.is_dir():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(Path, "mkdir", mkdir)

    def make(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        folders.append(Path(os.path.abspath(folder)))
        if os.geteuid() != 0:
            folder.chmod(0o555)

    yield make
    for folder in folders:
        folder.chmod(0o755)


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files of the atomic writers (``.name.xxxx``) and partial folders."""
    return [p for p in folder.rglob(".*") if p.name.startswith(".") and p.name != ".gitignore"]


def _study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    code, _, err = _run("init", str(root), "--time-point", "60")
    assert code == 0, err
    return root


def _enrolled_study(tmp_path: Path) -> tuple[Path, Path]:
    """A study with SIM-0001 enrolled and a PET/CT folder of that patient to ingest."""
    root = _study(tmp_path)
    for name, rows in (("patients", PATIENTS), ("screening", SCREENING), ("exposures", EXPOSURES)):
        code, _, err = _run(
            "import", str(root), name, str(write_csv(tmp_path / f"{name}.csv", rows))
        )
        assert code == 0, err
    identity = write_csv(tmp_path / "id.csv", [{"patient_id": "SIM-0001", "hospital_id": "H-1"}])
    assert _run("import", str(root), "patient_identity", str(identity))[0] == 0
    pet, ct = pet_series(3), ct_series(3)
    for ds in ct:
        ds.StudyInstanceUID = pet[0].StudyInstanceUID
        ds.FrameOfReferenceUID = pet[0].FrameOfReferenceUID
    for ds in pet + ct:
        ds.PatientID = "H-1"
    save_series(pet, tmp_path / "dicom" / "PT")
    save_series(ct, tmp_path / "dicom" / "CT")
    return root, tmp_path / "dicom"


# ------------------------------------------------------------------------------ full disk


def test_full_disk_during_ingest_exits_1_naming_the_file_and_leaves_no_temporaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, dicom = _enrolled_study(tmp_path)
    _full_disk_on_write(monkeypatch, root / "images")  # in the forked workers too
    code, _, err = _run("ingest", str(root), str(dicom))
    _assert_clean_fault(code, err, "No space left on device", str(root / "images"))
    assert _leftovers(root / "images") == []
    monkeypatch.undo()  # space freed: the same ingest completes
    code, out, err = _run("ingest", str(root), str(dicom))
    assert code == 0, err
    assert len(json.loads(out)["series"]) == 2


def test_full_disk_while_simulating_exits_1_and_leaves_no_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _full_disk_on_write(monkeypatch, tmp_path)
    out = tmp_path / "cohort"
    code, _, err = _run(
        "simulate", str(out), "--patients", "1", "--seed", "3", "--small",
        "--time-points", "60", "--workers", "1",
    )  # fmt: skip
    _assert_clean_fault(code, err, "No space left on device", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_full_disk_while_writing_quantify_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.quantify.phantoms import ball, factories_grid, write_pet

    volume = factories_grid((16, 20, 20))
    values = ball(volume, (0.0, 0.0, 30.0), 10.0) * 7.0 + 1.0
    write_pet(tmp_path / "pet", volume.with_array(values.astype("float32")))
    out = tmp_path / "out"
    _full_disk_on_write(monkeypatch, out)
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:  # pandas and nibabel write through open()
        if Path(dst).is_relative_to(out):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    code, _, err = _run("quantify", str(tmp_path / "pet"), "--seed", "0,0,30", "--out", str(out))
    _assert_clean_fault(code, err, "No space left on device", str(out))
    assert [p for p in out.rglob("*") if p.is_file()] == []


# ------------------------------------------------------------------------ read-only folders


def test_init_in_a_read_only_folder_exits_1_naming_it(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    read_only(tmp_path / "locked")
    code, _, err = _run("init", str(tmp_path / "locked" / "study"))
    _assert_clean_fault(code, err, str(tmp_path / "locked"), "ermission denied")


def test_init_on_a_read_only_study_folder_exits_1(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    read_only(tmp_path / "study")
    code, _, err = _run("init", str(tmp_path / "study"))
    _assert_clean_fault(code, err, str(tmp_path / "study"), "ermission denied")


def test_simulate_into_a_read_only_folder_exits_1(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    read_only(tmp_path / "locked")
    code, _, err = _run(
        "simulate", str(tmp_path / "locked" / "c"), "--patients", "1", "--seed", "1", "--small"
    )
    _assert_clean_fault(code, err, str(tmp_path / "locked"), "ermission denied")


def test_quantify_out_in_a_read_only_folder_exits_1(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    from tests.quantify.phantoms import ball, factories_grid, write_pet

    volume = factories_grid((16, 20, 20))
    values = ball(volume, (0.0, 0.0, 30.0), 10.0) * 7.0 + 1.0
    write_pet(tmp_path / "pet", volume.with_array(values.astype("float32")))
    read_only(tmp_path / "locked")
    out = tmp_path / "locked" / "out"
    code, _, err = _run("quantify", str(tmp_path / "pet"), "--seed", "0,0,30", "--out", str(out))
    _assert_clean_fault(code, err, str(tmp_path / "locked"), "ermission denied")


def _read_only_database(root: Path) -> Path:
    """Point the study at its own SQLite file opened read-only (SQLite ``mode=ro``)."""
    config = root / "study.toml"
    database = root / "study.sqlite"
    text = config.read_text()
    assert 'url = "sqlite:///study.sqlite"' in text
    config.write_text(
        text.replace(
            'url = "sqlite:///study.sqlite"', f'url = "sqlite:///file:{database}?mode=ro&uri=true"'
        )
    )
    return database


@pytest.mark.parametrize(
    "command",
    [
        ["import", "patients", "PATIENTS"],
        ["ingest", "DICOM"],
        ["init"],
        ["audit", "verify"],
        ["audit", "log"],
        ["export"],
    ],
    ids=lambda c: "-".join(c[:2]),
)
def test_every_database_command_on_a_read_only_sqlite_file_exits_1_naming_it(
    tmp_path: Path, command: list[str]
) -> None:
    root, dicom = _enrolled_study(tmp_path)
    patients = copy_rows(PATIENTS)
    patients[0]["weight_kg"] = "63"  # an edit, so that the import must write
    edited = write_csv(tmp_path / "p.csv", patients)
    database = _read_only_database(root)
    args = [{"PATIENTS": str(edited), "DICOM": str(dicom)}.get(a, a) for a in command]
    args.insert(2 if command[0] == "audit" else 1, str(root))
    if command[0] == "import":
        args += ["--reason", "weighed again"]
    code, _, err = _run(*args)
    if code == 0:  # a command that only reads works on a read-only file
        assert command[0] in ("audit", "export", "init"), err  # init: schema already newest
        return
    _assert_clean_fault(code, err, str(database), "read-only")


# ------------------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        (  # a spreadsheet's 'CSV' in a locale with decimal commas
            "patient_id;sex;birth_date\nSIM-0001;F;1960-03-15\n",
            ["'patient_id;sex;birth_date'", "separated by ';'", "comma-separated values"],
        ),
        (
            "pid,sex,birth_date\nSIM-0001,F,1960-03-15\n",
            ["field patient_id: required column missing", "header found is pid, sex, birth_date"],
        ),
    ],
    ids=["semicolons", "no-patient_id"],
)
def test_import_of_a_csv_with_a_wrong_header_names_file_header_and_fix(
    tmp_path: Path, text: str, messages: list[str]
) -> None:
    """Issue 19 audit: both ended in ``KeyError: 'patient_id'`` (exit 1, traceback)."""
    root = _study(tmp_path)
    csv_path = tmp_path / "patients.csv"
    csv_path.write_text(text, encoding="utf-8")
    code, out, err = _run("import", str(root), "patients", str(csv_path))
    assert code == 2, err
    assert out == ""
    assert str(csv_path) in err
    for message in messages:
        assert message in err
    assert "Traceback" not in err


def test_demo_onto_a_file_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("not a folder")
    code, _, err = _run("demo", str(target), "--small", "--patients", "2", "--no-pdf")
    assert code == 2, err
    assert str(target) in err
    assert "is a file" in err
    assert "Traceback" not in err
    assert target.read_text() == "not a folder"


def test_demo_below_a_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    target = tmp_path / "notes.txt" / "demo"
    code, _, err = _run("demo", str(target), "--small", "--patients", "2", "--no-pdf")
    assert code == 2, err
    assert str(tmp_path / "notes.txt") in err
    assert "is a file" in err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--prevalence", "1e-320", "--precision", "0.05"], "valid range"),
        (["--prevalence", "0.2", "--precision", "1e-200"], "valid range"),
        (["--prevalence", "0", "--precision", "0.05"], "strictly between 0 and 1"),
        (["--prevalence", "1", "--precision", "0.05"], "strictly between 0 and 1"),
    ],
)
def test_buderer_sample_size_degenerate_inputs_exit_2(arguments: list[str], message: str) -> None:
    code, _, err = _run(
        "stats", "sample-size", "buderer", "--sensitivity", "0.9", "--specificity", "0.8",
        *arguments,
    )  # fmt: skip
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err


def test_auc_sample_size_with_too_few_cases_exits_2() -> None:
    code, _, err = _run(
        "stats", "sample-size", "auc", "--solve", "auc", "--power", "0.8",
        "--cases", "0.5", "--controls", "0.5",
    )  # fmt: skip
    assert code == 2, err
    assert "too few" in err


@pytest.mark.slow  # builds the session's demo study (about 2 min)
def test_report_on_a_full_disk_keeps_the_previous_report(
    demo_study: DemoStudy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_study(demo_study.reference, tmp_path / "study")
    html = root / "report" / "report.html"
    before = html.read_bytes()
    _full_disk_on_write(monkeypatch, root / "report")
    code, _, err = _run("report", str(root), "--no-pdf")
    _assert_clean_fault(code, err, "No space left on device", str(html))
    assert html.read_bytes() == before
    assert _leftovers(root / "report") == []


@pytest.mark.slow  # builds the session's demo study (about 2 min)
def test_report_into_a_read_only_study_folder_exits_1(
    demo_study: DemoStudy, tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    root = copy_study(demo_study.reference, tmp_path / "study")
    read_only(root / "report")
    code, _, err = _run("report", str(root), "--no-pdf")
    _assert_clean_fault(code, err, str(root / "report"), "ermission denied")
