"""Write many slices of one series quickly, with pydicom's own element encoder.

A series' slices share most of their header. :class:`SeriesEncoder` encodes each element of
the shared template once (``pydicom.filewriter.write_data_element``, Explicit VR Little
Endian), encodes only the varying elements of each slice, and joins the encoded elements in
tag order after the File Meta Information (whose fixed part is also encoded once by
``pydicom.filewriter.write_file_meta_info``). The bytes are the same as
``pydicom.dcmwrite(path, dataset, enforce_file_format=True)`` of the merged dataset (a test
checks it); the work per slice drops from the whole header to the few varying elements.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.uid import UID, ExplicitVRLittleEndian

__all__ = ["SeriesEncoder"]

_PREAMBLE = b"\x00" * 128 + b"DICM"
_GROUP_LENGTH = 0x00020000
_MEDIA_SOP_INSTANCE = 0x00020003
_PLACEHOLDER_UID = "1.2"


def _encode(element: DataElement) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = False
    write_data_element(buffer, element)
    return bytes(buffer.getvalue())


def _meta_parts(sop_class_uid: str) -> tuple[bytes, bytes]:
    """File meta elements before and after (0002,0003), encoded by pydicom once."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(_PLACEHOLDER_UID)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = False
    write_file_meta_info(buffer, meta, enforce_standard=True)
    encoded = bytes(buffer.getvalue())
    placeholder = _encode(DataElement(_MEDIA_SOP_INSTANCE, "UI", _PLACEHOLDER_UID))
    start = encoded.index(placeholder)
    group_length = len(_encode(DataElement(_GROUP_LENGTH, "UL", 0)))
    return encoded[group_length:start], encoded[start + len(placeholder) :]


class SeriesEncoder:
    """Encode the slices of one series: a shared template plus per-slice elements."""

    def __init__(self, template: Dataset, sop_class_uid: str) -> None:
        self.template = template
        self.sop_class_uid = sop_class_uid
        self._shared = {int(element.tag): _encode(element) for element in template}
        self._extra: list[DataElement] = []
        self._meta_before, self._meta_after = _meta_parts(sop_class_uid)

    def with_shared(self, elements: Iterable[DataElement]) -> SeriesEncoder:
        """An encoder whose template also holds ``elements`` (e.g. one bed's timing)."""
        other = object.__new__(SeriesEncoder)
        other.template = self.template
        other.sop_class_uid = self.sop_class_uid
        other._meta_before, other._meta_after = self._meta_before, self._meta_after
        other._shared = dict(self._shared)
        other._extra = list(self._extra)
        for element in elements:
            other._shared[int(element.tag)] = _encode(element)
            other._extra.append(element)
        return other

    def _meta(self, sop_instance_uid: str) -> bytes:
        uid = _encode(DataElement(_MEDIA_SOP_INSTANCE, "UI", sop_instance_uid))
        rest = self._meta_before + uid + self._meta_after
        return _encode(DataElement(_GROUP_LENGTH, "UL", len(rest))) + rest

    def encode(self, varying: Iterable[DataElement]) -> bytes:
        """The Part 10 file of the template updated with ``varying`` (which must hold
        SOPInstanceUID)."""
        chunks = dict(self._shared)
        sop_instance_uid = ""
        for element in varying:
            chunks[int(element.tag)] = _encode(element)
            if element.keyword == "SOPInstanceUID":
                sop_instance_uid = str(element.value)
        if not sop_instance_uid:
            raise ValueError("every slice needs its SOPInstanceUID")
        body = b"".join(chunks[tag] for tag in sorted(chunks))
        return _PREAMBLE + self._meta(sop_instance_uid) + body

    def write(self, path: Path, varying: Iterable[DataElement]) -> None:
        """Write the slice to ``path``."""
        path.write_bytes(self.encode(varying))

    def merged(self, varying: Iterable[DataElement]) -> Dataset:
        """The full dataset of a slice (template and shared elements updated with
        ``varying``)."""
        ds = Dataset()
        ds.update(self.template)
        for element in (*self._extra, *varying):
            ds[element.tag] = element
        return ds
