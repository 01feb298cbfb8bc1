"""petdx.study.dose against published dose coefficients and k-factors.

The coefficients come from the publications named in each docstring, not from running petdx.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from petdx.errors import InputValidationError
from petdx.study.dose import (
    AAPM96_K_FACTORS_MSV_PER_MGY_CM,
    exposure_dose,
    rolling_dose,
    tracer_dose_coefficient,
)

REFERENCE = date(2026, 3, 1)


def _record(**fields: Any) -> dict[str, Any]:
    return {"exposure_id": "E1", "exposure_date": REFERENCE - timedelta(days=30), **fields}


def test_fdg_coefficient_is_icrp_adult_value() -> None:
    """ICRP Publication 128 (Ann ICRP 2015;44(2S)), compiled from ICRP 106 (2008): 18F-FDG,
    adult effective dose 0.019 mSv/MBq. Checked against two secondary tables: Andersson et al.,
    EJNMMI Phys 2014;1:9, Table 1 ("18F Fluoride FDG", ICRP value 1.9E-02 mSv/MBq), and the
    SNMMI adult dosimetry table (JNMT, 18F-FDG 0.019 mSv/MBq, citing ICRP 2008)."""
    coefficient = tracer_dose_coefficient("f18-fdg")
    assert coefficient is not None
    assert coefficient[0] == pytest.approx(0.019, abs=1e-12)
    assert "ICRP Publication 128" in coefficient[1]


def test_fdg_scan_dose_as_published() -> None:
    """Walker RC et al., J Nucl Med 2013;54:855-60 (PMC4472480), Table 3: 18F-FDG, typical adult
    activity 370 MBq, ED 1.9E-02 mSv/MBq, "Estimated ED per scan 7.0 mSv" (one decimal)."""
    dose = exposure_dose(
        _record(modality="PET", radiopharmaceutical="f18-fdg", administered_activity_mbq=370.0)
    )
    assert dose.dose_msv == pytest.approx(7.0, abs=0.05)
    assert dose.method == "370 MBq x 0.019 mSv/MBq (f18-fdg)"


def test_dota_blp_uses_the_68ga_dotatate_analogue_coefficient() -> None:
    """68Ga-DOTA-BLP has no published dosimetry; its profile assumes 68Ga-DOTATATE's
    0.021 mSv/MBq: Sandstrom M et al., J Nucl Med 2013;54:1755-9 (as tabulated in EJNMMI Res
    2016, Table 7 "Human effective doses of 68Ga radiopharmaceuticals": 68Ga-DOTATATE 0.021,
    Sandstrom 2013). A study value, not an ICRP 128 one (ICRP 128 compiles ICRP 53, 80 and 106
    and adds 82Rb, the iodides and FPCIT). Walker RC et al. 2013, Table 3, measured 0.0257
    mSv/MBq for 68Ga-DOTATATE: the analogue is uncertain by about 20 %. 185 MBq then gives
    3.885 mSv."""
    coefficient = tracer_dose_coefficient("ga68-dota-blp")
    assert coefficient is not None
    assert coefficient[0] == pytest.approx(0.021, abs=1e-12)
    assert "ASSUMED" in coefficient[1]
    assert "Sandstrom" in coefficient[1]
    dose = exposure_dose(
        _record(
            modality="PET/MR", radiopharmaceutical="ga68-dota-blp", administered_activity_mbq=185.0
        )
    )
    assert dose.dose_msv == pytest.approx(185.0 * 0.021, rel=1e-12)


def test_aapm_96_adult_k_factors() -> None:
    """AAPM Report No. 96 (2008), Table 3, adult k-factors in mSv/(mGy.cm): head 0.0021,
    neck 0.0059, chest 0.014, abdomen & pelvis 0.015, chest-abdomen-pelvis 0.015."""
    published = {
        "head": 0.0021,
        "neck": 0.0059,
        "chest": 0.014,
        "abdomen_pelvis": 0.015,
        "chest_abdomen_pelvis": 0.015,
    }
    for region, k in published.items():
        assert AAPM96_K_FACTORS_MSV_PER_MGY_CM[region] == k
        dose = exposure_dose(_record(modality="CT", ct_dlp_mgy_cm=500.0, ct_region=region))
        assert dose.dose_msv == pytest.approx(500.0 * k, rel=1e-12)
        assert f"k {k:g} ({region}, AAPM 96)" in dose.method


def test_pet_ct_adds_the_radiopharmaceutical_and_the_ct() -> None:
    """370 MBq FDG (0.019 mSv/MBq, ICRP 128) + DLP 800 mGy.cm whole-body (trunk k 0.015, AAPM
    96 Table 3) = 7.03 + 12.0 mSv."""
    dose = exposure_dose(
        _record(
            modality="PET/CT",
            radiopharmaceutical="f18-fdg",
            administered_activity_mbq=370.0,
            ct_dlp_mgy_cm=800.0,
            ct_region="whole_body",
        )
    )
    assert dose.dose_msv == pytest.approx(7.03 + 12.0, rel=1e-12)
    assert " + DLP 800 mGy.cm" in dose.method


def test_a_stated_dose_wins() -> None:
    dose = exposure_dose(
        _record(
            modality="PET/CT",
            effective_dose_msv=3.25,
            radiopharmaceutical="f18-fdg",
            administered_activity_mbq=370.0,
        )
    )
    assert (dose.dose_msv, dose.method) == (3.25, "stated")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"modality": "PET", "radiopharmaceutical": "f18-fdg"}, "PET without activity"),
        (
            {"modality": "PET", "radiopharmaceutical": "18F-FDG", "administered_activity_mbq": 1},
            "no tracer profile for radiopharmaceutical '18F-FDG'",
        ),
        ({"modality": "CT", "ct_dlp_mgy_cm": 400.0}, "CT without CT DLP and region"),
        ({"modality": "radiography"}, "radiography without a stated dose"),
    ],
)
def test_an_uncomputable_dose_is_none_never_zero(fields: dict[str, Any], reason: str) -> None:
    dose = exposure_dose(_record(**fields))
    assert dose.dose_msv is None
    assert dose.method == f"unknown: {reason}"
    assert "unknown" in str(dose)


def test_a_record_without_id_or_date_is_refused() -> None:
    with pytest.raises(InputValidationError, match="exposure record without exposure_date"):
        exposure_dose({"exposure_id": "E9", "modality": "CT"})
    with pytest.raises(InputValidationError, match="exposure record without exposure_id"):
        exposure_dose({"exposure_date": REFERENCE})


def test_rolling_window_is_365_days_before_the_reference_day_excluded() -> None:
    def stated(eid: str, days_before: int, msv: float | None) -> dict[str, Any]:
        return {
            "exposure_id": eid,
            "exposure_date": REFERENCE - timedelta(days=days_before),
            "modality": "radiography",
            "effective_dose_msv": msv,
        }

    exposures = [
        stated("in-365", 365, 1.0),
        stated("out-366", 366, 100.0),
        stated("same-day", 0, 100.0),
        stated("in-1", 1, 2.5),
        stated("unknown", 10, None),
    ]
    window = rolling_dose(exposures, REFERENCE)
    assert [e.exposure_id for e in window.exposures] == ["in-365", "unknown", "in-1"]
    assert window.known_msv == pytest.approx(3.5, rel=1e-12)
    assert window.complete is False
    assert window.to_dict()["complete"] is False
    assert "(some doses unknown)" in str(window)
    known = rolling_dose(exposures[:4], REFERENCE)
    assert known.complete is True
    assert known.to_dict()["exposures"][0]["exposure_date"] == "2025-03-01"
