"""Tracer profiles: what a radiopharmaceutical does in the body, as one TOML file per tracer.

A profile holds the nuclide, the administered activity rule, the acquisition time points, the
effective-dose coefficient with its source, the mean SUV of each normal organ at each
tabulated time point, and lesion classes (PD-L1-positive malignant, PD-L1-negative
malignant, benign inflammatory) with their SUV distributions, PD-L1 dependence and
retention. The simulator draws its images from it; the study database reads the dose
coefficient for the 50 mSv/year criterion. Profiles shipped with petdx live beside this
module (``ga68-dota-blp.toml``, ``f18-fdg.toml``); any other file can be given by path.

Lesion uptake model (per lesion, per time point ``t`` of the profile's ``uptake.times_min``)::

    SUV(t) = suv_median[t] * (1 + pdl1_tps_gain * TPS / 100) * gsd ** z * R(t)

with ``z ~ N(0, 1)`` drawn once per lesion and ``R`` a product of independent log-normal
factors of geometric SD ``retention_gsd`` (median 1), one per step between consecutive
tabulated times (``R = 1`` at the first). Values between tabulated times are interpolated
linearly in ``log(SUV)``; times outside the tabulated range are refused.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from petdx.errors import InputValidationError
from petdx.fileio import PATH_COMPONENT, path_component_problem
from petdx.nuclides import NUCLIDES, Nuclide

__all__ = [
    "ORGANS",
    "LesionClass",
    "LesionClassProfile",
    "OrganUptake",
    "SourceReference",
    "TracerProfile",
    "available_tracers",
    "load_tracer_profile",
]

#: Normal organs every profile must tabulate (the simulator's phantom paints each of them).
ORGANS: tuple[str, ...] = (
    "blood_pool",
    "liver",
    "spleen",
    "kidneys",
    "bladder",
    "small_intestine",
    "lung",
    "muscle",
    "bone_marrow",
    "brain",
    "fat",
    "myocardium",
)

_SCHEMA_VERSION = 1


class LesionClass(StrEnum):
    """Simulated lesion biology (values of ``lesions.lesion_class`` in the data dictionary)."""

    PDL1_POSITIVE_MALIGNANT = "pdl1_positive_malignant"
    PDL1_NEGATIVE_MALIGNANT = "pdl1_negative_malignant"
    BENIGN_INFLAMMATORY = "benign_inflammatory"


@dataclass(frozen=True)
class SourceReference:
    """A publication a profile's numbers come from."""

    citation: str
    used_for: str
    doi: str | None = None

    def __str__(self) -> str:
        doi = f" doi:{self.doi}" if self.doi else ""
        return f"{self.citation}{doi} — {self.used_for}"


@dataclass(frozen=True)
class OrganUptake:
    """Mean SUVbw of a normal organ at each tabulated time point.

    Attributes
    ----------
    name
        Organ name (one of :data:`ORGANS`).
    suv_mean
        Mean SUVbw (g/ml) at each of the profile's ``uptake_times_min``.
    texture_cv
        Coefficient of variation of the smooth texture simulated inside the organ
        (true structure, before resolution and noise), 0 to 0.25; 0 for a uniform organ.
    """

    name: str
    suv_mean: tuple[float, ...]
    texture_cv: float


@dataclass(frozen=True)
class LesionClassProfile:
    """Uptake distribution of one lesion class (see the module docstring for the model).

    Attributes
    ----------
    lesion_class
        The class.
    malignant
        Whether lesions of the class are malignant.
    suv_median
        Median mean-SUVbw of the class at TPS 0, at each of the profile's uptake times.
    pdl1_tps_gain
        Relative uptake increase per 100 % PD-L1 tumour proportion score.
    gsd
        Geometric standard deviation between lesions (log-normal spread), >= 1.
    retention_gsd
        Geometric SD of the lesion-to-lesion variation of the ratio between consecutive
        tabulated times, >= 1.
    description
        What the class stands for.
    """

    lesion_class: LesionClass
    malignant: bool
    suv_median: tuple[float, ...]
    pdl1_tps_gain: float
    gsd: float
    retention_gsd: float
    description: str


