"""The reader's viewer volumes: a de-identified series as NIfTI, PET in SUVbw.

:func:`viewer_volume` turns one series of the de-identified store (``images/``) into a gzipped
NIfTI-1 file that the browser viewer (NiiVue) loads, cached per series at
:meth:`petdx.study.layout.StudyLayout.viewer_volume` and written atomically (temporary name,
then rename):

* **PET**: the series read by :func:`petdx.dicom.read_series_volume` and converted by
  :func:`petdx.suv.compute_suv` (body weight) and :func:`petdx.suv.suv_volume` - the very
  functions ``petdx quantify`` measures with, so the value of every voxel is petdx's SUVbw of
  that voxel (float32, no scaling in the NIfTI header). Where SUV cannot be computed (a header
  value missing or implausible: the error of :func:`~petdx.suv.compute_suv`), the volume is
  the rescaled activity (``Bq/ml`` for Units BQML, else the series' own Units) and
  :attr:`ViewerVolume.warning` says why it is not SUV.
* **CT** (HU, stored as int16 when every value is a whole number in range) and **MR** (the
  rescaled values, no unit).

Placement: :meth:`petdx.image.Volume.to_nifti` maps petdx's LPS affine to NIfTI's RAS
(negated x and y) and the array to NIfTI's (x, y, z) order, so PET and CT or MR of one frame
of reference land in one world. Slices that are not evenly spaced are written on the mean-step
grid (NIfTI has one affine); the read warning names the largest shift that implies.

Nothing of the DICOM header goes into the file: the NIfTI header holds the grid, the data type
and a ``descrip`` of ``petdx <unit>`` only.

The cache is valid while its record's fingerprint (petdx version, normalisation, and the
names, sizes and modification times of the series' files) matches the files on disk;
otherwise the volume is made again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from petdx import __version__
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.dicom.series_volume import ImageSeries
from petdx.errors import InputValidationError, PetdxError
from petdx.fileio import atomic_write_bytes, atomic_write_text
from petdx.study.layout import StudyLayout
from petdx.suv import compute_suv, suv_volume

__all__ = [
    "SUV_UNIT",
    "ViewerVolume",
    "anatomy_nifti",
    "pet_nifti",
    "viewer_volume",
]

#: The unit of a PET volume in SUV (body weight: g/ml).
SUV_UNIT = "SUVbw"
_RECORD_VERSION = 1
#: Units (0054,1001) -> the label shown when SUV could not be computed.
_ACTIVITY_UNITS = {"BQML": "Bq/ml"}
_VIEWABLE = (SeriesKind.PT, SeriesKind.CT, SeriesKind.MR)


@dataclass(frozen=True)
class ViewerVolume:
    """A cached viewer volume and what the viewer must say about it.

    Attributes
    ----------
    path
        The gzipped NIfTI file.
    kind
        ``PT``, ``CT`` or ``MR``.
    unit
        ``SUVbw`` (PET in SUV), ``Bq/ml`` (PET activity: SUV could not be computed), ``HU``
        (CT) or ``""`` (MR: no unit).
    warning
        Why a PET volume is not in SUV (None when it is, and for CT and MR).
    """

    path: Path
    series_uid: str
    kind: str
    unit: str
    warning: str | None = None

    @property
    def is_suv(self) -> bool:
        return self.unit == SUV_UNIT


def _nifti(volume: Any, array: np.ndarray[Any, Any], unit: str) -> nib.Nifti1Image:
    image = volume.with_array(array).to_nifti()
    image.header["descrip"] = f"petdx {unit}".encode("ascii")[:79]
    return image


def pet_nifti(image: ImageSeries) -> tuple[nib.Nifti1Image, str, str | None]:
    """A PET series as NIfTI: ``(image, unit, warning)`` (module docstring)."""
    try:
        result = compute_suv(image, normalization="bw")
    except PetdxError:
        units = str(image.entry.first_header.get("Units", "")).strip().upper()
        unit = _ACTIVITY_UNITS.get(units, units or "unknown unit")
        # the reason (which header value) stays on the server: no DICOM header to the reader;
        # and the word SUV is not used for a volume that is not in SUV
        warning = (
            "Standardised uptake values could not be computed for this series (a header "
            f"value they need is missing or implausible): values are in {unit}."
        )
        values = np.asarray(image.volume.array, dtype=np.float32)
        return _nifti(image.volume, values, unit), unit, warning
    suv = suv_volume(image, result)
    return _nifti(suv, np.asarray(suv.array, dtype=np.float32), SUV_UNIT), SUV_UNIT, None


def anatomy_nifti(image: ImageSeries) -> tuple[nib.Nifti1Image, str]:
    """A CT (HU) or MR series as NIfTI: ``(image, unit)``; CT as int16 when lossless."""
    values = np.asarray(image.volume.array)
    unit = "HU" if image.entry.kind is SeriesKind.CT else ""
    finite = bool(np.isfinite(values).all())
    if (
        finite
        and values.size
        and float(values.min()) >= -32768
        and float(values.max()) <= 32767
        and bool(np.all(values == np.round(values)))
    ):
        values = values.astype(np.int16)
    else:
        values = values.astype(np.float32)
    return _nifti(image.volume, values, unit or "MR"), unit


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256(f"petdx {__version__} bw v{_RECORD_VERSION}\n".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read(folder: Path, series_uid: str) -> ImageSeries:
    index = index_dicom_folder(folder)
    for kind in _VIEWABLE:
        for entry in index.of_kind(kind):
            if entry.series_instance_uid == series_uid:
                return read_series_volume(entry)
    raise InputValidationError(
        f"series {series_uid}: no PET, CT or MR image series with this UID under {folder}; "
        "run `petdx ingest` again to restore the study's images."
    )


def viewer_volume(
    layout: StudyLayout, *, patient_id: str, series_uid: str, folder: str | Path
) -> ViewerVolume:
    """The viewer volume of the series ``series_uid`` stored at ``folder`` (relative to the
    study root, as the database records it), made and cached when missing or stale.

    Raises
    ------
    InputValidationError
        The folder is outside the study folder or holds no such image series; the series'
        pixels or geometry cannot be read (:class:`~petdx.errors.PetdxError` subclasses).
    """
    source = layout.stored(folder, field="series folder")
    target = layout.viewer_volume(patient_id, series_uid)
    record_path = layout.viewer_volume_record(patient_id, series_uid)
    if not source.is_dir():
        raise InputValidationError(
            f"series {series_uid}: its folder {folder} is missing from the study's images; "
            "run `petdx ingest` again to restore it."
        )
    fingerprint = _fingerprint(source)
    cached = _cached(record_path, target, fingerprint)
    if cached is not None:
        return cached
    image = _read(source, series_uid)
    warning: str | None = None
    if image.entry.kind is SeriesKind.PT:
        nifti, unit, warning = pet_nifti(image)
    else:
        nifti, unit = anatomy_nifti(image)
    atomic_write_bytes(target, gzip.compress(nifti.to_bytes(), compresslevel=1, mtime=0))
    volume = ViewerVolume(target, series_uid, image.entry.kind.value, unit, warning)
    record = {k: v for k, v in asdict(volume).items() if k != "path"}
    record["fingerprint"] = fingerprint
    atomic_write_text(record_path, json.dumps(record, indent=1, sort_keys=True))
    return volume


def _cached(record_path: Path, target: Path, fingerprint: str) -> ViewerVolume | None:
    if not (record_path.is_file() and target.is_file()):
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("fingerprint") != fingerprint:
        return None
    return ViewerVolume(
        target,
        str(record["series_uid"]),
        str(record["kind"]),
        str(record["unit"]),
        record.get("warning"),
    )
