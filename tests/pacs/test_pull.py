"""``petdx pacs check|pull`` against a real Orthanc (tests/pacs/orthanc.py), issue 15.

Acceptance: a pull of the 3-patient simulated study gives the same database rows, stored
files and SUV factors as ``petdx ingest`` of the same files from a folder. The two studies
are copies of one study folder made before either ingest, so they share the
de-identification secret (the UIDs and paths of the copies depend on it).

The File Meta Information of a file Orthanc received by C-STORE is its own (DICOM PS3.10:
the receiver writes it; Orthanc writes DCMTK's Implementation Class UID and Version Name),
but the de-identified copy keeps none of the source's implementation elements (issue 20:
they may name the site), so the stored copies of a pull and of the folder are
byte-identical, meta included.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import tomli_w
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.study.audit import verify_audit_trail
from petdx.study.config import StudyConfig, StudyFolder, open_study
from petdx.study.database import init_study, open_database
from petdx.study.importing import import_csv
from petdx.study.queries import table_snapshot
from petdx.study.records import Author
from petdx.study.schema import metadata
from petdx.suv import compute_suv
from tests.pacs.conftest import HOSPITAL_IDS, OUTSIDER, FilledPacs
from tests.pacs.orthanc import PASSWORD, USER, free_port
from tests.study.cohort import PATIENTS, write_csv

pytestmark = [pytest.mark.xdist_group("orthanc"), pytest.mark.slow]

ME = Author("tech")


def _run(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    return result.exit_code, result.stdout, result.stderr


def _study(folder: Path, pacs: dict[str, Any]) -> StudyFolder:
    """A study with the three patients, their hospital identifiers and a [pacs] section."""
    study = init_study(folder, StudyConfig())
    database = open_database(study)
    import_csv(database, "patients", write_csv(folder / "p.csv", PATIENTS), author=ME)
    identity = [{"patient_id": p, "hospital_id": h, "issuer": ""} for p, h in HOSPITAL_IDS.items()]
    import_csv(database, "patient_identity", write_csv(folder / "i.csv", identity), author=ME)
    database.dispose()
    _set_pacs(study, pacs)
    return study


def _set_pacs(study: StudyFolder, pacs: dict[str, Any]) -> None:
    toml = study.layout.config_file
    text = toml.read_text().split("\n[pacs]\n")[0]
    toml.write_text(text.rstrip("\n") + "\n\n" + tomli_w.dumps({"pacs": pacs}))


def _pacs(filled: FilledPacs, tmp_path: Path, password: str = PASSWORD) -> dict[str, Any]:
    secret = tmp_path / f"pacs-password-{hashlib.sha1(password.encode()).hexdigest()[:6]}"
    secret.write_text(password + "\n")
    return {"url": filled.server.dicomweb_url, "username": USER, "password_file": str(secret)}


def _rows(study: StudyFolder) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the audit trail (times of day) and study_meta (the same secret)."""
    database = open_database(study)
    try:
        with database.engine.connect() as connection:
            return {
                name: table_snapshot(connection, name)
                for name in sorted(metadata.tables)
                if name not in ("audit_log", "study_meta")
            }
    finally:
        database.dispose()


def _stored(study: StudyFolder) -> dict[str, Path]:
    return {str(p.relative_to(study.images)): p for p in sorted(study.images.rglob("*.dcm"))}


