"""The DICOMweb connection to the study's PACS (``dicomweb-client``), its errors in words,
and :func:`check_pacs` (``petdx pacs check``).

Every failure of the PACS becomes a :class:`PacsError` naming the server, what was asked and
the fix: the server cannot be reached (refused, no route, timed out, a TLS certificate that
does not verify), the account is refused (401/403), or the server fails (5xx). No message
carries the password or a hospital identifier.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from petdx.errors import PetdxError
from petdx.pacs.config import PacsConfig

__all__ = ["PacsCheck", "PacsConnection", "PacsError", "check_pacs", "connect"]

T = TypeVar("T")


class PacsError(PetdxError):
    """The PACS could not be reached, refused the account, or failed a request.

    ``stage`` is ``"server"`` (not reached), ``"authentication"`` (401/403) or ``"request"``
    (any other refusal or server error)."""

    def __init__(self, *args: object, stage: str = "request", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stage = stage

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.args, self.stage))


def _rebuild(args: tuple[object, ...], stage: str) -> PacsError:
    return PacsError(*args, stage=stage)


def _explain(config: PacsConfig, what: str, exc: Exception) -> PacsError:
    where = f"PACS {config.url}"
    if isinstance(exc, requests.exceptions.SSLError):
        return PacsError(
            f"{where}: {what}: the TLS certificate of {config.host} does not verify ({exc}). "
            "Set [pacs] ca_bundle to the hospital's certificate authority (verify_tls = false "
            "only for a test server).",
            stage="server",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return PacsError(
            f"{where}: {what}: no answer within {config.timeout_s:g} s. Check that the server "
            "runs and the URL's host and port, or raise [pacs] timeout_s.",
            stage="server",
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        return PacsError(
            f"{where}: {what}: the server cannot be reached ({_reason(exc)}). Check that the "
            "PACS runs and that [pacs] url has its host and port.",
            stage="server",
        )
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status in (401, 403):
            account = f"user '{config.username}'" if config.username else "no account"
            return PacsError(
                f"{where}: {what}: the server refused {account} (HTTP {status}). Check "
                "[pacs] username and the password in its password_file or password_env.",
                stage="authentication",
            )
        if status == 404:
            return PacsError(
                f"{where}: {what}: HTTP 404 (not found). Check that [pacs] url is the DICOMweb "
                "base URL (Orthanc: http://HOST:8042/dicom-web, with the DICOMweb plugin).",
            )
        body = (exc.response.text or "").strip().replace("\n", " ")[:200]
        return PacsError(
            f"{where}: {what}: the server failed with HTTP {status}"
            + (f" ({body})" if body else "")
            + ". See the PACS log; run again when it is fixed.",
        )
    if isinstance(exc, requests.exceptions.RequestException | ValueError):
        return PacsError(f"{where}: {what}: {type(exc).__name__}: {exc}.")
    raise exc


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


@dataclass
class PacsConnection:
    """A DICOMweb client of the study's PACS with petdx's error messages."""

    config: PacsConfig
    client: DICOMwebClient
    session: requests.Session = field(repr=False)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()``, its HTTP and network failures as :class:`PacsError`."""
        try:
            return fn()
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise _explain(self.config, what, exc) from None

    def search_series(
        self, filters: dict[str, Any], fields: tuple[str, ...], *, page: int = 500
    ) -> list[Dataset]:
        """QIDO-RS ``/series`` with ``filters``, every page, as data sets."""
        found: list[Dataset] = []
        offset = 0
        while True:
            batch = self.call(
                "QIDO-RS series search",
                lambda o=offset: self.client.search_for_series(  # type: ignore[misc]
                    search_filters=filters, fields=list(fields), limit=page, offset=o
                ),
            )
            found.extend(Dataset.from_json(item) for item in batch)
            if len(batch) < page:
                return found
            offset += page

    def iter_series(self, study_uid: str, series_uid: str) -> Iterator[Dataset]:
        """WADO-RS retrieve of a series, streamed: one instance at a time, in the transfer
        syntax the PACS stores it in."""
        what = f"WADO-RS retrieve of series {series_uid}"
        stream = self.call(
            what,
            lambda: self.client.iter_series(
                study_uid, series_uid, media_types=(("application/dicom", "*"),)
            ),
        )
        while True:
            try:
                item = next(stream)
            except StopIteration:
                return
            except (requests.exceptions.RequestException, ValueError) as exc:
                raise _explain(self.config, what, exc) from None
            yield item

    def close(self) -> None:
        self.session.close()


