"""``petdx pacs watch --once`` against a real Orthanc (issue 15 Build 3): studies C-STOREd
before the quiet period (Orthanc's StableAge, 1 s here) ends are waited for and each
ingested once; a series sent later joins its study and visit; the same study sent three
times is stored once; a rerun resumes from the saved place in the change feed; the state
file, when broken, is a clear error."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from petdx.study.config import open_study
from petdx.study.database import open_database
from tests.pacs.conftest import HOSPITAL_IDS, OUTSIDER, FilledPacs, write_visit
from tests.pacs.orthanc import orthanc_server
from tests.pacs.test_pull import (
    _checkout_env,
    _files_under,
    _pacs,
    _rows,
    _run,
    _stored,
    _study,
)

pytestmark = [pytest.mark.xdist_group("orthanc"), pytest.mark.slow]


@pytest.fixture
def empty_pacs(tmp_path: Path) -> Iterator[FilledPacs]:
    """An Orthanc of this test only, empty at the start (its change feed is the test's)."""
    with orthanc_server(tmp_path / "server") as server:
        yield FilledPacs(server, tmp_path / "dicom")


def _watch(study: Path) -> tuple[int, dict[str, object], str]:
    code, out, err = _run("pacs", "watch", study, "--once", "--wait", "60")
    return code, (json.loads(out) if out.strip() else {}), err


def test_watch_once_ingests_each_stable_study_once(empty_pacs: FilledPacs, tmp_path: Path) -> None:
    server = empty_pacs.server
    study = _study(tmp_path / "s", _pacs(empty_pacs, tmp_path))
    code, result, err = _watch(study.root)
    assert code == 0, err
    assert result["studies_pulled"] == 0
    assert study.layout.pacs_watch_state.exists()

    # patient 1's PET and a patient outside the study arrive: stored just now, not yet stable
    d = tmp_path / "dicom"
    p1 = write_visit(d / "p1", HOSPITAL_IDS["SIM-0001"], n_slices=3, plant=True)
    pet1, ct1 = [f for f in p1 if f.parent.name == "PT"], [f for f in p1 if f.parent.name == "CT"]
    server.store(pet1 + write_visit(d / "out", OUTSIDER, n_slices=2, plant=False))
    code, result, err = _watch(study.root)
    assert code == 0, err
    assert result["studies_still_arriving"] == 0  # it waited for the quiet period
    assert result["studies_pulled"] == 1
    assert result["studies_not_in_study"] == 1  # the outsider's study, never opened
    assert [s["modality"] for s in result["series"]] == ["PT"]  # type: ignore[index]
    assert result["instances_md5_checked"] == 3
    assert not any(OUTSIDER.encode() in p.read_bytes() for p in _stored(study).values())
    seq = result["last_seq"]

    # the CT of the same study comes later, with patient 2's whole visit
    server.store(ct1 + write_visit(d / "p2", HOSPITAL_IDS["SIM-0002"], n_slices=2, plant=False))
    code, result, err = _watch(study.root)
    assert code == 0, err
    assert sorted(s["modality"] for s in result["series"]) == ["CT", "CT", "PT"]  # type: ignore[union-attr]
    # resumed: only the changes after the last run were read
    assert result["changes_read"] == int(result["last_seq"]) - int(seq)  # type: ignore[call-overload]
    series = _rows(study)["series"]
    assert len(series) == 4
    visits = {row[1]: set() for row in series}
    for row in series:
        visits[row[1]].add(row[2])
    assert len(visits["SIM-0001"]) == 1, series
    assert None not in visits["SIM-0001"]  # the late CT joined its PET's visit

    # the same study sent three times more: stored once
    database = open_database(open_study(study.root))
    before = database.content_hash()
    files = _stored(study)
    for _ in range(3):
        server.store(pet1 + ct1)
    code, result, err = _watch(study.root)
    assert code == 0, err
    assert result["n_instances_written"] == 0
    assert database.content_hash() == before
    assert _stored(study).keys() == files.keys()

    # the whole feed read again from its start (state deleted): still nothing stored twice
    study.layout.pacs_watch_state.unlink()
    code, result, err = _watch(study.root)
    assert code == 0, err
    # each StableStudy again (patient 1's study was stable twice: before and after its CT)
    assert int(result["studies_pulled"]) >= 2  # type: ignore[call-overload]
    assert result["n_instances_written"] == 0
    assert database.content_hash() == before
    database.dispose()


def test_a_broken_watch_state_is_a_clear_error(empty_pacs: FilledPacs, tmp_path: Path) -> None:
    study = _study(tmp_path / "s", _pacs(empty_pacs, tmp_path))
    state = study.layout.pacs_watch_state
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("{not json")
    code, _, err = _watch(study.root)
    assert code == 2
    assert str(state) in err.replace("\n", "")
    assert "Delete" in err
    state.write_text(json.dumps({"orthanc": empty_pacs.server.url, "last_seq": 10**6}))
    code, _, err = _watch(study.root)
    assert code == 2
    assert "ends at change 0" in err
    assert "Traceback" not in err


def test_kill_minus_9_of_a_watch_midway_then_a_rerun_resumes(
    empty_pacs: FilledPacs, tmp_path: Path
) -> None:
    """SIGKILL of ``watch --once`` while it pulls a study; the next watch pulls it again
    from the saved place: the same rows and files as a pull never killed, and the audit
    trail verifies."""
    n_slices = 120
    empty_pacs.server.store(
        write_visit(tmp_path / "dicom", HOSPITAL_IDS["SIM-0001"], n_slices=n_slices, plant=True)
    )
    base = _study(tmp_path / "base", _pacs(empty_pacs, tmp_path))
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    shutil.copytree(base.root, whole)
    shutil.copytree(base.root, killed)
    code, _, err = _run("pacs", "pull", whole)
    assert code == 0, err

    study = open_study(killed)
    command = [sys.executable, "-m", "petdx", "pacs", "watch", str(killed), "--once"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_checkout_env()
    )
    try:
        deadline = time.monotonic() + 120
        while _files_under(study.layout.pacs_staging) < n_slices // 3 and process.poll() is None:
            assert time.monotonic() < deadline, "the watch did not get going"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the watch ended before it was killed"
    assert len(_stored(study)) < 2 * n_slices

    code, out, err = _run("pacs", "watch", killed, "--once", "--wait", "60")
    assert code == 0, err
    assert json.loads(out)["studies_pulled"] >= 1
    assert _rows(study) == _rows(open_study(whole))
    files_whole, files_killed = _stored(open_study(whole)), _stored(study)
    assert files_killed.keys() == files_whole.keys()
    assert all(files_killed[k].read_bytes() == files_whole[k].read_bytes() for k in files_whole)
    assert not study.layout.pacs_staging.exists()
    code, _, err = _run("audit", "verify", killed)
    assert code == 0, err


def test_watch_of_a_server_that_is_not_orthanc_is_a_configuration_error(
    empty_pacs: FilledPacs, tmp_path: Path, failing_server: str
) -> None:
    study = _study(tmp_path / "s", {**_pacs(empty_pacs, tmp_path), "url": failing_server})
    code, _, err = _watch(study.root)
    assert code == 2
    assert "does not answer Orthanc's REST API" in err
    assert "orthanc_url" in err
    assert "Traceback" not in err
    assert _stored(study) == {}
