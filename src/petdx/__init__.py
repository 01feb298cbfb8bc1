"""petdx: PET diagnostic-accuracy studies end to end.

DICOM -> SUV -> segmentation -> quantification -> study database -> statistics -> report.
See the README and ``docs/`` for the layout; each sub-package's ``__all__`` is its public API.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("petdx")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = ["__version__"]
