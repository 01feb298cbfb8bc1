"""The audit trail's seal: a per-study key kept outside the database, and an external anchor.

A database editor can rewrite every row of a plain hash chain and its head. Two things the
database does not hold stop that (docs/study.md, "Audit trail: threat model"):

``audit.key`` (the key file)
    32 random bytes, written once by ``petdx init`` with owner-only permissions (0600; a
    looser mode is refused). Every audit row's ``row_hash`` is HMAC-SHA256 under this key, so
    rows cannot be edited, added or re-chained without it. The key never enters the
    database, a log or an export; the database holds only its identifier ``key_id`` (an
    HMAC of a constant, which tells which key sealed the trail and reveals nothing of it).
    ``keyed_from`` is the first row sealed with the key: rows written before an existing
    study received its key keep their plain SHA-256 chain and are sealed by a ``seal`` row.
``audit.anchor`` (the anchor file)
    Append-only JSON lines, one per committed transaction that wrote audit rows: the chain
    head after the commit (``seq``, ``row_hash``), ``n_rows`` (= ``seq``: rows 1..seq), the
    key id and the time. A line is written after the database commit returned, so a
    rolled-back transaction leaves none, and a crash between commit and anchor leaves the
    anchor lagging by one transaction (not an alarm: the rows after the anchor's head are
    still checked under the key). An anchor line the database does not match - a row
    missing or different - is truncation or replacement. Concurrent writers may append
    lines out of order; each line is checked on its own.

Both paths default to the study folder and can be moved (``[audit] key_file`` and
``anchor_file`` in ``study.toml``), e.g. the key to a folder only the investigator can
read and the anchor to an append-only (``chattr +a``) or remote file system.

The key and anchor reach the audit writer through the engine: :func:`bind_seal` (called by
:func:`petdx.study.database.open_database`) attaches them to the database's engine, and
:func:`petdx.study.audit.append_audit` finds them from its connection, so callers of
``append_audit`` and :mod:`petdx.study.records` pass nothing new.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event

from petdx.errors import InputValidationError

__all__ = [
    "AnchorEntry",
    "AnchorFile",
    "AuditKey",
    "AuditSeal",
    "bind_seal",
    "create_key",
    "load_key",
    "note_head",
    "seal_for",
]

_FORMAT = "petdx-audit-key/1"
_KEY_ID_MESSAGE = b"petdx audit key id"
_PENDING = "petdx_audit_pending_head"
_SAVEPOINTS = "petdx_audit_savepoints"
_log = logging.getLogger("petdx.audit")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AuditKey:
    """The study's audit key (from its key file)."""

    secret: bytes
    keyed_from: int
    created_utc: str
    path: Path

    @property
    def key_id(self) -> str:
        """Identifier of the key (kept in the database and the anchor; not secret)."""
        return hmac.new(self.secret, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]

    def mac(self, payload: bytes) -> str:
        """HMAC-SHA256 of ``payload`` under the key, hex."""
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()


