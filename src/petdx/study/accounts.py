"""The people who sign in to the study's web application: accounts, sessions, throttling.

An account has a name (the ``actor`` of every audit row it writes), a role
(:class:`~petdx.study.roles.Role`), a site (its data access group), an Argon2id password hash
(argon2-cffi, RFC 9106 parameters) and a disabled flag. Creating and disabling an account go
to the audit trail; the hash never does.

Sessions live on the server (``web_sessions``): the cookie holds a random 256-bit token and
the database only its SHA-256, so a copy of the database opens no session. A session ends
after ``idle_timeout_s`` without a request, ``absolute_lifetime_s`` after sign-in, at sign-out,
or when its account is disabled. Each session carries its own CSRF token.

Failed sign-ins are throttled per account: after ``max_failures`` wrong passwords in a row the
account is locked for ``lockout_s`` (doubling with each further failure, up to a day); a
locked account refuses even the right password. Every refusal says the same words and costs
one Argon2 verification, whether the account exists, is disabled or locked, so neither the
answer nor its timing tells whether a name is an account.

The defaults can be changed in ``study.toml``::

    [web]
    idle_timeout_min = 30
    absolute_lifetime_h = 12
    max_failed_logins = 5
    lockout_min = 15

References
----------
NIST SP 800-63B-4 (2025), 3.1.1.2 (password verifiers: length, no composition rules), 3.2.2
(rate limiting), 5.1 (session: reauthentication after inactivity and after an overall
timeout). RFC 9106, 4 (Argon2id, recommended parameters). OWASP Session Management Cheat
Sheet (token entropy, server-side storage). 21 CFR 11.10(d), 11.300 (access limited to
authorised individuals; unauthorised use detected).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
import time
import tomllib
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, delete, select, update

from petdx.errors import InputValidationError
from petdx.study.audit import AuditAction, append_audit
from petdx.study.config import CONFIG_NAME, StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.roles import Role
from petdx.study.schema import accounts, web_sessions

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Account",
    "AccountSettings",
    "Session",
    "authenticate",
    "check_password",
    "create_account",
    "disable_account",
    "end_session",
    "get_account",
    "list_accounts",
    "load_account_settings",
    "open_session",
    "start_session",
]

#: NIST SP 800-63B-4 3.1.1.2: at least 15 characters for a password used alone is the
#: recommendation; 12 is petdx's floor (an investigator's e-signature re-enters it), and
#: at least 64 must be accepted.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
_MAX_NAME = 64
_MAX_LOCKOUT_S = 24 * 3600.0

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


@cache
def _dummy_hash() -> str:
    """A hash to verify against when there is no account, so that refusals cost the same."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class AccountSettings:
    """Session lifetimes and sign-in throttling (``[web]`` of ``study.toml``)."""

    idle_timeout_s: float = 30 * 60.0
    absolute_lifetime_s: float = 12 * 3600.0
    max_failures: int = 5
    lockout_s: float = 15 * 60.0


def load_account_settings(study: StudyFolder) -> AccountSettings:
    """The ``[web]`` settings of the study's ``study.toml`` (defaults where absent).

    Raises
    ------
    InputValidationError
        A value is not a positive number (the message names the key).
    """
    path = study.root / CONFIG_NAME
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    web: Any = doc.get("web", {})
    if not isinstance(web, dict):
        raise InputValidationError(f"{path}: [web] must be a table of settings.")
    keys = {
        "idle_timeout_min": 60.0,
        "absolute_lifetime_h": 3600.0,
        "max_failed_logins": 1.0,
        "lockout_min": 60.0,
    }
    unknown = sorted(set(web) - set(keys))
    if unknown:
        raise InputValidationError(
            f"{path}: [web] {', '.join(unknown)}: not a setting; expected {', '.join(keys)}."
        )
    values: dict[str, float] = {}
    for key in keys:
        value = web.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise InputValidationError(
                f"{path}: [web] {key} is {value!r}; expected a positive number."
            )
        values[key] = float(value) * keys[key]
    default = AccountSettings()
    max_failures = values.get("max_failed_logins", default.max_failures)
    if max_failures != int(max_failures):
        raise InputValidationError(
            f"{path}: [web] max_failed_logins is {max_failures}; expected a whole number."
        )
    return AccountSettings(
        idle_timeout_s=values.get("idle_timeout_min", default.idle_timeout_s),
        absolute_lifetime_s=values.get("absolute_lifetime_h", default.absolute_lifetime_s),
        max_failures=int(max_failures),
        lockout_s=values.get("lockout_min", default.lockout_s),
    )


