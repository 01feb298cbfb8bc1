"""``petdx pacs send``: petdx's results (DICOM SEG and SR files) stored to a PACS by STOW-RS.

Only when the study allows it (``[pacs] send_allowed = true``), to ``[pacs] send_url`` (a
research PACS; default ``url``) with the ``[pacs]`` account. Each file is checked first
(a DICOM file whose SOP class is Segmentation or a Structured Report; anything else is
refused, named, and the other files are still sent), then sent in its own STOW-RS request
as the bytes petdx wrote, and **read back**: QIDO-RS must list its SOP Instance UID in its
series, and the file WADO-RS returns must be byte-identical to the file sent (SHA-256), or
the file is reported as not stored. Sending a file again is harmless: the PACS holds one
instance per SOP Instance UID, and the read-back says whether it is the same.

This is the transport only: what the SEG and SR say, and which series they reference, is
the writer's (:mod:`petdx.dicom.seg`, :mod:`petdx.dicom.sr`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from petdx.pacs.client import PacsConnection, PacsError, connect
from petdx.pacs.config import PacsConfig, PacsConfigError

__all__ = ["SEG_SOP_CLASS", "SendResult", "SentFile", "send_results"]

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
#: Structured Report storage classes (PS3.4 B.5: 1.2.840.10008.5.1.4.1.1.88.x).
_SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


@dataclass(frozen=True)
class SentFile:
    """One file and what became of it (``error`` None: stored and read back identical)."""

    path: Path
    kind: str = ""
    sop_instance_uid: str = ""
    series_uid: str = ""
    sha256: str = ""
    error: str | None = None

    def to_dict(self, root: Path | None = None) -> dict[str, Any]:
        shown = self.path
        if root is not None:
            with contextlib.suppress(ValueError):
                shown = self.path.resolve().relative_to(root.resolve())
        return {
            "file": str(shown),
            "kind": self.kind,
            "sop_instance_uid": self.sop_instance_uid,
            "series_uid": self.series_uid,
            "sha256": self.sha256,
            "stored": self.error is None,
            "error": self.error,
        }


@dataclass(frozen=True)
class SendResult:
    url: str
    files: tuple[SentFile, ...]

    @property
    def ok(self) -> bool:
        return all(f.error is None for f in self.files)

    def to_dict(self, root: Path | None = None) -> dict[str, Any]:
        return {
            "url": self.url,
            "n_stored": sum(f.error is None for f in self.files),
            "n_refused": sum(f.error is not None for f in self.files),
            "files": [f.to_dict(root) for f in self.files],
        }

    def __str__(self) -> str:
        n = sum(f.error is None for f in self.files)
        return f"{n} of {len(self.files)} file(s) stored in {self.url} and read back identical"


def _check_file(path: Path) -> tuple[SentFile, bytes | None]:
    """The file's kind and UIDs, or why it is not sent."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return SentFile(path, error=f"{path}: cannot be read ({reason}); give a file."), None
    try:
        ds: Dataset = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, ValueError, EOFError) as exc:
        return SentFile(
            path, error=f"{path}: not a DICOM file ({exc}); give a SEG or SR written by petdx."
        ), None
    sop_class = str(ds.get("SOPClassUID", ""))
    kind = "SEG" if sop_class == SEG_SOP_CLASS else "SR" if sop_class.startswith(_SR_PREFIX) else ""
    sop, series, study = (
        str(ds.get(k, "")) for k in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID")
    )
    if not kind:
        return SentFile(
            path,
            sop_instance_uid=sop,
            error=(
                f"{path}: SOP class {sop_class or '(none)'} ({ds.get('Modality', '?')}) is not a "
                "Segmentation or a Structured Report; petdx pacs send returns results only "
                "(petdx.dicom.seg, petdx.dicom.sr)."
            ),
        ), None
    if not (sop and series and study):
        return SentFile(
            path, kind=kind, error=f"{path}: no SOP Instance, Series or Study UID; rewrite it."
        ), None
    digest = hashlib.sha256(data).hexdigest()
    return SentFile(path, kind, sop, series, digest), data


