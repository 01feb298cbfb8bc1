"""CT effective dose from the dose-length product: the AAPM Report 96 k-factors.

Shared by the study's radiation-dose engine (``petdx.study.dose``) and the simulator's
screening scenarios (``petdx.simulate.screening``), so both convert a DLP the same way.

References
----------
AAPM Report No. 96, *The Measurement, Reporting, and Management of Radiation Dose in CT*
(2008), Table 3 (adult k-factors). https://doi.org/10.37206/97
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["AAPM96_K_FACTORS_MSV_PER_MGY_CM"]

#: Adult CT k-factors, mSv per mGy.cm, AAPM Report 96 (2008) Table 3. ``whole_body`` (PET/CT
#: skull base to mid-thigh) has no entry in the report; petdx uses the trunk value, since the
#: trunk dominates both the scanned length and the organ weighting.
AAPM96_K_FACTORS_MSV_PER_MGY_CM: Mapping[str, float] = MappingProxyType(
    {
        "head": 0.0021,
        "neck": 0.0059,
        "chest": 0.014,
        "abdomen_pelvis": 0.015,
        "chest_abdomen_pelvis": 0.015,
        "whole_body": 0.015,
    }
)