@dataclass(frozen=True)
class Account:
    """A study account, without its password hash."""

    name: str
    role: Role
    site: str
    disabled: bool
    created_utc: str


def _account(row: Any) -> Account:
    return Account(
        name=row["name"],
        role=Role(row["role"]),
        site=row["site"],
        disabled=bool(row["disabled"]),
        created_utc=row["created_utc"],
    )


def _check_text(value: str, what: str) -> str:
    if not value or value != value.strip():
        raise InputValidationError(
            f"account {what} '{value}': empty or with leading or trailing spaces; give a "
            f"{what} of 1 to {_MAX_NAME} characters without them."
        )
    if len(value) > _MAX_NAME:
        raise InputValidationError(
            f"account {what} '{value[:20]}...': {len(value)} characters; at most {_MAX_NAME}."
        )
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise InputValidationError(
            f"account {what} {value!r}: holds a control or invisible character; use "
            "printable characters only."
        )
    return value


def _check_password(password: str, name: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputValidationError(
            f"password of account '{name}': {len(password)} characters; at least "
            f"{MIN_PASSWORD_LENGTH} are needed (a passphrase of a few words is easiest)."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputValidationError(
            f"password of account '{name}': longer than {MAX_PASSWORD_LENGTH} characters."
        )
    if password.casefold() == name.casefold():
        raise InputValidationError(f"password of account '{name}': must not be the name.")


def _now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _public(row: Any) -> dict[str, Any]:
    """What the audit trail records of an account: everything but the hash and counters."""
    return {k: row[k] for k in ("name", "role", "site", "disabled", "created_utc")}


def create_account(
    database: StudyDatabase, name: str, *, role: Role | str, site: str, password: str, actor: str
) -> Account:
    """Create an account (audited, without the hash).

    Raises
    ------
    InputValidationError
        The name or site is empty, too long or holds control characters; the role is not a
        :class:`Role`; the password is too short or too long; the name is taken.
    """
    _check_text(name, "name")
    _check_text(site, "site")
    try:
        role = Role(role)
    except ValueError:
        raise InputValidationError(
            f"account '{name}': role '{role}' is not a role; expected one of "
            f"{', '.join(r.value for r in Role)}."
        ) from None
    _check_password(password, name)
    row = {
        "name": name,
        "role": role.value,
        "site": site,
        "password_hash": _hasher.hash(password),
        "disabled": False,
        "created_utc": _now_utc(),
        "failed_logins": 0,
        "locked_until": None,
    }
    with database.begin_write() as connection:
        taken = connection.execute(select(accounts.c.name).where(accounts.c.name == name)).first()
        if taken is not None:
            raise InputValidationError(
                f"account '{name}' exists already; choose another name (list them with the "
                "users list command)."
            )
        connection.execute(accounts.insert().values(**row))
        append_audit(
            connection,
            action=AuditAction.INSERT,
            table_name="accounts",
            record_key=name,
            patient_id=None,
            old=None,
            new=_public(row),
            actor=actor,
            reason="account created",
        )
    return _account(row)


def get_account(connection: Connection, name: str) -> Account | None:
    row = connection.execute(select(accounts).where(accounts.c.name == name)).mappings().first()
    return None if row is None else _account(row)


def list_accounts(database: StudyDatabase) -> list[Account]:
    """Every account, by name."""
    with database.read() as connection:
        rows = connection.execute(select(accounts).order_by(accounts.c.name)).mappings()
        return [_account(row) for row in rows]


def disable_account(database: StudyDatabase, name: str, *, actor: str) -> Account:
    """Disable an account and end its sessions (audited). Disabling twice is refused.

    Raises
    ------
    InputValidationError
        No such account, or it is disabled already.
    """
    with database.begin_write() as connection:
        row = connection.execute(select(accounts).where(accounts.c.name == name)).mappings().first()
        if row is None:
            raise InputValidationError(
                f"no account named '{name}'; the users list command lists them."
            )
        if row["disabled"]:
            raise InputValidationError(f"account '{name}' is disabled already.")
        connection.execute(update(accounts).where(accounts.c.name == name).values(disabled=True))
        connection.execute(delete(web_sessions).where(web_sessions.c.account == name))
        append_audit(
            connection,
            action=AuditAction.UPDATE,
            table_name="accounts",
            record_key=name,
            patient_id=None,
            old={"disabled": False},
            new={"disabled": True},
            actor=actor,
            reason="account disabled",
        )
    return _account({**row, "disabled": True})


#: How much lower than the pages' threads the Argon2 verifications run (``nice`` steps).
VERIFY_NICENESS = 10


def _verifier_thread_setup() -> None:
    """Lower the verifying thread's CPU priority (Linux keeps a nice value per thread, and
    the lane threads libargon2 starts inherit it). Each verification is about 0.17 s of CPU
    (64 MiB, 3 passes, 4 lanes): on a small server a burst of sign-ins would otherwise take
    the cores from every signed-in user's pages. Where the platform has no per-thread
    priority, verifications run at normal priority."""
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + VERIFY_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(niceness, 19))


#: One Argon2 verification at a time per process, in one thread of low CPU priority: a burst
#: of sign-ins queues here (64 MiB each) and the pages keep the cores. Made on first use in
#: each process (a forked child does not inherit the parent's thread).
_verifier: tuple[int, ThreadPoolExecutor] | None = None
_verifier_lock = threading.Lock()


def _verifier_pool() -> ThreadPoolExecutor:
    global _verifier
    with _verifier_lock:
        if _verifier is None or _verifier[0] != os.getpid():
            pool = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="petdx-argon2", initializer=_verifier_thread_setup
            )
            _verifier = (os.getpid(), pool)
        return _verifier[1]


