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

__all__ = [
    "OrthancRest",
    "PacsCheck",
    "PacsConnection",
    "PacsError",
    "check_pacs",
    "connect",
    "orthanc_rest",
]

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
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return PacsError(
            f"{where}: {what}: the transfer stopped midway (the connection closed before the "
            "answer was complete). Check the PACS and the network; pull again."
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

    def iter_series_files(self, study_uid: str, series_uid: str) -> Iterator[bytes]:
        """WADO-RS retrieve of a series, streamed: each instance as the bytes of the PS3.10
        file the server sends (one part of ``multipart/related; type="application/dicom"`` at
        a time, in the transfer syntax the PACS stores), not re-encoded, so that they can be
        hashed and compared with what the PACS holds. A part cut off by a dropped connection
        is never yielded (a part ends at the next boundary)."""
        what = f"WADO-RS retrieve of series {series_uid}"
        url = f"{self.config.url}/studies/{study_uid}/series/{series_uid}"
        accept = 'multipart/related; type="application/dicom"; transfer-syntax=*'

        def get() -> Iterator[bytes]:
            response = self.session.get(
                url, headers={"Accept": accept}, stream=True, timeout=self.config.timeout_s
            )
            response.raise_for_status()
            # dicomweb-client's streaming multipart decoder (pinned <0.62 in pyproject)
            return self.client._decode_multipart_message(response, stream=True)

        stream = self.call(what, get)
        while True:
            try:
                item = next(stream)
            except StopIteration:
                return
            except (requests.exceptions.RequestException, ValueError) as exc:
                raise _explain(self.config, what, exc) from None
            yield bytes(item)

    def instance_uids(self, study_uid: str, series_uid: str) -> list[str]:
        """QIDO-RS: the SOP Instance UIDs the PACS lists in a series."""
        found: list[str] = []
        offset, page = 0, 1000
        while True:
            batch = self.call(
                f"QIDO-RS instance search of series {series_uid}",
                lambda o=offset: self.client.search_for_instances(  # type: ignore[misc]
                    study_instance_uid=study_uid,
                    series_instance_uid=series_uid,
                    fields=["SOPInstanceUID"],
                    limit=page,
                    offset=o,
                ),
            )
            found.extend(str(Dataset.from_json(item).get("SOPInstanceUID", "")) for item in batch)
            if len(batch) < page:
                return found
            offset += page

    def close(self) -> None:
        self.session.close()


@dataclass
class OrthancRest:
    """Orthanc's own REST API beside its DICOMweb plugin (same account): the MD5 of each
    stored file and the change feed. Not part of DICOMweb; only Orthanc answers it."""

    connection: PacsConnection
    base: str

    def get(self, path: str, what: str, **params: Any) -> Any:
        def fetch() -> Any:
            response = self.connection.session.get(
                f"{self.base}{path}",
                params=params or None,
                timeout=self.connection.config.timeout_s,
            )
            response.raise_for_status()
            return response.json()

        return self.connection.call(f"Orthanc REST {what}", fetch)

    def is_orthanc(self) -> bool:
        """Whether ``base`` answers ``/system`` as Orthanc does (without raising)."""
        try:
            system = self.get("/system", "system")
        except PacsError:
            return False
        return isinstance(system, dict) and "ApiVersion" in system and "DicomAet" in system

    def lookup(self, uid: str, kind: str) -> str | None:
        """Orthanc's identifier of the resource of ``kind`` ("Series", "Study") with DICOM
        UID ``uid``, or None."""

        def post() -> Any:
            response = self.connection.session.post(
                f"{self.base}/tools/lookup", data=uid, timeout=self.connection.config.timeout_s
            )
            response.raise_for_status()
            return response.json()

        for hit in self.connection.call(f"Orthanc REST lookup of {uid}", post):
            if hit.get("Type") == kind:
                return str(hit["ID"])
        return None

    def series_md5(self, series_uid: str) -> dict[str, str]:
        """SOP Instance UID -> MD5 (hex) of the file Orthanc stores, for a series."""
        orthanc_id = self.lookup(series_uid, "Series")
        if orthanc_id is None:
            return {}
        digests: dict[str, str] = {}
        for item in self.get(f"/series/{orthanc_id}/instances", f"instances of {series_uid}"):
            sop = str(item.get("MainDicomTags", {}).get("SOPInstanceUID", ""))

            def md5(i: str = str(item["ID"])) -> str:
                response = self.connection.session.get(
                    f"{self.base}/instances/{i}/attachments/dicom/md5",
                    timeout=self.connection.config.timeout_s,
                )
                response.raise_for_status()
                return response.text.strip()

            digests[sop] = self.connection.call(f"Orthanc REST MD5 of {sop}", md5)
        return digests


def orthanc_rest(connection: PacsConnection) -> OrthancRest | None:
    """The Orthanc REST API of the connection's server, when it is an Orthanc: at
    ``[pacs] orthanc_url``, else the DICOMweb URL without its ``/dicom-web``. None when it
    does not answer as Orthanc."""
    config = connection.config
    base = config.orthanc_url
    if base is None:
        if not config.url.endswith("/dicom-web"):
            return None
        base = config.url[: -len("/dicom-web")]
    rest = OrthancRest(connection, base.rstrip("/"))
    return rest if rest.is_orthanc() else None


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