def connect(config: PacsConfig) -> PacsConnection:
    """A connection to the PACS of ``config`` (no request is made yet).

    Raises
    ------
    PacsConfigError
        The password cannot be read.
    """
    password = config.password()
    session = requests.Session()
    if config.username is not None and password is not None:
        session.auth = (config.username, password)
    session.verify = config.verify
    client = DICOMwebClient(config.url, session=session, timeout=config.timeout_s)
    client.set_http_retry_params(retry=False)  # petdx reports; the user reruns
    return PacsConnection(config, client, session)


@dataclass(frozen=True)
class PacsCheck:
    """What ``petdx pacs check`` reached: one line per stage, and the first failure."""

    url: str
    steps: tuple[tuple[str, bool, str], ...]
    error: PacsError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "steps": [{"step": s, "ok": ok, "detail": d} for s, ok, d in self.steps],
            "error": None if self.error is None else str(self.error),
        }

    def __str__(self) -> str:
        return "\n".join(
            f"{'ok ' if ok else 'NO '} {step}: {detail}" for step, ok, detail in self.steps
        )


def check_pacs(config: PacsConfig) -> PacsCheck:
    """Reach the PACS step by step: the server answers HTTP, it accepts the account, and it
    answers a QIDO-RS study search with DICOM JSON.

    Raises
    ------
    PacsConfigError
        The password cannot be read (a local configuration error, before any request).
    """
    steps: list[tuple[str, bool, str]] = []
    connection = connect(config)
    with contextlib.closing(connection):
        tls = (
            "TLS verified"
            if config.url.startswith("https") and config.verify_tls
            else ("TLS NOT verified" if config.url.startswith("https") else "plain HTTP")
        )
        try:
            response = connection.call(
                "QIDO-RS study search",
                lambda: connection.session.get(
                    f"{config.url}/studies",
                    params={"limit": "1"},
                    headers={"Accept": "application/dicom+json"},
                    timeout=config.timeout_s,
                ),
            )
        except PacsError as exc:
            steps.append(("server", False, str(exc)))
            return PacsCheck(config.url, tuple(steps), exc)
        steps.append(("server", True, f"{config.host} answers HTTP ({tls})"))
        try:
            connection.call("QIDO-RS study search", response.raise_for_status)
        except PacsError as exc:
            if exc.stage == "authentication":
                steps.append(("authentication", False, str(exc)))
            else:
                account = f"user '{config.username}'" if config.username else "no account"
                steps.append(("authentication", True, f"{account} accepted"))
                steps.append(("QIDO-RS", False, str(exc)))
            return PacsCheck(config.url, tuple(steps), exc)
        account = f"user '{config.username}'" if config.username else "no account"
        steps.append(("authentication", True, f"{account} accepted"))
        try:
            body = response.json() if response.content else []
            if not isinstance(body, list):
                raise ValueError("the answer is not a JSON array of DICOM data sets")
        except ValueError as exc:
            error = PacsError(
                f"PACS {config.url}: QIDO-RS study search: the answer is not DICOM JSON "
                f"({exc}). Check that [pacs] url is the DICOMweb base URL."
            )
            steps.append(("QIDO-RS", False, str(error)))
            return PacsCheck(config.url, tuple(steps), error)
        steps.append(("QIDO-RS", True, "the study search answers DICOM JSON"))
    return PacsCheck(config.url, tuple(steps))
