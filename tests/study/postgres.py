"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temporary folder.

The server listens on 127.0.0.1 on a free port (and a Unix socket in its own folder), trusts
local connections, runs with fsync off, and is stopped and deleted by :meth:`stop`.
PostgreSQL refuses to run as root; when the tests run as root (CI), the server runs as the
``postgres`` system user (created by Debian's package) through ``runuser``, in a folder that
user owns. Use :func:`postgres_server` as a session fixture body and :meth:`new_database`
for one empty database per test.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PostgresServer", "find_pg_bin", "postgres_server"]

_CANDIDATE_BINS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin")
_CANDIDATE_BINS += ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/14/bin")


def find_pg_bin() -> Path:
    """Folder holding initdb and pg_ctl (Debian layout, then PATH)."""
    override = os.environ.get("PETDX_PG_BIN")
    for candidate in ((override,) if override else ()) + _CANDIDATE_BINS:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install Debian's postgresql "
        "package (scripts/install-system-deps.sh) or set PETDX_PG_BIN."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throwaway cluster. ``url(db)`` gives a SQLAlchemy URL (psycopg 3 driver)."""

    def __init__(self) -> None:
        self.bin = find_pg_bin()
        self.run_as: str | None = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="petdx-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.port = _free_port()
        self.user = "petdx"
        self._n_databases = 0
        self._started = False

    def _cmd(self, *args: str) -> list[str]:
        if self.run_as is None:
            return list(args)
        return ["runuser", "-u", self.run_as, "--", *args]

    def _run(self, *args: str) -> None:
        result = subprocess.run(self._cmd(*args), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )

    def start(self) -> None:
        self.socket_dir.mkdir()
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=50 -c shared_buffers=32MB"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        self._started = True

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._n_databases += 1
        name = f"petdx_test_{os.getpid()}_{self._n_databases}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self._started:
            subprocess.run(
                self._cmd(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                ),
                capture_output=True,
                check=False,
            )
            self._started = False
        for _ in range(3):
            try:
                shutil.rmtree(self.root)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.2)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway server, yield it, stop and delete it."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
