"""An enrolled patient's disease: primary tumour, nodal and distant lesions, PD-L1.

Per patient: one primary tumour at the site of its type and 1 to 8 non-primary lesions
(1 + Binomial(7, 0.3)), at the nodal stations and distant sites the tumour type spreads to.
About 25 % of patients have no nodal or distant malignancy: all their non-primary lesions
are inflammatory (benign) nodes, so the patient-level target condition ("nodal or distant
malignancy present", docs/protocol.md) is absent in them. In the others each non-primary
lesion is malignant with probability 0.8 (at least one is), else an inflammatory node.

PD-L1: the primary's tumour proportion score (TPS) is 0 with the probability of the tumour
type's PD-L1-negative fraction, else drawn from a mixture of low (1-49 %) and high
(50-100 %) expressers; each metastasis keeps the primary's status with probability 0.8
(intrapatient heterogeneity, Niemeijer 2018) and a score near the primary's. The combined
positive score (CPS) adds immune-cell staining (0-20) to the TPS, capped at 100. Benign
lesions have neither score.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from petdx.simulate.anatomy import Phantom
from petdx.simulate.lesions import (
    PLACEMENTS,
    LesionSpec,
    correlated_deviates,
    lesion_suv_series,
    place_lesion,
)
from petdx.simulate.shapes import Ellipsoid
from petdx.tracers import LesionClass, TracerProfile

__all__ = ["TUMOUR_SPREAD", "TumourSpread", "plan_lesions", "suspicious_kind"]


@dataclass(frozen=True)
class TumourSpread:
    """Where a tumour type starts and spreads, and how often it expresses PD-L1."""

    primary: tuple[str, ...]
    nodal: tuple[str, ...]
    distant: tuple[str, ...]
    pdl1_positive_fraction: float


TUMOUR_SPREAD: dict[str, TumourSpread] = {
    "nsclc": TumourSpread(
        ("lung",), ("mediastinal_node", "hilar_node"), ("bone", "liver", "adrenal", "lung"), 0.65
    ),
    "hnscc": TumourSpread(("soft_tissue_neck",), ("cervical_node",), ("lung", "bone"), 0.80),
    "melanoma": TumourSpread(
        ("soft_tissue_chest",),
        ("axillary_node", "abdominal_node", "pelvic_node"),
        ("lung", "liver", "bone"),
        0.45,
    ),
    "gastric": TumourSpread(("stomach",), ("abdominal_node",), ("liver",), 0.60),
    "oesophageal": TumourSpread(
        ("oesophagus",), ("mediastinal_node", "abdominal_node"), ("liver", "lung"), 0.50
    ),
    "hepatocellular": TumourSpread(("liver",), ("abdominal_node",), ("lung", "bone"), 0.30),
    "urothelial": TumourSpread(
        ("pelvis",), ("pelvic_node", "abdominal_node"), ("lung", "bone", "liver"), 0.45
    ),
    "breast_tnbc": TumourSpread(
        ("soft_tissue_chest",),
        ("axillary_node", "mediastinal_node"),
        ("bone", "liver", "lung"),
        0.40,
    ),
    "renal": TumourSpread(("kidney",), ("abdominal_node",), ("lung", "bone", "adrenal"), 0.30),
}
_BENIGN_STATIONS = (
    "mediastinal_node",
    "hilar_node",
    "abdominal_node",
    "pelvic_node",
    "axillary_node",
    "cervical_node",
)


def _primary_tps(rng: np.random.Generator, positive_fraction: float) -> float:
    if rng.random() >= positive_fraction:
        return 0.0
    if rng.random() < 0.45:
        return float(rng.integers(50, 101))
    return float(rng.integers(1, 50))


def _metastasis_tps(rng: np.random.Generator, primary_tps: float) -> float:
    positive = primary_tps >= 1.0
    if rng.random() >= 0.8:
        positive = not positive
    if not positive:
        return 0.0
    if primary_tps >= 1.0:
        logit = math.log(primary_tps / (100.0 - min(primary_tps, 99.0)))
        value = 100.0 / (1.0 + math.exp(-(logit + rng.normal(0.0, 0.8))))
        return float(np.clip(round(value), 1, 100))
    return float(rng.integers(1, 30))


def _cps(rng: np.random.Generator, tps: float) -> float:
    return float(min(100.0, tps + int(rng.integers(0, 21))))


def suspicious_kind(lesions: list[LesionSpec]) -> str:
    """``screening.suspicious_lesion_kind`` from the non-primary lesions' roles."""
    roles = {lesion.role for lesion in lesions if lesion.role != "primary"}
    if roles == {"nodal"}:
        return "nodal"
    if roles == {"distant"}:
        return "distant"
    return "nodal_and_distant" if roles else "none"