@dataclass(frozen=True)
class TracerProfile:
    """A tracer profile loaded from TOML (see :func:`load_tracer_profile`).

    Attributes
    ----------
    name
        Short identifier (``ga68-dota-blp``), used in folder names and CSV ``tracer`` cells.
    radiopharmaceutical
        Display name written to DICOM Radiopharmaceutical (0018,0031).
    nuclide
        The radionuclide.
    status
        ``assumed`` (no measured data yet), ``typical`` or ``measured``.
    description
        What the tracer is and how the profile models it.
    activity_mbq_per_kg, activity_max_mbq, activity_min_mbq
        Administered activity rule: weight x MBq/kg, clipped to [min, max] MBq.
    time_points_min
        Default acquisition times after injection (min).
    bed_duration_s
        Acquisition time per bed position at each default time point (s).
    effective_dose_msv_per_mbq
        Adult effective dose per administered activity (mSv/MBq).
    dosimetry_source
        Where the dose coefficient comes from, or why it is assumed.
    uptake_times_min
        Times (min) at which organ and lesion SUVs are tabulated, increasing.
    organs
        Normal-organ uptake by organ name.
    lesion_classes
        Lesion-class uptake by class.
    sources
        Publications behind the numbers.
    path
        The file the profile was read from.
    """

    name: str
    radiopharmaceutical: str
    nuclide: Nuclide
    status: str
    description: str
    activity_mbq_per_kg: float
    activity_max_mbq: float
    activity_min_mbq: float
    time_points_min: tuple[int, ...]
    bed_duration_s: tuple[float, ...]
    effective_dose_msv_per_mbq: float
    dosimetry_source: str
    uptake_times_min: tuple[int, ...]
    organs: Mapping[str, OrganUptake] = field(repr=False)
    lesion_classes: Mapping[LesionClass, LesionClassProfile] = field(repr=False)
    sources: tuple[SourceReference, ...] = field(repr=False)
    path: Path = field(repr=False)

    def administered_activity_mbq(self, body_weight_kg: float) -> float:
        """Activity to inject (MBq): ``weight * mbq_per_kg`` clipped to [min, max]."""
        if not body_weight_kg > 0:
            raise InputValidationError(
                f"Tracer {self.name}: body weight must be positive (kg); got {body_weight_kg}."
            )
        raw = body_weight_kg * self.activity_mbq_per_kg
        return float(min(self.activity_max_mbq, max(self.activity_min_mbq, raw)))

    def bed_duration_at_s(self, time_min: float) -> float:
        """Time per bed position at an acquisition time: the value of the nearest default
        time point (s)."""
        distances = [abs(t - time_min) for t in self.time_points_min]
        return self.bed_duration_s[distances.index(min(distances))]

    def _interpolate(self, values: Sequence[float], time_min: float, what: str) -> float:
        times = self.uptake_times_min
        if not times[0] <= time_min <= times[-1]:
            raise InputValidationError(
                f"Tracer profile {self.name} ({self.path}): {what} is tabulated from "
                f"{times[0]} to {times[-1]} min after injection; {time_min:g} min is outside. "
                "Choose a time point in that range or extend [uptake] times_min in the profile."
            )
        for k in range(len(times) - 1):
            t0, t1 = times[k], times[k + 1]
            if t0 <= time_min <= t1:
                w = (time_min - t0) / (t1 - t0)
                return math.exp((1 - w) * math.log(values[k]) + w * math.log(values[k + 1]))
        return float(values[-1])  # a single tabulated time equal to time_min

    def organ_suv(self, organ: str, time_min: float) -> float:
        """Mean SUVbw of a normal organ at ``time_min`` minutes after injection.

        Raises
        ------
        InputValidationError
            Unknown organ, or a time outside the tabulated range.
        """
        if organ not in self.organs:
            raise InputValidationError(
                f"Tracer profile {self.name}: no organ {organ!r}; organs are "
                f"{', '.join(self.organs)}."
            )
        return self._interpolate(self.organs[organ].suv_mean, time_min, f"organ {organ}")

    def lesion_suv_median(
        self, lesion_class: str | LesionClass, time_min: float, *, pdl1_tps_pct: float = 0.0
    ) -> float:
        """Median mean-SUVbw of a lesion class at ``time_min`` for a PD-L1 TPS (percent)."""
        profile = self.lesion_classes[LesionClass(lesion_class)]
        base = self._interpolate(profile.suv_median, time_min, f"lesion class {lesion_class}")
        return base * (1.0 + profile.pdl1_tps_gain * pdl1_tps_pct / 100.0)

    def interpolation_weights(self, time_min: float) -> tuple[int, int, float]:
        """``(k0, k1, w)`` such that a tabulated series ``v`` at ``time_min`` is
        ``exp((1-w) log v[k0] + w log v[k1])``; validates the time."""
        self._interpolate([1.0] * len(self.uptake_times_min), time_min, "uptake (SUV)")
        times = self.uptake_times_min
        for k in range(len(times) - 1):
            if times[k] <= time_min <= times[k + 1]:
                return k, k + 1, (time_min - times[k]) / (times[k + 1] - times[k])
        return 0, 0, 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (numbers and sources, no file contents)."""
        return {
            "name": self.name,
            "radiopharmaceutical": self.radiopharmaceutical,
            "nuclide": self.nuclide.symbol,
            "status": self.status,
            "activity_mbq_per_kg": self.activity_mbq_per_kg,
            "activity_max_mbq": self.activity_max_mbq,
            "activity_min_mbq": self.activity_min_mbq,
            "time_points_min": list(self.time_points_min),
            "bed_duration_s": list(self.bed_duration_s),
            "effective_dose_msv_per_mbq": self.effective_dose_msv_per_mbq,
            "dosimetry_source": self.dosimetry_source,
            "uptake_times_min": list(self.uptake_times_min),
            "organs": {k: list(v.suv_mean) for k, v in self.organs.items()},
            "lesion_classes": {
                k.value: {
                    "malignant": v.malignant,
                    "suv_median": list(v.suv_median),
                    "pdl1_tps_gain": v.pdl1_tps_gain,
                    "gsd": v.gsd,
                    "retention_gsd": v.retention_gsd,
                }
                for k, v in self.lesion_classes.items()
            },
            "sources": [str(s) for s in self.sources],
            "path": str(self.path),
        }

    def __str__(self) -> str:
        times = ", ".join(str(t) for t in self.time_points_min)
        return (
            f"{self.name} ({self.radiopharmaceutical}, {self.nuclide.symbol}, {self.status}): "
            f"{self.activity_mbq_per_kg:g} MBq/kg in [{self.activity_min_mbq:g}, "
            f"{self.activity_max_mbq:g}] MBq, scans at {times} min, "
            f"{self.effective_dose_msv_per_mbq:g} mSv/MBq"
        )


# --------------------------------------------------------------------------- loading


class _Reader:
    """Typed access to a parsed TOML document with errors naming the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str, found: object) -> InputValidationError:
        shown = "nothing (the key is missing)" if found is _MISSING else repr(found)
        return InputValidationError(
            f"Tracer profile {self.path}: key {key!r} must be {expected}; found {shown}. "
            "Fix the file (see src/petdx/tracers/ga68-dota-blp.toml for a complete example)."
        )

    @staticmethod
    def get(table: Mapping[str, Any], key: str) -> Any:
        return table.get(key, _MISSING)

    def table(self, table: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        value = self.get(table, key)
        if not isinstance(value, dict):
            raise self.fail(_join(where, key), "a table", value)
        return value

    def string(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = self.get(table, key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(where, key), "a non-empty string", value)
        return value.strip()

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        *,
        low: float,
        high: float,
        low_open: bool = False,
    ) -> float:
        value = self.get(table, key)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            ok = (value > low if low_open else value >= low) and value <= high
        if not ok:
            bracket = "(" if low_open else "["
            raise self.fail(_join(where, key), f"a number in {bracket}{low:g}, {high:g}]", value)
        return float(value)

    def numbers(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        *,
        length: int | None,
        low: float,
        high: float,
        low_open: bool = False,
    ) -> tuple[float, ...]:
        value = self.get(table, key)
        name = _join(where, key)
        expected = f"a list of {length} numbers" if length else "a non-empty list of numbers"
        bracket = "(" if low_open else "["
        expected += f" in {bracket}{low:g}, {high:g}]"
        if not isinstance(value, list) or not value or (length and len(value) != length):
            raise self.fail(name, expected, value)
        for item in value:
            ok = isinstance(item, int | float) and not isinstance(item, bool)
            if not ok or not ((item > low if low_open else item >= low) and item <= high):
                raise self.fail(name, expected, value)
        return tuple(float(v) for v in value)

    def boolean(self, table: Mapping[str, Any], key: str, where: str) -> bool:
        value = self.get(table, key)
        if not isinstance(value, bool):
            raise self.fail(_join(where, key), "true or false", value)
        return value


_MISSING = object()


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _times(reader: _Reader, table: Mapping[str, Any], key: str, where: str) -> tuple[int, ...]:
    values = reader.numbers(table, key, where, length=None, low=1, high=1440)
    if any(v != int(v) for v in values) or any(b <= a for a, b in itertools.pairwise(values)):
        raise reader.fail(_join(where, key), "whole minutes in increasing order", table.get(key))
    return tuple(int(v) for v in values)


def _organs(reader: _Reader, doc: Mapping[str, Any], n_times: int) -> dict[str, OrganUptake]:
    organs = reader.table(doc, "organs", "")
    missing = [name for name in ORGANS if name not in organs]
    if missing:
        raise reader.fail(f"organs.{missing[0]}", "a table (every organ in ORGANS)", _MISSING)
    unknown = sorted(set(organs) - set(ORGANS))
    if unknown:
        raise InputValidationError(
            f"Tracer profile {reader.path}: unknown organ table organs.{unknown[0]}; the "
            f"phantom has {', '.join(ORGANS)}. Remove or rename it."
        )
    result = {}
    for name in ORGANS:
        where = f"organs.{name}"
        entry = reader.table(organs, name, "organs")
        result[name] = OrganUptake(
            name=name,
            suv_mean=reader.numbers(
                entry, "suv_mean", where, length=n_times, low=0, high=1000, low_open=True
            ),
            texture_cv=reader.number(entry, "texture_cv", where, low=0, high=0.25),
        )
    return result


def _lesion_classes(
    reader: _Reader, doc: Mapping[str, Any], n_times: int
) -> dict[LesionClass, LesionClassProfile]:
    classes = reader.table(doc, "lesion_classes", "")
    result = {}
    for lesion_class in LesionClass:
        where = f"lesion_classes.{lesion_class.value}"
        entry = reader.table(classes, lesion_class.value, "lesion_classes")
        result[lesion_class] = LesionClassProfile(
            lesion_class=lesion_class,
            malignant=reader.boolean(entry, "malignant", where),
            suv_median=reader.numbers(
                entry, "suv_median", where, length=n_times, low=0, high=1000, low_open=True
            ),
            pdl1_tps_gain=reader.number(entry, "pdl1_tps_gain", where, low=0, high=100),
            gsd=reader.number(entry, "gsd", where, low=1, high=5),
            retention_gsd=reader.number(entry, "retention_gsd", where, low=1, high=5),
            description=reader.string(entry, "description", where),
        )
    unknown = sorted(set(classes) - {c.value for c in LesionClass})
    if unknown:
        raise InputValidationError(
            f"Tracer profile {reader.path}: unknown lesion class lesion_classes.{unknown[0]}; "
            f"the classes are {', '.join(c.value for c in LesionClass)}."
        )
    return result


def _sources(reader: _Reader, doc: Mapping[str, Any]) -> tuple[SourceReference, ...]:
    value = doc.get("sources", _MISSING)
    if not isinstance(value, list) or not value:
        raise reader.fail("sources", "a non-empty array of tables ([[sources]])", value)
    result = []
    for k, entry in enumerate(value):
        where = f"sources[{k}]"
        if not isinstance(entry, dict):
            raise reader.fail(where, "a table with citation and used_for", entry)
        doi = entry.get("doi")
        if doi is not None and not isinstance(doi, str):
            raise reader.fail(f"{where}.doi", "a string", doi)
        result.append(
            SourceReference(
                citation=reader.string(entry, "citation", where),
                used_for=reader.string(entry, "used_for", where),
                doi=doi,
            )
        )
    return tuple(result)


def _parse(path: Path, doc: Mapping[str, Any]) -> TracerProfile:
    reader = _Reader(path)
    version = doc.get("schema_version", _MISSING)
    if version != _SCHEMA_VERSION:
        raise reader.fail("schema_version", str(_SCHEMA_VERSION), version)
    symbol = reader.string(doc, "nuclide", "")
    if symbol not in NUCLIDES:
        raise reader.fail("nuclide", f"one of {', '.join(NUCLIDES)}", symbol)
    activity = reader.table(doc, "activity", "")
    acquisition = reader.table(doc, "acquisition", "")
    dosimetry = reader.table(doc, "dosimetry", "")
    uptake = reader.table(doc, "uptake", "")
    status = reader.string(doc, "status", "")
    if status not in ("assumed", "typical", "measured"):
        raise reader.fail("status", "assumed, typical or measured", status)

    time_points = _times(reader, acquisition, "time_points_min", "acquisition")
    beds = reader.numbers(
        acquisition,
        "bed_duration_s",
        "acquisition",
        length=len(time_points),
        low=1,
        high=3600,
    )
    uptake_times = _times(reader, uptake, "times_min", "uptake")
    outside = [t for t in time_points if not uptake_times[0] <= t <= uptake_times[-1]]
    if outside:
        raise reader.fail(
            "acquisition.time_points_min",
            f"times within uptake.times_min ({uptake_times[0]} to {uptake_times[-1]} min)",
            list(time_points),
        )
    low_mbq = reader.number(activity, "min_mbq", "activity", low=0, high=20000)
    high_mbq = reader.number(activity, "max_mbq", "activity", low=0, high=20000, low_open=True)
    if low_mbq > high_mbq:
        raise reader.fail("activity.min_mbq", f"at most activity.max_mbq ({high_mbq:g})", low_mbq)
    name = reader.string(doc, "name", "")
    if path_component_problem(name) is not None:  # it names folders (derived scans, simulate)
        raise reader.fail(
            "name", f"a profile name that can name a folder ({PATH_COMPONENT.pattern})", name
        )
    return TracerProfile(
        name=name,
        radiopharmaceutical=reader.string(doc, "radiopharmaceutical", ""),
        nuclide=NUCLIDES[symbol],
        status=status,
        description=" ".join(reader.string(doc, "description", "").split()),
        activity_mbq_per_kg=reader.number(
            activity, "mbq_per_kg", "activity", low=0, high=100, low_open=True
        ),
        activity_max_mbq=high_mbq,
        activity_min_mbq=low_mbq,
        time_points_min=time_points,
        bed_duration_s=beds,
        effective_dose_msv_per_mbq=reader.number(
            dosimetry, "effective_dose_msv_per_mbq", "dosimetry", low=0, high=10, low_open=True
        ),
        dosimetry_source=" ".join(reader.string(dosimetry, "source", "dosimetry").split()),
        uptake_times_min=uptake_times,
        organs=_organs(reader, doc, len(uptake_times)),
        lesion_classes=_lesion_classes(reader, doc, len(uptake_times)),
        sources=_sources(reader, doc),
        path=path,
    )


def _packaged(name: str) -> Path:
    return Path(str(resources.files("petdx.tracers").joinpath(f"{name}.toml")))


def available_tracers() -> tuple[str, ...]:
    """Names of the profiles shipped with petdx."""
    folder = resources.files("petdx.tracers")
    return tuple(
        sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))
    )


