"""A pydicom pixel-data decoder plugin backed by imagecodecs.

pydicom decodes compressed pixel data through plugins (PS3.5 Annex A.4 syntaxes; pydicom's
"decoder plugins" guide: a module with ``DECODER_DEPENDENCIES``, ``is_available(uid)`` and a
frame function taking the encoded frame and the :class:`~pydicom.pixels.decoders.base.
DecodeRunner`). The plugins pydicom ships for GDCM, pylibjpeg and pyjpegls hold the Python
GIL while they decode, so a thread pool decodes one frame at a time. imagecodecs (Gohlke,
BSD-3-Clause) releases the GIL inside its codecs (libjpeg-turbo, liblj92 and jpegsof3 for
lossless JPEG, CharLS, OpenJPEG, its own DICOM RLE), so the frames of a series decode in
parallel threads; measured in benchmarks/bench_dicom_read.py and docs/benchmarks.md.

This module only maps a DICOM transfer syntax to the imagecodecs function and tells pydicom
the decoded sample size; pydicom does everything else (fragments, signed values, BitsStored
masking, rescale is petdx's). It handles monochrome frames (PET, CT, MR); colour frames are
left to pydicom's own plugins.

Registration: :func:`register` adds the plugin (label ``imagecodecs``) to pydicom's decoders;
:mod:`petdx.dicom.series_volume` asks for it first and falls back to pydicom's other plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydicom import uid
from pydicom.pixels.decoders.base import DecodeRunner

try:
    import imagecodecs
except ImportError:  # pragma: no cover - a declared dependency
    imagecodecs = None  # type: ignore[assignment]

__all__ = ["DECODER_DEPENDENCIES", "PLUGIN_LABEL", "is_available", "register"]

PLUGIN_LABEL = "imagecodecs"

_DEPENDENCY = ("numpy", "imagecodecs>=2024.1")

_SYNTAXES = (
    uid.JPEGBaseline8Bit,
    uid.JPEGExtended12Bit,
    uid.JPEGLossless,
    uid.JPEGLosslessSV1,
    uid.JPEGLSLossless,
    uid.JPEGLSNearLossless,
    uid.JPEG2000Lossless,
    uid.JPEG2000,
    uid.HTJ2KLossless,
    uid.HTJ2KLosslessRPCL,
    uid.HTJ2K,
    uid.RLELossless,
)
DECODER_DEPENDENCIES = dict.fromkeys(_SYNTAXES, _DEPENDENCY)


def _codec(name: str) -> Callable[..., Any] | None:
    """The imagecodecs decode function ``name``, or None when that codec is not built in."""
    if imagecodecs is None:
        return None
    codec = getattr(imagecodecs, name.upper(), None)
    if codec is None or not getattr(codec, "available", False):
        return None
    return getattr(imagecodecs, f"{name}_decode", None)


def _codec_name(syntax: str) -> str | None:
    if syntax in (uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit):
        return "jpeg8"
    if syntax in (uid.JPEGLossless, uid.JPEGLosslessSV1):
        # libjpeg-turbo 3 decodes every lossless predictor (SOF3); jpegsof3 when it is older
        return "jpeg8"
    if syntax in uid.JPEGLSTransferSyntaxes:
        return "jpegls"
    if syntax in (uid.JPEG2000Lossless, uid.JPEG2000):
        return "jpeg2k"
    if syntax in (uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL, uid.HTJ2K):
        return "jpeg2k"
    if syntax == uid.RLELossless:
        return "dicomrle"
    return None


def is_available(syntax: str) -> bool:
    """True when imagecodecs is installed with the codec for ``syntax``."""
    name = _codec_name(syntax)
    return name is not None and _codec(name) is not None


def _decode_frame(src: bytes, runner: DecodeRunner) -> bytes:
    """The decoded frame ``src`` as little-endian samples of ``runner``'s BitsAllocated."""
    if runner.samples_per_pixel != 1:
        raise ValueError("the imagecodecs plugin of petdx decodes monochrome frames only")
    syntax = runner.transfer_syntax
    name = _codec_name(syntax)
    decode = _codec(name) if name else None
    if decode is None:
        raise ValueError(f"imagecodecs has no decoder for {syntax.name}")
    if name == "dicomrle":
        # little-endian samples of BitsAllocated, already interleaved from the byte segments
        runner.set_option("planar_configuration", 0)
        return bytes(decode(src, dtype=f"<u{runner.bits_allocated // 8}"))
    array = decode(src)
    if array.ndim != 2:
        raise ValueError(f"decoded frame has shape {array.shape}, expected (rows, columns)")
    itemsize = array.dtype.itemsize
    runner.set_option("bits_allocated", 8 * itemsize)
    if syntax in uid.JPEGLSTransferSyntaxes:
        runner.set_option("planar_configuration", 0)
    return bytes(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())


def register() -> bool:
    """Add the plugin to pydicom's decoders (once); True when imagecodecs is usable."""
    from pydicom.pixels.decoders.base import get_decoder

    usable = False
    for syntax in DECODER_DEPENDENCIES:
        decoder = get_decoder(syntax)
        if PLUGIN_LABEL not in decoder.available_plugins and PLUGIN_LABEL not in getattr(
            decoder, "_unavailable", {}
        ):
            decoder.add_plugin(PLUGIN_LABEL, (__name__, "_decode_frame"))
        usable = usable or PLUGIN_LABEL in decoder.available_plugins
    return usable