def plan_lesions(
    rng: np.random.Generator,
    phantom: Phantom,
    *,
    patient_id: str,
    tumour_type: str,
    profiles: Mapping[str, TracerProfile],
    min_gap_mm: float,
) -> list[LesionSpec]:
    """Draw and place a patient's lesions and their true uptake under every profile."""
    spread = TUMOUR_SPREAD[tumour_type]
    n_other = 1 + int(rng.binomial(7, 0.3))
    metastatic = rng.random() >= 0.25
    primary_tps = _primary_tps(rng, spread.pdl1_positive_fraction)
    wanted: list[tuple[str, str, bool]] = [(str(rng.choice(spread.primary)), "primary", True)]
    malignant_flags = [metastatic and rng.random() < 0.8 for _ in range(n_other)]
    if metastatic and not any(malignant_flags):
        malignant_flags[0] = True
    for malignant in malignant_flags:
        if malignant:
            sites = spread.nodal + spread.distant
            key = str(rng.choice(sites))
        else:
            key = str(rng.choice(spread.nodal + _BENIGN_STATIONS))
        wanted.append((key, PLACEMENTS[key].role, malignant))

    lesions: list[LesionSpec] = []
    placed: list[Ellipsoid] = []
    for key, role, malignant in wanted:
        if role == "primary":
            diameter = float(rng.uniform(15, 40))
        elif malignant:
            diameter = float(rng.uniform(6, 30))
        else:
            diameter = float(rng.uniform(8, 20))
        shape = place_lesion(
            phantom,
            key,
            diameter,
            rng,
            others=placed,
            min_gap_mm=min_gap_mm,
            ellipsoid=bool(rng.random() < 0.5),
        )
        if shape is None:  # the site is full or too small in this patient: try the lung
            key = "lung" if role != "primary" or key != "lung" else "liver"
            shape = place_lesion(
                phantom, key, 12.0, rng, others=placed, min_gap_mm=min_gap_mm, ellipsoid=False
            )
            if shape is None:
                continue
        if malignant:
            tps = primary_tps if role == "primary" else _metastasis_tps(rng, primary_tps)
            lesion_class = (
                LesionClass.PDL1_POSITIVE_MALIGNANT
                if tps >= 1.0
                else LesionClass.PDL1_NEGATIVE_MALIGNANT
            )
            scores: tuple[float | None, float | None] = (tps, _cps(rng, tps))
        else:
            lesion_class, scores = LesionClass.BENIGN_INFLAMMATORY, (None, None)
        deviates = dict(zip(("ga68-dota-blp", "f18-fdg"), correlated_deviates(rng), strict=True))
        uptake_seed = int(rng.integers(2**63))
        series = {}
        for name, profile in profiles.items():
            # A stream per lesion and tracer: adding a tracer leaves the others unchanged.
            own = np.random.default_rng([uptake_seed, zlib.crc32(name.encode())])
            retention = own.standard_normal(max(0, len(profile.uptake_times_min) - 1))
            series[name] = lesion_suv_series(
                profile,
                lesion_class,
                scores[0] or 0.0,
                deviate=deviates.get(name, float(own.standard_normal())),
                retention_deviates=[float(r) for r in retention],
            )
        diameter_mm = 2.0 * math.prod(shape.semi_axes_mm) ** (1.0 / 3.0)
        label = len(lesions) + 1
        lesions.append(
            LesionSpec(
                lesion_id=f"{patient_id}-L{label:02d}",
                label=label,
                role=PLACEMENTS[key].role if role != "primary" else "primary",
                site=PLACEMENTS[key].site,
                placement=key,
                lesion_class=lesion_class,
                malignant=malignant,
                pdl1_tps_pct=scores[0],
                pdl1_cps=scores[1],
                centre_mm=shape.centre_mm,
                semi_axes_mm=shape.semi_axes_mm,
                angle_z_rad=shape.angle_z_rad,
                necrotic_core=bool(diameter_mm >= 25.0 and rng.random() < 0.5),
                texture_seed=int(rng.integers(2**31)),
                suv_series=series,
            )
        )
        placed.append(shape)
    return lesions
