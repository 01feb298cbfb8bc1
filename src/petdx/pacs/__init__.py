"""The hospital PACS as the study's image source (issue 15): Orthanc or any DICOMweb server.

:mod:`petdx.pacs.config` reads ``[pacs]`` of ``study.toml``; :mod:`petdx.pacs.client` holds
the DICOMweb connection and ``check_pacs``; :mod:`petdx.pacs.pull` finds (QIDO-RS), retrieves
(WADO-RS, streamed) and ingests the enrolled patients' series with the same code as
``petdx ingest``. See docs/pacs.md.
"""

from petdx.pacs.client import PacsCheck, PacsConnection, PacsError, check_pacs, connect
from petdx.pacs.config import PacsConfig, PacsConfigError, load_pacs_config
from petdx.pacs.pull import PacsSeries, PacsStudySource, PullResult, find_series, pull

__all__ = [
    "PacsCheck",
    "PacsConfig",
    "PacsConfigError",
    "PacsConnection",
    "PacsError",
    "PacsSeries",
    "PacsStudySource",
    "PullResult",
    "check_pacs",
    "connect",
    "find_series",
    "load_pacs_config",
    "pull",
]
