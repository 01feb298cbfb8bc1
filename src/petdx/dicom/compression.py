"""How a series' pixel data is encoded: transfer syntax, compression, and whether it is lossy.

PET values are measurements; a lossy-compressed PET series gives SUVs that carry the codec's
error. petdx reads such a series (a PACS may hold nothing else) but says so: every result
computed from it carries :attr:`PixelEncoding.description` and a warning.

A series is **lossy** when any of its files

* sets LossyImageCompression (0028,2110) to ``01`` (PS3.3 C.7.6.1.1.5: once lossy, always
  lossy, even after decompression), or
* is stored in a transfer syntax that is lossy by definition: JPEG Baseline (Process 1),
  JPEG Extended (Process 2 & 4), JPEG-LS Near-Lossless, or
* is stored in a syntax that may be lossy (JPEG 2000, High-Throughput JPEG 2000) without
  LossyImageCompression ``00`` to say it is not.

The ratio (0028,2112) and method (0028,2114) are reported as written (multi-valued when the
image was compressed more than once).

Decoding is pydicom's (its pixel-data plugins, PS3.5 Section 8 and Annex A.4); the packages
behind each syntax and their licences are in docs/dependencies.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
)

__all__ = ["PixelEncoding", "pixel_encoding"]

#: Lossy by definition of the codec process.
_LOSSY_SYNTAXES = frozenset({JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLSNearLossless})
#: Lossy or lossless; LossyImageCompression (0028,2110) "00" says lossless.
_MAYBE_LOSSY_SYNTAXES = frozenset({JPEG2000, HTJ2K})
#: Always lossless although "High-Throughput" is in the name.
_LOSSLESS_HTJ2K = frozenset({HTJ2KLossless, HTJ2KLosslessRPCL})


def _text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class PixelEncoding:
    """The pixel-data encoding of a series (or of one file).

    Attributes
    ----------
    transfer_syntaxes
        The transfer syntax names found, e.g. ``("JPEG-LS Lossless Image Compression",)``.
    compressed
        Any file's pixel data is compressed (encapsulated).
    lossy
        Any file's pixel data is, or once was, lossy compressed (rules in the module docs).
    lossy_ratio
        LossyImageCompressionRatio (0028,2112) as written, ``""`` when absent.
    lossy_method
        LossyImageCompressionMethod (0028,2114) as written, ``""`` when absent.
    """

    transfer_syntaxes: tuple[str, ...]
    compressed: bool
    lossy: bool
    lossy_ratio: str = ""
    lossy_method: str = ""

    @property
    def description(self) -> str:
        """One line for provenance: ``lossy: JPEG Baseline (Process 1); ratio 9.1; method
        ISO_10918_1``, ``lossless: JPEG-LS Lossless Image Compression`` or
        ``uncompressed``."""
        syntaxes = ", ".join(self.transfer_syntaxes)
        if self.lossy:
            parts = [f"lossy: {syntaxes}"]
            if self.lossy_ratio:
                parts.append(f"LossyImageCompressionRatio {self.lossy_ratio}")
            if self.lossy_method:
                parts.append(f"LossyImageCompressionMethod {self.lossy_method}")
            return "; ".join(parts)
        if self.compressed:
            return f"lossless: {syntaxes}"
        return "uncompressed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "transfer_syntaxes": list(self.transfer_syntaxes),
            "compressed": self.compressed,
            "lossy": self.lossy,
            "lossy_ratio": self.lossy_ratio or None,
            "lossy_method": self.lossy_method or None,
        }


def _syntax_of(header: Dataset) -> UID:
    meta = getattr(header, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    return UID(str(syntax)) if syntax else ImplicitVRLittleEndian


def _is_lossy(header: Dataset, syntax: UID) -> bool:
    flag = str(header.get("LossyImageCompression", "") or "").strip()
    if flag == "01" or syntax in _LOSSY_SYNTAXES:
        return True
    return syntax in _MAYBE_LOSSY_SYNTAXES and syntax not in _LOSSLESS_HTJ2K and flag != "00"


def pixel_encoding(headers: Iterable[Dataset]) -> PixelEncoding:
    """The encoding of the files of a series (the union over its files)."""
    names: dict[str, None] = {}
    compressed = lossy = False
    ratios: dict[str, None] = {}
    methods: dict[str, None] = {}
    for header in headers:
        syntax = _syntax_of(header)
        names[syntax.name] = None
        compressed = compressed or bool(syntax.is_compressed)
        if _is_lossy(header, syntax):
            lossy = True
            if ratio := _text(header.get("LossyImageCompressionRatio")):
                ratios[ratio] = None
            if method := _text(header.get("LossyImageCompressionMethod")):
                methods[method] = None
    return PixelEncoding(
        transfer_syntaxes=tuple(names),
        compressed=compressed,
        lossy=lossy,
        lossy_ratio=", ".join(ratios),
        lossy_method=", ".join(methods),
    )
