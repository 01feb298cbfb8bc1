"""Time until a reader's case is interactive in the viewer, in headless Chromium on localhost.

Study: one simulated patient, whole body at 4 mm (``simulate_cohort`` full size, 68Ga-DOTA-BLP
at 60 min, PET/CT), imported and ingested; ``petdx serve``; the reader signs in once. Measured
in the browser: ``performance.now()`` (milliseconds since the navigation started) at the
first animation frame after NiiVue holds both volumes (``static/viewer.js`` writes it to
``#viewer[data-since-navigation-ms]``), for

* **petdx, first view**: the series' NIfTI made from the DICOM files (SUV computed) by the
  first request, then cached;
* **petdx, cached**: the same case opened again (``PETDX_BENCH_VIEWER_REPEAT``, 3 times;
  median): the page, the policy, ``reader_case``, the vendored bundle and the cached files.

Peer, in the same run: the same two NIfTI files loaded by a bare NiiVue page (the same
vendored bundle, ``Niivue.loadVolumes`` with the same colour maps) served as static files by
Python's ``http.server``, timed the same way (no sign-in, database, policy or template): the
floor that NiiVue, the browser and the loopback set. nibabel's load of the same files (to a
NumPy array) is printed for scale. Goal of issue 14: under 3 s.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

import httpx
import nibabel as nib
import numpy as np
from playwright.sync_api import Page, sync_playwright
from tests.pacs.orthanc import free_port
from tests.web.reader_cases import case_ids_of
from tests.web.server import start_server, stop_server

from petdx.pipeline.demo import new_demo_study
from petdx.pipeline.ingest import ingest
from petdx.simulate import simulate_cohort
from petdx.study.accounts import create_account
from petdx.study.database import open_database
from petdx.study.records import Author
from petdx.study.roles import Role

REPEAT = int(os.environ.get("PETDX_BENCH_VIEWER_REPEAT", "3"))
CHROMIUM = "/usr/bin/chromium"
READER = "bench-reader"
PASSWORD = "benchmark password 2026"
AUTHOR = Author("bench", "bench_viewer")
NIIVUE = "niivue-0.69.0.js"

_PEER_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>peer</title></head>
<body><canvas id="c" width="1000" height="450"></canvas>
<script type="module" src="peer.js"></script></body></html>
"""
_PEER_JS = f"""import {{ Niivue }} from "./{NIIVUE}";
const nv = new Niivue({{ backColor: [0, 0, 0, 1], isColorbar: true }});
await nv.attachToCanvas(document.getElementById("c"));
await nv.loadVolumes([
  {{ url: "anatomy.nii.gz", colormap: "gray", cal_min: -160, cal_max: 240 }},
  {{ url: "pet.nii.gz", colormap: "hot", cal_min: 0, cal_max: 5, opacity: 0.6 }},
]);
requestAnimationFrame(() => requestAnimationFrame(() => {{
  document.body.dataset.sinceNavigationMs = String(performance.now());
}}));
"""


def _study(root: Path) -> Path:
    cohort = root / "cohort"
    simulate_cohort(cohort, n_patients=1, seed=11, time_points_min=(60,), voxel_mm=4.0, workers=1)
    study = new_demo_study(root / "study", cohort, author=AUTHOR)
    database = open_database(study)
    try:
        result = ingest(study, database, cohort / "dicom", author=AUTHOR)
        if result.problems:
            raise RuntimeError(f"ingest: {result.problems}")
        create_account(
            database, READER, role=Role.READER, site="site-a", password=PASSWORD, actor="bench"
        )
    finally:
        database.dispose()
    return study.root


