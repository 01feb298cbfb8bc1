"""A real Orthanc for the PACS tests: Debian's ``orthanc`` with its DICOMweb plugin
(``orthanc-dicomweb``; scripts/install-system-deps.sh installs both).

:func:`orthanc_server` writes a temporary JSON configuration (free HTTP and DICOM ports on
localhost, authentication on with one user, remote access off, storage in a temporary
folder), starts ``/usr/sbin/Orthanc``, waits until its REST API answers, and stops it at the
end. :meth:`OrthancServer.store` fills it by C-STORE with dcmtk's ``storescu``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ORTHANC = Path("/usr/sbin/Orthanc")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER, PASSWORD = "petdx", "orthanc-test-password"
AET = "PETDXTEST"


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OrthancServer:
    """A running Orthanc: its ports, its account and its log."""

    http_port: int
    dicom_port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    def rest(self, path: str) -> object:
        response = requests.get(f"{self.url}{path}", auth=(USER, PASSWORD), timeout=10)
        response.raise_for_status()
        return response.json()

    def store(self, files: Sequence[Path]) -> None:
        """C-STORE ``files`` with dcmtk's storescu; fails the test if any is refused."""
        storescu = shutil.which("storescu")
        if storescu is None:
            pytest.fail("storescu (dcmtk) is not on PATH: run `make system-deps`.")
        command = [storescu, "-aec", AET, "-aet", "PETDXSCU", "127.0.0.1", str(self.dicom_port)]
        env = {**os.environ, "TCP_NODELAY": "1"}  # DCMTK: no Nagle delay per PDU
        done = subprocess.run(
            [*command, *map(str, files)], capture_output=True, text=True, check=False, env=env
        )
        if done.returncode != 0:
            pytest.fail(f"storescu failed ({done.returncode}):\n{done.stderr}\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "Orthanc log:\n" + "\n".join(lines[-n:])


@contextmanager
def orthanc_server(folder: Path, extra: dict[str, object] | None = None) -> Iterator[OrthancServer]:
    """Start Orthanc with its configuration (``extra`` settings added) and storage under
    ``folder``; stop it after."""
    for needed, package in ((ORTHANC, "orthanc"), (DICOMWEB_PLUGIN, "orthanc-dicomweb")):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run `make system-deps` (Debian {package}).")
    folder.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    while dicom_port == http_port:
        dicom_port = free_port()
    config = {
        "Name": "petdx-test",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": AET,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "StableAge": 1,
        "HttpCompressionEnabled": False,
        "SyncStorageArea": False,  # no fsync per stored file: a throwaway test server
        **(extra or {}),
    }
    config_file = folder / "orthanc.json"
    config_file.write_text(json.dumps(config, indent=2))
    log = folder / "orthanc.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ORTHANC), str(config_file)], stdout=out, stderr=subprocess.STDOUT
        )
    server = OrthancServer(http_port, dicom_port, log, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"Orthanc exited with {process.returncode}.\n{server.tail()}")
            try:
                plugins = server.rest("/plugins")
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    pytest.fail(f"Orthanc did not answer within 30 s.\n{server.tail()}")
                time.sleep(0.1)
        assert isinstance(plugins, list)
        if "dicom-web" not in plugins:
            pytest.fail(f"Orthanc runs without its DICOMweb plugin ({plugins}).\n{server.tail()}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
