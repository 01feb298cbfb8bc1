"""Image frames: one 2-D plane of a series, from a single-frame file or a multi-frame one.

A :class:`Frame` gives uniform access to what a plane needs — geometry, rescale, timing —
whether it comes from a classic one-slice-per-file series or from an Enhanced /
Legacy Converted Enhanced multi-frame object, where the same attributes live in the Shared
and Per-frame Functional Groups Sequences (PS3.3 C.7.6.16).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from petdx.dicom._fastread import element_value
from petdx.dicom.discovery import DicomInstance
from petdx.errors import MissingAttributeError

__all__ = ["Frame", "frames_of", "is_multiframe"]

#: The functional-group macro that holds an attribute in a multi-frame object (PS3.3 C.7.6.16.2),
#: named in the error when a frame lacks it.
_MACRO_OF = {
    "ImagePositionPatient": "PlanePositionSequence (0020,9113)",
    "ImageOrientationPatient": "PlaneOrientationSequence (0020,9116)",
    "PixelSpacing": "PixelMeasuresSequence (0028,9110)",
}


def is_multiframe(header: Dataset) -> bool:
    """True for objects with functional groups (Enhanced and Legacy Converted Enhanced)."""
    return "PerFrameFunctionalGroupsSequence" in header or (
        int(header.get("NumberOfFrames", 1) or 1) > 1
    )


def _flatten_functional_groups(*items: Dataset | None) -> Dataset:
    """Merge the macros of functional-group items into one flat dataset (later items win).

    Each functional-group item holds one-item sequences (PlanePositionSequence,
    PixelValueTransformationSequence, ...); their elements are lifted to the top level.
    """
    flat = Dataset()
    for item in items:
        if item is None:
            continue
        for element in item:
            if element.VR == "SQ" and isinstance(element.value, Sequence) and element.value:
                for inner in element.value[0]:
                    flat[inner.tag] = inner
            else:
                flat[element.tag] = element
    return flat


@dataclass(frozen=True, eq=False)
class Frame:
    """One image plane of a series.

    Attributes
    ----------
    instance
        The file the plane comes from.
    frame_index
        0-based frame number inside a multi-frame object, ``None`` for a single-frame file.
    attributes
        Frame-specific attributes (flattened functional groups); empty for single-frame files.
    """

    instance: DicomInstance
    frame_index: int | None
    attributes: Dataset = field(repr=False)

    @property
    def header(self) -> Dataset:
        return self.instance.header

    def get(self, keyword: str, default: Any = None) -> Any:
        """An attribute's value: frame-specific first, then the file's top level."""
        if keyword in self.attributes:
            value = self.attributes[keyword].value
            if value not in (None, ""):
                return value
        return element_value(self.header, keyword, default)

    def where(self) -> str:
        """File (and frame) for messages."""
        frame = f", frame {self.frame_index + 1}" if self.frame_index is not None else ""
        return f"{self.instance.path}{frame}"

    def require(self, keyword: str, tag: str, purpose: str) -> Any:
        value = self.get(keyword)
        if value is None:
            macro = _MACRO_OF.get(keyword) if self.frame_index is not None else None
            where = (
                f" (no {macro} in this frame's Per-frame Functional Groups (5200,9230) nor in "
                "the Shared Functional Groups (5200,9229))"
                if macro
                else ""
            )
            raise MissingAttributeError(
                f"{self.where()}: {keyword} {tag} is missing{where}; {purpose}. Fix the header."
            )
        return value

    @cached_property
    def orientation(self) -> npt.NDArray[np.float64]:
        """ImageOrientationPatient as 6 floats (row cosines X, then column cosines Y)."""
        value = self.require("ImageOrientationPatient", "(0020,0037)", "it places the plane")
        return np.asarray([float(v) for v in value], dtype=np.float64)

    @cached_property
    def position_mm(self) -> npt.NDArray[np.float64]:
        """ImagePositionPatient (LPS mm) of the first transmitted pixel."""
        value = self.require("ImagePositionPatient", "(0020,0032)", "it places the plane")
        return np.asarray([float(v) for v in value], dtype=np.float64)

    @cached_property
    def pixel_spacing_mm(self) -> tuple[float, float]:
        """PixelSpacing (between rows, between columns) in mm."""
        value = self.require("PixelSpacing", "(0028,0030)", "it gives the in-plane voxel size")
        return (float(value[0]), float(value[1]))

    @cached_property
    def matrix(self) -> tuple[int, int]:
        """(Rows, Columns)."""
        return (int(self.header.Rows), int(self.header.Columns))

    @cached_property
    def rescale_slope(self) -> float:
        """RescaleSlope (0028,1053) of this frame; 1 when absent."""
        return float(self.get("RescaleSlope", 1.0))

    @cached_property
    def rescale_intercept(self) -> float:
        """RescaleIntercept (0028,1052) of this frame; 0 when absent."""
        return float(self.get("RescaleIntercept", 0.0))


def frames_of(instance: DicomInstance) -> Iterator[Frame]:
    """The frames of one file: one for a single-frame image, N for a multi-frame one."""
    header = instance.header
    if not is_multiframe(header):
        yield Frame(instance, None, Dataset())
        return
    shared_seq = header.get("SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else None
    per_frame = header.get("PerFrameFunctionalGroupsSequence") or []
    n_frames = int(header.get("NumberOfFrames", len(per_frame)) or len(per_frame))
    for index in range(n_frames):
        item = per_frame[index] if index < len(per_frame) else None
        yield Frame(instance, index, _flatten_functional_groups(shared, item))