def _ready_ms(page: Page, selector: str, timeout_s: float = 300.0) -> float:
    deadline = time.monotonic() + timeout_s
    if page.locator(selector).count() == 0:
        raise RuntimeError(f"no {selector} on {page.url}: {page.inner_text('body')[:500]}")
    while time.monotonic() < deadline:
        value = page.locator(selector).get_attribute("data-since-navigation-ms")
        if value:
            return float(value)
        if page.locator(selector).get_attribute("data-state") == "failed":
            raise RuntimeError(page.locator(".viewer-warning").text_content())
        time.sleep(0.02)
    raise RuntimeError(f"{selector} not interactive within {timeout_s} s")


@contextmanager
def _static_server(folder: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/peer.html", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="petdx-bench-viewer-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        study = _study(root)
        setup_s = time.perf_counter() - started
        (case_id, *_) = case_ids_of_study(study)
        server = start_server(study, root / "serve.log")
        petdx_ms: list[float] = []
        peer_ms: list[float] = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                context = browser.new_context(viewport={"width": 1024, "height": 768})
                page = context.new_page()
                page.goto(server.url + "/login")
                page.get_by_label("Name").fill(READER)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(server.url + "/")
                for _ in range(1 + REPEAT):
                    page.goto(f"{server.url}/read/cases/{case_id}")
                    petdx_ms.append(_ready_ms(page, "#viewer"))
                peer_dir = root / "peer"
                peer_dir.mkdir()
                cached = sorted((study / "derived").rglob("viewer/*.nii.gz"))
                by_kind = {_kind(p): p for p in cached}
                shutil.copy(by_kind["PT"], peer_dir / "pet.nii.gz")
                shutil.copy(by_kind["CT"], peer_dir / "anatomy.nii.gz")
                bundle = files("petdx.web") / "static" / "vendor" / "niivue" / NIIVUE
                (peer_dir / NIIVUE).write_bytes(bundle.read_bytes())
                (peer_dir / "peer.html").write_text(_PEER_HTML)
                (peer_dir / "peer.js").write_text(_PEER_JS)
                with _static_server(peer_dir) as url:
                    for _ in range(1 + REPEAT):
                        page.goto(url + "/peer.html")
                        peer_ms.append(_ready_ms(page, "body"))
                browser.close()
        finally:
            stop_server(server)
        nib_s = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            for path in (by_kind["PT"], by_kind["CT"]):
                np.asarray(nib.load(path).dataobj)
            nib_s.append(time.perf_counter() - start)
        shapes = {k: nib.load(p).shape for k, p in by_kind.items()}
        sizes = {k: p.stat().st_size / 1e6 for k, p in by_kind.items()}
    ours = statistics.median(petdx_ms[1:])
    peer = statistics.median(peer_ms[1:])
    text = (
        "## Reader's viewer: case interactive in headless Chromium (bench_viewer)\n"
        f"  study: 1 simulated patient, whole body 4 mm, PET {shapes['PT']} "
        f"({sizes['PT']:.1f} MB gz) + CT {shapes['CT']} ({sizes['CT']:.1f} MB gz); "
        f"simulate + ingest {setup_s:.0f} s\n"
        f"  petdx, first view (NIfTI made from DICOM): {petdx_ms[0] / 1000:.2f} s\n"
        f"  petdx, cached (median of {REPEAT}): {ours / 1000:.2f} s "
        f"({', '.join(f'{v / 1000:.2f}' for v in petdx_ms[1:])})\n"
        f"  peer, bare NiiVue page on static files (median of {REPEAT}): {peer / 1000:.2f} s "
        f"(first {peer_ms[0] / 1000:.2f} s)\n"
        f"  nibabel load of the same two files: {statistics.median(nib_s):.2f} s\n"
        f"  ratio peer / petdx (cached) = {peer / ours:.2f}x\n"
        "  goal: under 3 s\n"
    )
    print(text, flush=True)
    return text


def _kind(path: Path) -> str:
    record = path.with_name(path.name.replace(".nii.gz", ".json"))
    return str(json.loads(record.read_text())["kind"])


def case_ids_of_study(study: Path) -> list[str]:
    from petdx.study.config import open_study

    return case_ids_of(open_study(study), READER)


if __name__ == "__main__":
    run()
