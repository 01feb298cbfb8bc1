"""The readers' volumes of interest in the study database (table ``reader_vois``, issue 14).

A VOI is a lesion a reader added from a seed or edited; each change is a new *version* (1, 2,
...) with its reason, its DICOM SEG (``StudyLayout.reader_voi_seg``) and the metrics petdx
computed of it; no version is changed or removed (a deleted VOI is a last version with origin
``delete`` and no SEG). Every query here is for one reader: a VOI of another reader is not
found (:class:`VoiNotFound`, a 403 in the web application), whatever its id.

Rows are written through :func:`petdx.study.records.insert_record` (audited, replayed by
``petdx audit verify``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, select

from petdx.errors import PetdxError
from petdx.study.records import Author, insert_record
from petdx.study.schema import reader_vois, series

__all__ = [
    "ReaderVoi",
    "VoiNotFound",
    "case_vois",
    "new_voi_id",
    "next_version",
    "reader_voi_rows",
    "record_voi",
    "series_folder",
    "voi_history",
]

_ORIGINS = ("seed", "edit", "delete")


class VoiNotFound(PetdxError):
    """No VOI with this id belongs to this reader (another reader's VOI is never found)."""


@dataclass(frozen=True)
class ReaderVoi:
    """One version of a reader's VOI (a row of ``reader_vois``)."""

    voi_id: str
    version: int
    reader_id: str
    case_id: str
    patient_id: str
    series_uid: str
    lesion_id: str | None
    origin: str
    reason: str
    seg_path: str | None
    seg_sop_instance_uid: str | None
    mask_sha256: str | None
    voxels: int
    metrics: dict[str, Any]
    provenance: dict[str, Any]
    created_by: str
    created_at_utc: str

    @property
    def deleted(self) -> bool:
        return self.origin == "delete"

    def row(self) -> dict[str, Any]:
        data: dict[str, Any] = {c.name: getattr(self, c.name) for c in reader_vois.columns}
        data["metrics"] = json.dumps(self.metrics, sort_keys=True, separators=(",", ":"))
        data["provenance"] = json.dumps(self.provenance, sort_keys=True, separators=(",", ":"))
        return data

    @classmethod
    def from_row(cls, row: Any) -> ReaderVoi:
        data = dict(row)
        data["metrics"] = json.loads(data["metrics"])
        data["provenance"] = json.loads(data["provenance"])
        return cls(**data)


def new_voi_id() -> str:
    """A fresh opaque VOI id (random, reveals nothing; a path component)."""
    return "v" + secrets.token_hex(8)


def next_version(connection: Connection, voi_id: str) -> int:
    """The number the next version of ``voi_id`` gets (1 for a new VOI)."""
    latest = connection.execute(
        select(func.max(reader_vois.c.version)).where(reader_vois.c.voi_id == voi_id)
    ).scalar_one()
    return 1 if latest is None else int(latest) + 1


def record_voi(connection: Connection, voi: ReaderVoi, *, author: Author) -> None:
    """Insert one version (audited). A version already stored is refused by the key."""
    if voi.origin not in _ORIGINS:
        raise ValueError(f"origin {voi.origin!r}: expected one of {_ORIGINS}")
    insert_record(connection, "reader_vois", voi.row(), author=author)


def series_folder(connection: Connection, patient_id: str, series_uid: str) -> str:
    """The folder (relative to the study) of a patient's stored PET series.

    Raises
    ------
    VoiNotFound
        No PET series with this UID of this patient.
    """
    folder = connection.execute(
        select(series.c.folder).where(
            and_(
                series.c.series_uid == series_uid,
                series.c.patient_id == patient_id,
                series.c.modality == "PT",
            )
        )
    ).scalar_one_or_none()
    if folder is None:
        raise VoiNotFound(
            f"PET series {series_uid!r} of {patient_id}: not in the study; run `petdx ingest`."
        )
    return str(folder)


def voi_history(connection: Connection, reader_id: str, voi_id: str) -> list[ReaderVoi]:
    """Every version of one of this reader's VOIs, oldest first.

    Raises
    ------
    VoiNotFound
        No such VOI of this reader.
    """
    rows = connection.execute(
        select(reader_vois)
        .where(and_(reader_vois.c.voi_id == voi_id, reader_vois.c.reader_id == reader_id))
        .order_by(reader_vois.c.version)
    ).mappings()
    found = [ReaderVoi.from_row(row) for row in rows]
    if not found:
        raise VoiNotFound(f"VOI {voi_id!r}: no such VOI of reader {reader_id!r}.")
    return found


def reader_voi_rows(
    connection: Connection, reader_id: str, *, case_id: str | None = None
) -> list[ReaderVoi]:
    """The latest version of each of this reader's VOIs (of one case when given), deleted
    ones included (check :attr:`ReaderVoi.deleted`), by case then creation."""
    latest = (
        select(reader_vois.c.voi_id, func.max(reader_vois.c.version).label("version"))
        .where(reader_vois.c.reader_id == reader_id)
        .group_by(reader_vois.c.voi_id)
    )
    if case_id is not None:
        latest = latest.where(reader_vois.c.case_id == case_id)
    newest = latest.subquery()
    rows = connection.execute(
        select(reader_vois)
        .join(
            newest,
            and_(
                reader_vois.c.voi_id == newest.c.voi_id,
                reader_vois.c.version == newest.c.version,
            ),
        )
        .where(reader_vois.c.reader_id == reader_id)
        .order_by(reader_vois.c.case_id, reader_vois.c.voi_id)
    ).mappings()
    vois = [ReaderVoi.from_row(row) for row in rows]
    first = _first_created(connection, reader_id, [v.voi_id for v in vois])
    return sorted(vois, key=lambda v: (v.case_id, first.get(v.voi_id, ""), v.voi_id))


def _first_created(connection: Connection, reader_id: str, voi_ids: list[str]) -> dict[str, str]:
    if not voi_ids:
        return {}
    rows = connection.execute(
        select(reader_vois.c.voi_id, func.min(reader_vois.c.created_at_utc))
        .where(and_(reader_vois.c.reader_id == reader_id, reader_vois.c.voi_id.in_(voi_ids)))
        .group_by(reader_vois.c.voi_id)
    )
    return {str(voi): str(created) for voi, created in rows}


def case_vois(connection: Connection, reader_id: str, case_id: str) -> list[ReaderVoi]:
    """This reader's current (not deleted) VOIs of one case, in the order they were added."""
    return [v for v in reader_voi_rows(connection, reader_id, case_id=case_id) if not v.deleted]
