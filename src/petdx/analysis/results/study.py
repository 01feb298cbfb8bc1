"""The study's settings as the results record them: configuration, quantification and radiation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petdx.analysis.results._common import Doc


@dataclass(frozen=True)
class Quantification:
    method: str
    voi_margin_mm: float
    seed_radius_mm: float
    align_scans: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "voi_margin_mm": self.voi_margin_mm,
            "seed_radius_mm": self.seed_radius_mm,
            "align_scans": self.align_scans,
        }

    @classmethod
    def from_dict(cls, d: Doc) -> Quantification:
        return cls(d["method"], d["voi_margin_mm"], d["seed_radius_mm"], d["align_scans"])


@dataclass(frozen=True)
class Radiation:
    """Effective dose of the study's scans per patient. ``ct_included`` None: no scans to
    count (only ``modality`` and ``patients`` = 0 are written)."""

    modality: str
    patients: int
    median_msv: float | None = None
    max_msv: float | None = None
    ct_included: bool | None = None
    lower_bound: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"modality": self.modality, "patients": self.patients}
        if self.ct_included is not None:
            out.update(
                median_msv=self.median_msv,
                max_msv=self.max_msv,
                ct_included=self.ct_included,
                lower_bound=self.lower_bound,
            )
        return out

    @classmethod
    def from_dict(cls, d: Doc) -> Radiation:
        return cls(
            d.get("modality", "PET/CT"),
            d.get("patients", 0),
            d.get("median_msv"),
            d.get("max_msv"),
            d.get("ct_included"),
            d.get("lower_bound"),
        )


@dataclass(frozen=True)
class StudyInfo:
    """The study's design as the analyses used it (``study.toml`` and the datasets)."""

    name: str
    tracer: str
    comparator_tracer: str | None
    time_points_min: tuple[int, ...]
    comparator_time_points_min: tuple[int, ...]
    target_condition: str
    pdl1_score: str
    pdl1_cutoff: float
    visual_score_at_least: int
    suv_max_at_least: float | None
    primary_reader: str | None
    readers: tuple[str, ...]
    quantification: Quantification
    petdx_version: str
    attenuation_correction_methods: tuple[str, ...]
    hybrid_modality: str
    radiation: Radiation

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tracer": self.tracer,
            "comparator_tracer": self.comparator_tracer,
            "time_points_min": list(self.time_points_min),
            "comparator_time_points_min": list(self.comparator_time_points_min),
            "target_condition": self.target_condition,
            "pdl1_score": self.pdl1_score,
            "pdl1_cutoff": self.pdl1_cutoff,
            "visual_score_at_least": self.visual_score_at_least,
            "suv_max_at_least": self.suv_max_at_least,
            "primary_reader": self.primary_reader,
            "readers": list(self.readers),
            "quantification": self.quantification.to_dict(),
            "petdx_version": self.petdx_version,
            "attenuation_correction_methods": list(self.attenuation_correction_methods),
            "hybrid_modality": self.hybrid_modality,
            "radiation": self.radiation.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Doc) -> StudyInfo:
        # Results written before hybrid modality and radiation were recorded read as PET/CT.
        return cls(
            name=d["name"],
            tracer=d["tracer"],
            comparator_tracer=d["comparator_tracer"],
            time_points_min=tuple(d["time_points_min"]),
            comparator_time_points_min=tuple(d["comparator_time_points_min"]),
            target_condition=d["target_condition"],
            pdl1_score=d["pdl1_score"],
            pdl1_cutoff=d["pdl1_cutoff"],
            visual_score_at_least=d["visual_score_at_least"],
            suv_max_at_least=d["suv_max_at_least"],
            primary_reader=d["primary_reader"],
            readers=tuple(d["readers"]),
            quantification=Quantification.from_dict(d["quantification"]),
            petdx_version=d["petdx_version"],
            attenuation_correction_methods=tuple(d.get("attenuation_correction_methods", ())),
            hybrid_modality=d.get("hybrid_modality", "PET/CT"),
            radiation=Radiation.from_dict(d.get("radiation", {})),
        )
