"""``petdx serve`` (or another ASGI app on uvicorn) in a subprocess on a free port: started,
waited for, stopped or killed. Used by the web tests' ``live_server`` fixture and by
``benchmarks/bench_web.py``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.pacs.orthanc import free_port

__all__ = ["LiveServer", "start_process", "start_server", "stop_server"]

_REPO = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    """``petdx serve`` running in a subprocess."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL of the server and of its worker processes (no clean-up by any of them)."""
        _kill_group(self.process)
        self.process.wait(10)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to ``process``'s process group (it leads one: ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def start_server(
    study: Path, log: Path, *, workers: int = 1, timeout_s: float = 60.0
) -> LiveServer:
    """Start ``petdx serve`` (``--workers``) on a free port and wait until ``/login`` answers."""
    return start_process(
        lambda port: [
            sys.executable,
            "-m",
            "petdx",
            "serve",
            str(study),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        log,
        timeout_s=timeout_s,
    )


def start_process(
    command: Callable[[int], list[str]], log: Path, *, timeout_s: float = 60.0
) -> LiveServer:
    """Start ``command(port)`` on a free port and wait until ``/login`` answers 200."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_REPO / "src"), str(_REPO), env.get("PYTHONPATH", "")])
    with log.open("wb") as out:
        process = subprocess.Popen(
            command(port),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: its workers are stopped with it
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"petdx serve exited ({process.returncode}): {log.read_text()}")
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return LiveServer(url, process, log)
        except httpx.TransportError:
            time.sleep(0.1)
    _kill_group(process)
    process.wait(10)
    raise RuntimeError(f"petdx serve did not answer within {timeout_s} s: {log.read_text()}")


def stop_server(server: LiveServer) -> None:
    """SIGTERM (uvicorn stops its workers and then itself), SIGKILL of the whole group after
    15 s, and of any worker left behind."""
    if server.process.poll() is None:
        server.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(15)
    _kill_group(server.process)
    server.process.wait(10)