def test_pull_equals_ingest_of_the_same_files_and_a_rerun_stores_nothing(
    filled_pacs: FilledPacs, tmp_path: Path
) -> None:
    base = _study(tmp_path / "base", _pacs(filled_pacs, tmp_path))
    by_folder, by_pacs = tmp_path / "by-folder", tmp_path / "by-pacs"
    shutil.copytree(base.root, by_folder)
    shutil.copytree(base.root, by_pacs)

    code, out, err = _run("ingest", by_folder, filled_pacs.dicom)
    assert code == 0, err
    code, out, err = _run("pacs", "pull", by_pacs)
    assert code == 0, err
    pulled = json.loads(out)
    assert pulled["series_found"] == 6  # PET and CT of three patients; not the outsider's
    assert pulled["instances_retrieved"] == pulled["n_instances_written"] == 2 * (3 + 4 + 5)
    assert pulled["problems"] == []
    # every instance checked against the MD5 Orthanc recorded when it stored the file
    assert pulled["checks"] == "orthanc-md5"
    assert pulled["instances_md5_checked"] == 24

    folder_rows, pacs_rows = _rows(open_study(by_folder)), _rows(open_study(by_pacs))
    instances_folder = folder_rows.pop("instances")
    instances_pacs = pacs_rows.pop("instances")
    assert pacs_rows == folder_rows  # series (SUV factors included), visits, patients, ...
    series_rows = pacs_rows["series"]
    assert len(series_rows) == 6
    # instances: the same UIDs, paths and sha256 (the receiver's meta is not kept)
    assert instances_pacs == instances_folder
    for _, _, relative, digest in instances_pacs:
        assert hashlib.sha256((by_pacs / relative).read_bytes()).hexdigest() == digest

    files_folder, files_pacs = _stored(open_study(by_folder)), _stored(open_study(by_pacs))
    assert list(files_pacs) == list(files_folder)
    assert len(files_pacs) == 24
    for name, path in files_pacs.items():
        assert path.read_bytes() == files_folder[name].read_bytes(), name

    # SUV factors of the pulled copies equal those of the original files (computed here from
    # the originals, not from petdx's rows)
    pulled_study = open_study(by_pacs)
    for k, hospital_id in enumerate(HOSPITAL_IDS.values()):
        original = index_dicom_folder(filled_pacs.dicom / f"patient{k}" / "PT")
        pseudonym = next(p for p, h in HOSPITAL_IDS.items() if h == hospital_id)
        stored = index_dicom_folder(pulled_study.images / pseudonym).of_kind(SeriesKind.PT)
        assert len(stored) == 1
        np.testing.assert_array_equal(
            compute_suv(read_series_volume(stored[0])).factors,
            compute_suv(read_series_volume(original.of_kind(SeriesKind.PT)[0])).factors,
        )
    for path in files_pacs.values():
        assert OUTSIDER.encode() not in path.read_bytes()
        assert pydicom.dcmread(path).PatientID in HOSPITAL_IDS
    assert not pulled_study.layout.pacs_staging.exists()  # staging removed
    database = open_database(pulled_study)
    with database.engine.connect() as connection:
        assert verify_audit_trail(connection).ok
    before = database.content_hash()

    # rerun: every series is recorded already, nothing is retrieved or stored again
    code, out, err = _run("pacs", "pull", by_pacs)
    assert code == 0, err
    again = json.loads(out)
    assert again["series_already_stored"] == 6
    assert again["instances_retrieved"] == again["n_instances_written"] == 0
    assert database.content_hash() == before
    assert _stored(pulled_study).keys() == files_pacs.keys()
    database.dispose()