def _stow(connection: PacsConnection, url: str, study_uid: str, data: bytes, what: str) -> None:
    """STOW-RS one instance; raises PacsError when the PACS does not store it."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode(),
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    headers = {
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        "Accept": "application/dicom+json",
    }

    def post() -> Any:
        response = connection.session.post(
            f"{url}/studies", data=body, headers=headers, timeout=connection.config.timeout_s
        )
        response.raise_for_status()
        return response.json() if response.content else {}

    answer = connection.call(f"STOW-RS of {what}", post)
    failed = answer.get("00081198", {}).get("Value", []) if isinstance(answer, dict) else []
    if failed:
        reason = failed[0].get("00081197", {}).get("Value", ["?"])[0]
        raise PacsError(
            f"PACS {url}: STOW-RS of {what}: the PACS refused the instance (failure reason "
            f"{reason}, PS3.18 table I.2-1). See the PACS log."
        )


def _read_back(connection: PacsConnection, url: str, item: SentFile, study_uid: str) -> str | None:
    """Why the PACS does not hold the file as sent, or None."""
    base = f"{url}/studies/{study_uid}/series/{item.series_uid}"

    def listed() -> Any:
        response = connection.session.get(
            f"{base}/instances",
            params={"SOPInstanceUID": item.sop_instance_uid},
            headers={"Accept": "application/dicom+json"},
            timeout=connection.config.timeout_s,
        )
        response.raise_for_status()
        return response.json() if response.content else []

    found = connection.call(f"QIDO-RS of {item.sop_instance_uid}", listed)
    uids = {str(Dataset.from_json(x).get("SOPInstanceUID", "")) for x in found}
    if item.sop_instance_uid not in uids:
        return "stored by STOW-RS, but QIDO-RS does not list it"
    back = connection.client
    parts = connection.call(
        f"WADO-RS of {item.sop_instance_uid}",
        lambda: list(
            back._decode_multipart_message(
                _wado(connection, f"{base}/instances/{item.sop_instance_uid}"), stream=True
            )
        ),
    )
    if len(parts) != 1 or hashlib.sha256(bytes(parts[0])).hexdigest() != item.sha256:
        return (
            "the file the PACS returns differs from the file sent (another instance with the "
            "same SOP Instance UID was there already?); check it in the PACS"
        )
    return None


def _wado(connection: PacsConnection, url: str) -> Any:
    response = connection.session.get(
        url,
        headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'},
        stream=True,
        timeout=connection.config.timeout_s,
    )
    response.raise_for_status()
    return response


def send_results(config: PacsConfig, files: Sequence[str | os.PathLike[str]]) -> SendResult:
    """STOW-RS each file to ``[pacs] send_url`` (module docstring).

    Raises
    ------
    PacsConfigError
        The study does not allow sending (``send_allowed``), or the password cannot be read.
    PacsError
        The PACS cannot be reached or refuses the account (nothing more is sent).
    """
    if not config.send_allowed:
        raise PacsConfigError(
            f"{config.where}: [pacs] send_allowed is not true: this study's configuration does "
            "not allow results to be sent to a PACS. Set send_allowed = true in [pacs] (and "
            "send_url to the research PACS) when the protocol allows it."
        )
    url = config.send_url or config.url
    connection = connect(replace(config, url=url))
    done: list[SentFile] = []
    with contextlib.closing(connection):
        for name in files:
            item, data = _check_file(Path(name))
            if data is None:
                done.append(item)
                continue
            study_uid = str(pydicom.dcmread(item.path, stop_before_pixels=True).StudyInstanceUID)
            what = f"{item.kind} {item.path.name}"
            try:
                _stow(connection, url, study_uid, data, what)
                error = _read_back(connection, url, item, study_uid)
            except PacsError as exc:
                if exc.stage in ("server", "authentication"):
                    raise
                error = str(exc)
            done.append(item if error is None else replace(item, error=f"{item.path}: {error}"))
    return SendResult(url, tuple(done))