def _verify_now(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _verify(stored: str, password: str) -> bool:
    return _verifier_pool().submit(_verify_now, stored, password).result()


def check_password(
    database: StudyDatabase,
    name: str,
    password: str,
    settings: AccountSettings,
    *,
    now: float | None = None,
) -> Account | None:
    """The account when ``password`` is its password and it may sign in now, else None.

    Throttled (module docstring): a wrong password counts a failure and may lock the account;
    a right one resets the count. Used for sign-in and for re-entering the password
    (an e-signature).
    """
    now = time.time() if now is None else now
    with database.read() as connection:
        row = connection.execute(select(accounts).where(accounts.c.name == name)).mappings().first()
    if row is None:
        _verify(_dummy_hash(), password)  # the same cost as a real refusal
        return None
    ok = _verify(row["password_hash"], password)
    locked = row["locked_until"] is not None and row["locked_until"] > now
    if ok and not locked and not row["disabled"]:
        if row["failed_logins"] or row["locked_until"] is not None:
            with database.begin_write() as connection:
                connection.execute(
                    update(accounts)
                    .where(accounts.c.name == name)
                    .values(failed_logins=0, locked_until=None)
                )
        if _hasher.check_needs_rehash(row["password_hash"]):
            with database.begin_write() as connection:
                connection.execute(
                    update(accounts)
                    .where(accounts.c.name == name)
                    .values(password_hash=_hasher.hash(password))
                )
        return _account(row)
    if not ok and not locked:
        _count_failure(database, name, settings, now)
    return None


def _count_failure(
    database: StudyDatabase, name: str, settings: AccountSettings, now: float
) -> None:
    with database.begin_write() as connection:
        connection.execute(
            update(accounts)
            .where(accounts.c.name == name)
            .values(failed_logins=accounts.c.failed_logins + 1)
        )
        failures = connection.execute(
            select(accounts.c.failed_logins).where(accounts.c.name == name)
        ).scalar_one()
        if failures >= settings.max_failures:
            extra = failures - settings.max_failures
            lock = min(settings.lockout_s * 2.0**extra, _MAX_LOCKOUT_S)
            connection.execute(
                update(accounts).where(accounts.c.name == name).values(locked_until=now + lock)
            )


@dataclass(frozen=True)
class Session:
    """A signed-in session: its account, public id, CSRF token and times (Unix seconds)."""

    account: Account
    session_id: str
    csrf_token: str
    created_at: float
    last_seen_at: float


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    database: StudyDatabase, account: Account, *, now: float | None = None
) -> tuple[str, Session]:
    """A new session of ``account``: the cookie token (returned once, never stored) and the
    session. Sign-in is audited (``web_sessions`` insert, keyed by the public session id)."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    session = Session(
        account=account,
        session_id=secrets.token_hex(16),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    with database.begin_write() as connection:
        connection.execute(
            web_sessions.insert().values(
                token_sha256=_token_hash(token),
                session_id=session.session_id,
                account=account.name,
                csrf_token=session.csrf_token,
                created_at=now,
                last_seen_at=now,
            )
        )
        append_audit(
            connection,
            action=AuditAction.INSERT,
            table_name="web_sessions",
            record_key=session.session_id,
            patient_id=None,
            old=None,
            new={"account": account.name, "role": account.role.value},
            actor=account.name,
            reason="signed in",
        )
    return token, session


def authenticate(
    database: StudyDatabase,
    name: str,
    password: str,
    settings: AccountSettings,
    *,
    now: float | None = None,
) -> tuple[str, Session] | None:
    """Sign in: a new session (token, session) when the password is right and the account
    may sign in now, else None (the same None whatever the reason)."""
    account = check_password(database, name, password, settings, now=now)
    if account is None:
        return None
    return start_session(database, account, now=now)


def open_session(
    database: StudyDatabase,
    token: str,
    settings: AccountSettings,
    *,
    now: float | None = None,
) -> Session | None:
    """The live session of a cookie token, or None (unknown, idle too long, past its
    lifetime, or its account disabled: such a session is removed). A request refreshes the
    idle clock (written at most once a minute)."""
    now = time.time() if now is None else now
    digest = _token_hash(token)
    query = (
        select(web_sessions, accounts)
        .join(accounts, accounts.c.name == web_sessions.c.account)
        .where(web_sessions.c.token_sha256 == digest)
    )
    with database.read() as connection:
        row = connection.execute(query).mappings().first()
    if row is None:
        return None
    expired = (
        now - row["last_seen_at"] > settings.idle_timeout_s
        or now - row["created_at"] > settings.absolute_lifetime_s
        or bool(row["disabled"])
    )
    if expired:
        with database.begin_write() as connection:
            connection.execute(delete(web_sessions).where(web_sessions.c.token_sha256 == digest))
        return None
    last_seen = row["last_seen_at"]
    if now - last_seen > min(60.0, settings.idle_timeout_s / 10):
        with database.begin_write() as connection:
            connection.execute(
                update(web_sessions)
                .where(web_sessions.c.token_sha256 == digest)
                .values(last_seen_at=now)
            )
        last_seen = now
    return Session(
        account=_account(row),
        session_id=row["session_id"],
        csrf_token=row["csrf_token"],
        created_at=row["created_at"],
        last_seen_at=last_seen,
    )


def end_session(database: StudyDatabase, token: str) -> None:
    """Sign out: remove the session (audited when it existed)."""
    digest = _token_hash(token)
    with database.begin_write() as connection:
        row = (
            connection.execute(select(web_sessions).where(web_sessions.c.token_sha256 == digest))
            .mappings()
            .first()
        )
        if row is None:
            return
        connection.execute(delete(web_sessions).where(web_sessions.c.token_sha256 == digest))
        append_audit(
            connection,
            action=AuditAction.DELETE,
            table_name="web_sessions",
            record_key=row["session_id"],
            patient_id=None,
            old={"account": row["account"]},
            new=None,
            actor=row["account"],
            reason="signed out",
        )
