"""The ``[pacs]`` section of ``study.toml``: where the study's PACS is and how to log in.

::

    [pacs]
    url = "https://pacs.example.org/dicom-web"   # DICOMweb base URL (Orthanc: .../dicom-web)
    username = "petdx"
    password_file = "/etc/petdx/pacs-password"   # or: password_env = "PETDX_PACS_PASSWORD"
    verify_tls = true                            # default; false only for a test server
    ca_bundle = "/etc/ssl/certs/hospital-ca.pem" # optional: the hospital's certificate authority
    timeout_s = 30
    orthanc_url = "http://orthanc.example.org:8042" # optional: Orthanc's REST root (MD5, watch)
    checksums = "auto"                           # auto | orthanc-md5 | uids (verified ingest)
    send_allowed = false                         # `petdx pacs send` refused unless true
    send_url = "https://research-pacs/dicom-web" # optional: where send stores (default: url)

The password is never written in ``study.toml`` (the file is copied with the study and shown
in reviews): a ``password`` key is refused. It is read from ``password_file`` (first line,
the file should be readable by its owner only) or from the environment variable named by
``password_env``, when the connection is made.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from petdx.errors import InputValidationError
from petdx.study.config import StudyFolder

__all__ = ["PacsConfig", "PacsConfigError", "load_pacs_config", "parse_pacs_section"]

_KEYS = frozenset(
    {
        "url",
        "username",
        "password_file",
        "password_env",
        "verify_tls",
        "ca_bundle",
        "timeout_s",
        "orthanc_url",
        "checksums",
        "send_allowed",
        "send_url",
    }
)
#: ``checksums``: Orthanc's MD5 when the server is Orthanc (``auto``), required, or none.
CHECKSUM_MODES = ("auto", "orthanc-md5", "uids")
_SECRET_KEYS = frozenset({"password", "passwd", "secret", "token"})


class PacsConfigError(InputValidationError):
    """The ``[pacs]`` section is missing or wrong, or its password cannot be read."""


@dataclass(frozen=True)
class PacsConfig:
    """A validated ``[pacs]`` section (see the module docstring). ``where`` names the file."""

    url: str
    username: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_s: float = 30.0
    orthanc_url: str | None = None
    checksums: str = "auto"
    send_allowed: bool = False
    send_url: str | None = None
    where: str = "study.toml"

    @property
    def verify(self) -> bool | str:
        """The ``verify`` of a requests session: the CA bundle, or on/off."""
        if not self.verify_tls:
            return False
        return str(self.ca_bundle) if self.ca_bundle is not None else True

    @property
    def host(self) -> str:
        """``host:port`` of the URL (for messages)."""
        return urlsplit(self.url).netloc.rsplit("@", 1)[-1]

    def password(self) -> str | None:
        """The password from its file or environment variable (None without a username).

        Raises
        ------
        PacsConfigError
            The file or the variable is missing or empty.
        """
        if self.username is None:
            return None
        if self.password_file is not None:
            try:
                text = self.password_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise PacsConfigError(
                    f"{self.where}: [pacs] password_file {self.password_file}: cannot be read "
                    f"({exc.strerror or exc}). Write the PACS password of '{self.username}' "
                    "there (one line, readable by this user only)."
                ) from None
            lines = text.splitlines()
            value = lines[0].strip() if lines else ""
            if not value:
                raise PacsConfigError(
                    f"{self.where}: [pacs] password_file {self.password_file} is empty; write "
                    f"the PACS password of '{self.username}' on its first line."
                )
            return value
        assert self.password_env is not None  # parse_pacs_section requires one of the two
        value = os.environ.get(self.password_env, "")
        if not value:
            raise PacsConfigError(
                f"{self.where}: [pacs] password_env names the environment variable "
                f"{self.password_env}, which is not set (or empty). Set it to the PACS "
                f"password of '{self.username}' before running the command."
            )
        return value


def parse_pacs_section(section: Any, *, where: str, base: Path) -> PacsConfig:
    """Validate a ``[pacs]`` table; relative file paths are relative to ``base``.

    Raises
    ------
    PacsConfigError
        A password is written in the file, a key is unknown, or a value is wrong (the message
        names the key and the fix).
    """
    if not isinstance(section, dict):
        raise PacsConfigError(f"{where}: [pacs] must be a table of settings.")
    secrets = sorted(_SECRET_KEYS & set(section))
    if secrets:
        raise PacsConfigError(
            f"{where}: [pacs] {secrets[0]}: a password is never kept in study.toml (the file "
            "travels with the study). Remove the key and put the password in a file named by "
            "password_file, or in an environment variable named by password_env."
        )
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise PacsConfigError(
            f"{where}: [pacs] {unknown[0]}: unknown setting; expected {', '.join(sorted(_KEYS))}."
        )
    url = section.get("url")
    if not isinstance(url, str) or not url.strip():
        raise PacsConfigError(
            f"{where}: [pacs] url is missing; set it to the DICOMweb base URL of the PACS "
            '(Orthanc: url = "http://HOST:8042/dicom-web").'
        )
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PacsConfigError(
            f"{where}: [pacs] url '{url}' is not an http(s) URL with a host; expected e.g. "
            '"https://pacs.example.org/dicom-web".'
        )
    if parts.username or parts.password:
        raise PacsConfigError(
            f"{where}: [pacs] url carries an account; remove it and set username and "
            "password_file (or password_env) instead."
        )

    def text(key: str) -> str | None:
        value = section.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise PacsConfigError(f"{where}: [pacs] {key} must be a non-empty string.")
        return value.strip()

    username = text("username")
    password_file, password_env, ca_bundle = text("password_file"), text("password_env"), None
    if username is not None and password_file is None and password_env is None:
        raise PacsConfigError(
            f"{where}: [pacs] username '{username}' has no password source; set password_file "
            '(a file holding the password) or password_env (e.g. "PETDX_PACS_PASSWORD").'
        )
    if password_file is not None and password_env is not None:
        raise PacsConfigError(
            f"{where}: [pacs] password_file and password_env are both set; keep one."
        )
    if username is None and (password_file or password_env):
        raise PacsConfigError(
            f"{where}: [pacs] a password source is set without a username; set username."
        )
    verify_tls = section.get("verify_tls", True)
    if not isinstance(verify_tls, bool):
        raise PacsConfigError(
            f"{where}: [pacs] verify_tls is {verify_tls!r}; expected true or false."
        )
    if section.get("ca_bundle") is not None:
        ca_bundle = base / str(text("ca_bundle"))
        if not ca_bundle.is_file():
            raise PacsConfigError(
                f"{where}: [pacs] ca_bundle {ca_bundle}: no such file; give the PEM file of "
                "the certificate authority that signed the PACS certificate."
            )
    timeout = section.get("timeout_s", 30.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise PacsConfigError(
            f"{where}: [pacs] timeout_s is {timeout!r}; expected a positive number of seconds."
        )
    orthanc_url = _http_url(section, "orthanc_url", where)
    send_url = _http_url(section, "send_url", where)
    checksums = section.get("checksums", "auto")
    if checksums not in CHECKSUM_MODES:
        raise PacsConfigError(
            f"{where}: [pacs] checksums is {checksums!r}; expected one of "
            f"{', '.join(CHECKSUM_MODES)} (docs/pacs.md: verified ingest)."
        )
    send_allowed = section.get("send_allowed", False)
    if not isinstance(send_allowed, bool):
        raise PacsConfigError(
            f"{where}: [pacs] send_allowed is {send_allowed!r}; expected true or false."
        )
    return PacsConfig(
        url=url.strip().rstrip("/"),
        orthanc_url=orthanc_url,
        checksums=str(checksums),
        send_allowed=send_allowed,
        send_url=send_url,
        username=username,
        password_file=None if password_file is None else base / password_file,
        password_env=password_env,
        verify_tls=verify_tls,
        ca_bundle=ca_bundle,
        timeout_s=float(timeout),
        where=where,
    )


def _http_url(section: dict[str, Any], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    parts = urlsplit(str(value).strip()) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise PacsConfigError(
            f"{where}: [pacs] {key} {value!r} is not an http(s) URL with a host; expected "
            'e.g. "http://orthanc.example.org:8042".'
        )
    if parts.username or parts.password:
        raise PacsConfigError(
            f"{where}: [pacs] {key} carries an account; remove it (the [pacs] username and "
            "password are used)."
        )
    return str(value).strip().rstrip("/")


def load_pacs_config(study: StudyFolder) -> PacsConfig:
    """The ``[pacs]`` section of the study's ``study.toml``.

    Raises
    ------
    PacsConfigError
        No ``[pacs]`` section, or a wrong one (see :func:`parse_pacs_section`).
    """
    path = study.layout.config_file
    where = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PacsConfigError(f"{where}: not valid TOML ({exc}). Fix the file.") from None
    if "pacs" not in doc:
        raise PacsConfigError(
            f"{where}: no [pacs] section. Add one with url (the DICOMweb base URL), username "
            "and password_file or password_env (docs/pacs.md)."
        )
    return parse_pacs_section(doc["pacs"], where=where, base=study.root)