def load_key(path: Path) -> AuditKey | None:
    """The key in ``path``, or None when there is no such file.

    Raises
    ------
    InputValidationError
        The file is readable or writable by others than its owner, or not a petdx key file.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputValidationError(
            f"audit key file {path}: cannot be read ({exc.strerror}). Run petdx as the user "
            "who owns the key file."
        ) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputValidationError(
            f"audit key file {path}: permissions {stat.filemode(mode)} let others than its "
            f"owner read or change it; the key must be the owner's alone. Run `chmod 600 {path}`."
        )
    try:
        doc = json.loads(text)
        if doc.get("format") != _FORMAT:
            raise ValueError(f"format is {doc.get('format')!r}, expected {_FORMAT!r}")
        key = AuditKey(
            secret=bytes.fromhex(str(doc["key"])),
            keyed_from=int(doc["keyed_from"]),
            created_utc=str(doc.get("created_utc", "")),
            path=path,
        )
        if len(key.secret) < 32 or key.keyed_from < 1:
            raise ValueError("the key is shorter than 32 bytes or keyed_from is below 1")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputValidationError(
            f"audit key file {path}: not a petdx audit key ({exc}). Restore the study's key "
            "file from its backup."
        ) from None
    return key


def create_key(path: Path, *, keyed_from: int) -> AuditKey:
    """Write a new random key to ``path`` (which must not exist), mode 0600."""
    secret = secrets.token_bytes(32)
    created = _now()
    doc = {
        "format": _FORMAT,
        "key": secret.hex(),
        "keyed_from": keyed_from,
        "created_utc": created,
        "note": "petdx audit key: keep it out of the database and of every export; "
        "back it up where the database's administrators cannot read it.",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, (json.dumps(doc, indent=2) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return AuditKey(secret, keyed_from, created, path)


@dataclass(frozen=True)
class AnchorEntry:
    """One line of the anchor file (``line`` counts from 1)."""

    line: int
    seq: int
    row_hash: str
    key_id: str
    at_utc: str


@dataclass(frozen=True)
class AnchorFile:
    """The append-only anchor file."""

    path: Path

    def record(self, seq: int, row_hash: str, key_id: str) -> None:
        """Append the chain head after a commit (one ``write`` of one line, O_APPEND)."""
        line = json.dumps(
            {"seq": seq, "row_hash": row_hash, "n_rows": seq, "key_id": key_id, "at_utc": _now()},
            separators=(",", ":"),
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> tuple[list[AnchorEntry], list[str]]:
        """The entries, and a description of each line that is not one."""
        entries: list[AnchorEntry] = []
        bad: list[str] = []
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return entries, bad
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                entries.append(
                    AnchorEntry(
                        number,
                        int(doc["seq"]),
                        str(doc["row_hash"]),
                        str(doc["key_id"]),
                        str(doc.get("at_utc", "")),
                    )
                )
            except (ValueError, KeyError, TypeError):
                bad.append(f"{self.path} line {number} is not an anchor entry: {line[:80]!r}")
        return entries, bad


@dataclass(frozen=True)
class AuditSeal:
    """The key and the anchor of one study."""

    key: AuditKey
    anchor: AnchorFile


_SEALS: weakref.WeakKeyDictionary[Engine, list[AuditSeal]] = weakref.WeakKeyDictionary()


def seal_for(connection: Connection) -> AuditSeal | None:
    """The seal bound to the connection's engine, or None."""
    holder = _SEALS.get(connection.engine)
    return holder[0] if holder else None


def note_head(connection: Connection, seq: int, row_hash: str) -> None:
    """Remember the chain head this transaction will commit (written to the anchor after the
    commit returns; forgotten on rollback)."""
    connection.info[_PENDING] = (seq, row_hash)


def _info(dbapi_connection: Any) -> dict[Any, Any]:
    info = getattr(dbapi_connection, "info", None)
    return info if isinstance(info, dict) else {}


def bind_seal(engine: Engine, seal: AuditSeal) -> None:
    """Attach ``seal`` to ``engine``: audit rows written through it are keyed, and every
    commit that wrote some appends the new head to the anchor."""
    holder = _SEALS.get(engine)
    if holder is not None:
        holder[0] = seal
        return
    holder = [seal]
    _SEALS[engine] = holder
    dialect = engine.dialect
    commit: Callable[[Any], None] = dialect.do_commit
    rollback: Callable[[Any], None] = dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        commit(dbapi_connection)
        pending = _info(dbapi_connection).pop(_PENDING, None)
        if pending is None:
            return
        current = holder[0]
        try:
            current.anchor.record(pending[0], pending[1], current.key.key_id)
        except OSError as exc:  # the data are committed: say so, do not pretend a failure
            _log.warning(
                "audit anchor %s: could not record row %s (%s); the anchor lags the database "
                "until the next write",
                current.anchor.path,
                pending[0],
                exc.strerror,
            )

    def do_rollback(dbapi_connection: Any) -> None:
        _info(dbapi_connection).pop(_PENDING, None)
        rollback(dbapi_connection)

    setattr(dialect, "do_commit", do_commit)  # noqa: B010 - an instance attribute, this engine only
    setattr(dialect, "do_rollback", do_rollback)  # noqa: B010

    def on_begin(connection: Connection) -> None:
        connection.info.pop(_PENDING, None)
        connection.info.pop(_SAVEPOINTS, None)

    def on_savepoint(connection: Connection, name: str) -> None:
        connection.info.setdefault(_SAVEPOINTS, []).append(connection.info.get(_PENDING))

    def on_rollback_savepoint(connection: Connection, name: str, context: Any) -> None:
        saved = connection.info.get(_SAVEPOINTS) or [None]
        head = saved.pop()
        if head is None:
            connection.info.pop(_PENDING, None)
        else:
            connection.info[_PENDING] = head

    def on_release_savepoint(connection: Connection, name: str, context: Any) -> None:
        saved = connection.info.get(_SAVEPOINTS)
        if saved:
            saved.pop()

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "savepoint", on_savepoint)
    event.listen(engine, "rollback_savepoint", on_rollback_savepoint)
    event.listen(engine, "release_savepoint", on_release_savepoint)
