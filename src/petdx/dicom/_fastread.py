"""Fast access to plain-text attributes of headers read with deferred values.

pydicom converts an element on first access, validating it against its VR (tens of
microseconds each). Indexing thousands of files touches a handful of ASCII attributes per
file (UIDs, positions, times, rescale), so those are decoded here straight from the raw bytes;
anything else, and anything that does not parse, goes through pydicom's own conversion.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

__all__ = ["element_value"]

#: VRs whose values are ASCII by the standard (PS3.5 6.2), so decoding needs no charset.
_ASCII_VRS = frozenset({"CS", "DA", "DS", "DT", "IS", "TM", "UI"})


@lru_cache(maxsize=512)
def _tag_and_vr(keyword: str) -> tuple[int, str]:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"unknown DICOM keyword {keyword!r}")
    return tag, dictionary_VR(tag)


def _parse(text: str, vr: str) -> Any:
    parts = [p.strip() for p in text.split("\\")]
    if vr == "DS":
        values: list[Any] = [float(p) for p in parts if p]
    elif vr == "IS":
        values = [int(float(p)) for p in parts if p]
    else:
        values = [p for p in parts if p]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def element_value(dataset: Dataset, keyword: str, default: Any = None) -> Any:
    """The value of a standard attribute, or ``default`` when absent or empty.

    ASCII attributes (CS, DA, DS, DT, IS, TM, UI) come back as Python scalars (str, float,
    int) or lists of them for multi-valued elements; other VRs as pydicom gives them.
    """
    tag, vr = _tag_and_vr(keyword)
    try:
        element = dataset.get_item(tag, keep_deferred=True)
    except KeyError:
        return default
    if element is None:
        return default
    if isinstance(element, RawDataElement) and vr in _ASCII_VRS and element.value is not None:
        raw = element.value
        try:
            text = raw.decode("ascii").strip(" \x00") if isinstance(raw, bytes) else str(raw)
            value = _parse(text, vr)
        except (UnicodeDecodeError, ValueError):
            value = dataset[tag].value
    else:
        value = dataset[tag].value
    return default if value is None or value == "" else value