def load_tracer_profile(name_or_path: str | Path) -> TracerProfile:
    """Load a tracer profile by name (a profile shipped with petdx) or from a TOML file.

    Parameters
    ----------
    name_or_path
        ``"ga68-dota-blp"``, ``"f18-fdg"`` (see :func:`available_tracers`), or the path of a
        ``.toml`` file with the same layout.

    Returns
    -------
    TracerProfile

    Raises
    ------
    InputValidationError
        Unknown name, unreadable or invalid TOML, or a key that is missing or out of range;
        the message names the file and the key.

    References
    ----------
    TOML v1.0.0, https://toml.io/en/v1.0.0 (parsed with :mod:`tomllib`).
    """
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text
    if looks_like_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise InputValidationError(
                f"Tracer profile {path}: no such file. Give the path of a .toml profile or one "
                f"of the shipped names: {', '.join(available_tracers())}."
            )
    else:
        if text not in available_tracers():
            raise InputValidationError(
                f"Unknown tracer {text!r}: the shipped profiles are "
                f"{', '.join(available_tracers())}; or give the path of a .toml profile."
            )
        path = _packaged(text)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputValidationError(
            f"Tracer profile {path}: not valid TOML ({exc}). Fix the syntax."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputValidationError(f"Tracer profile {path}: cannot be read ({exc}).") from None
    return _parse(path, doc)