def test_pull_of_named_patients_and_since_a_date(filled_pacs: FilledPacs, tmp_path: Path) -> None:
    study = _study(tmp_path / "s", _pacs(filled_pacs, tmp_path))
    # the simulated studies are dated 2025-01-01 (tests/factories.py)
    code, out, err = _run("pacs", "pull", study.root, "--since", "2025-01-02")
    assert code == 0, err
    assert json.loads(out)["series_found"] == 0
    code, out, err = _run(
        "pacs", "pull", study.root, "--patient", "SIM-0002", "--since", "2025-01-01"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["series_found"] == 2
    assert sorted((s["patient_id"], s["modality"]) for s in result["series"]) == [
        ("SIM-0002", "CT"),
        ("SIM-0002", "PT"),
    ]
    assert result["n_instances_written"] == 8
    code, out, err = _run("pacs", "pull", study.root, "--patient", "SIM-0099")
    assert code == 2
    assert "SIM-0099" in err
    assert "--patient" in err
    assert "identity table" in err
    code, out, err = _run("pacs", "pull", study.root, "--since", "yesterday")
    assert code == 2
    assert "YYYY-MM-DD" in err


def test_check_says_what_it_reaches(filled_pacs: FilledPacs, tmp_path: Path) -> None:
    study = _study(tmp_path / "s", _pacs(filled_pacs, tmp_path))
    code, out, err = _run("pacs", "check", study.root)
    assert code == 0, err
    report = json.loads(out)
    assert [(s["step"], s["ok"]) for s in report["steps"]] == [
        ("server", True),
        ("authentication", True),
        ("QIDO-RS", True),
    ]
    assert PASSWORD not in out + err


def _nothing_stored(study: StudyFolder) -> None:
    assert _stored(study) == {}
    assert _rows(study)["series"] == []
    assert not study.layout.pacs_staging.exists()


def test_a_wrong_password_is_a_clear_error(filled_pacs: FilledPacs, tmp_path: Path) -> None:
    study = _study(tmp_path / "s", _pacs(filled_pacs, tmp_path, password="not-the-password"))
    for command in ("check", "pull"):
        code, out, err = _run("pacs", command, study.root)
        assert code == 2, (command, err)
        assert f"refused user '{USER}' (HTTP 401)" in err, err
        assert "password_file" in err
        assert "not-the-password" not in out + err
        assert "Traceback" not in err
    _nothing_stored(study)


def test_an_unreachable_server_is_a_clear_error(filled_pacs: FilledPacs, tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    pacs = {**_pacs(filled_pacs, tmp_path), "url": f"http://127.0.0.1:{closed}/dicom-web"}
    study = _study(tmp_path / "s", pacs)
    for command in ("check", "pull"):
        code, _out, err = _run("pacs", command, study.root)
        assert code == 2, (command, err)
        assert f"127.0.0.1:{closed}" in err
        assert "cannot be reached (connection refused)" in err, err
        assert "Traceback" not in err
    _nothing_stored(study)


def test_configuration_errors_name_the_key(filled_pacs: FilledPacs, tmp_path: Path) -> None:
    study = _study(tmp_path / "s", _pacs(filled_pacs, tmp_path))
    _set_pacs(study, {"url": filled_pacs.server.dicomweb_url, "username": USER, "password": "x"})
    code, _, err = _run("pacs", "pull", study.root)
    assert code == 2
    assert "[pacs] password: a password is never kept in study.toml" in err
    code, _, err = _run("ingest", study.root, tmp_path)  # every command refuses the file
    assert code == 2
    assert "[pacs] password" in err
    _set_pacs(study, {"url": filled_pacs.server.dicomweb_url, "username": USER})
    code, _, err = _run("pacs", "check", study.root)
    assert code == 2
    assert "password_file" in err
    assert "password_env" in err
    env_name = "PETDX_TEST_PACS_PASSWORD_UNSET"
    _set_pacs(
        study, {"url": filled_pacs.server.dicomweb_url, "username": USER, "password_env": env_name}
    )
    code, _, err = _run("pacs", "check", study.root, env={env_name: ""})
    assert code == 2
    assert f"{env_name}, which is not set" in err
    code, _out, err = _run("pacs", "check", study.root, env={env_name: PASSWORD})
    assert code == 0, err
    _set_pacs(study, {"url": "ftp://pacs/dicom-web"})
    code, _, err = _run("pacs", "check", study.root)
    assert code == 2
    assert "not an http(s) URL" in err
    toml = study.layout.config_file
    toml.write_text(toml.read_text().split("\n[pacs]\n")[0])
    code, _, err = _run("pacs", "pull", study.root)
    assert code == 2
    assert "no [pacs] section" in err
    _nothing_stored(study)


def test_a_server_answering_500_is_a_clear_error(
    filled_pacs: FilledPacs, tmp_path: Path, failing_server: str
) -> None:
    study = _study(tmp_path / "s", {**_pacs(filled_pacs, tmp_path), "url": failing_server})
    for command in ("check", "pull"):
        code, _out, err = _run("pacs", command, study.root)
        assert code == 2, (command, err)
        assert "failed with HTTP 500 (Internal error: database unavailable)" in err, err
        assert "Traceback" not in err
    _nothing_stored(study)


def test_a_second_pull_of_the_same_study_is_refused(
    filled_pacs: FilledPacs, tmp_path: Path
) -> None:
    study = _study(tmp_path / "s", _pacs(filled_pacs, tmp_path))
    lock = study.layout.pacs_lock
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(  # another process holds the lock, as a running pull does
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
            "fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = _run("pacs", "pull", study.root)
        assert code == 2
        assert "another petdx pacs pull is running" in err
    finally:
        holder.kill()
        holder.wait()
    code, _, err = _run("pacs", "pull", study.root, "--patient", "SIM-0001")
    assert code == 0, err


#: The hospital identifier of the large visit of the kill -9 test (not in HOSPITAL_IDS: the
#: other tests never find it).
BIG_PATIENT = "MRN-1004-DD"
_BIG_SLICES = 120


def _files_under(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.dcm")) if folder.is_dir() else 0


@pytest.fixture(scope="module")
def big_visit(filled_pacs: FilledPacs, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PET/CT visit of ``_BIG_SLICES`` slices a series in the PACS; its hospital ID."""
    from tests.pacs.conftest import write_visit

    folder = tmp_path_factory.mktemp("big")
    filled_pacs.server.store(write_visit(folder, BIG_PATIENT, n_slices=_BIG_SLICES, plant=True))
    return BIG_PATIENT


@pytest.mark.parametrize("where", ["retrieving", "ingesting"])
def test_kill_minus_9_of_a_pull_midway_then_a_rerun_stores_as_an_uninterrupted_pull(
    filled_pacs: FilledPacs, big_visit: str, tmp_path: Path, where: str
) -> None:
    """SIGKILL while a series streams into the staging folder, or while ingest writes its
    copies; the rerun leaves the same database rows and files as a pull never killed."""
    base = _study(tmp_path / "base", _pacs(filled_pacs, tmp_path))
    database = open_database(base)
    identity = [{"patient_id": "SIM-0001", "hospital_id": big_visit, "issuer": ""}]
    import_csv(database, "patient_identity", write_csv(tmp_path / "big.csv", identity), author=ME)
    database.dispose()
    whole = tmp_path / "whole"
    shutil.copytree(base.root, whole)
    code, _, err = _run("pacs", "pull", whole, "--patient", "SIM-0001")
    assert code == 0, err

    # On a loaded machine the pull may finish before this process sees a third of the
    # files: that attempt kills nothing, so it is made again (at most three times).
    for attempt in range(3):
        killed = tmp_path / f"killed-{attempt}"
        shutil.copytree(base.root, killed)
        if _killed_midway(killed, where):
            break
    else:
        pytest.fail("three pulls ended before they could be killed midway")
    study = open_study(killed)
    assert _files_under(study.images) < 2 * _BIG_SLICES + 2 * 3  # stopped midway

    code, out, err = _run("pacs", "pull", killed, "--patient", "SIM-0001")
    assert code == 0, err
    assert json.loads(out)["problems"] == []
    assert _rows(study) == _rows(open_study(whole))
    files_whole = _stored(open_study(whole))
    files_killed = _stored(study)
    assert files_killed.keys() == files_whole.keys()
    assert all(files_killed[k].read_bytes() == files_whole[k].read_bytes() for k in files_whole)
    assert not study.layout.pacs_staging.exists()
    code, _, err = _run("audit", "verify", killed)
    assert code == 0, err


def _killed_midway(root: Path, where: str) -> bool:
    """Start a pull into ``root`` and SIGKILL it once a third of the big visit's files are
    in the staging folder (``retrieving``) or among the stored images (``ingesting``);
    False when it ended first."""
    study = open_study(root)
    watched = study.layout.pacs_staging if where == "retrieving" else study.images
    command = [sys.executable, "-m", "petdx", "pacs", "pull", str(root), "--patient", "SIM-0001"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_checkout_env()
    )
    try:
        deadline = time.monotonic() + 120
        while _files_under(watched) < _BIG_SLICES // 3 and process.poll() is None:
            assert time.monotonic() < deadline, "the pull did not get going"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    return process.returncode == -signal.SIGKILL


def _checkout_env() -> dict[str, str]:
    """The environment of a driver process: this checkout's petdx first."""
    checkout = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(checkout / "src"), str(checkout)])
    return env
