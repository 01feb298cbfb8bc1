"""A reader's volumes of interest: a missed lesion segmented from one seed, a VOI edited with
brush, eraser and threshold operations, and the metrics of any VOI -- all on the PET grid and
all by petdx's own functions (the browser only posts seeds and edits).

Seed (:func:`segment_from_seed`)
    The seed (a voxel index ``(k, j, i)`` of the PET series, or LPS mm) is a lesion source
    of :func:`petdx.quantify.quantify_visit` exactly as in ``petdx quantify --seeds``: its
    region is the sphere of ``seed_radius_mm`` (the study's ``[quantification]
    seed_radius_mm``) around the seed and the lesion is delineated there by the study's
    method (``[quantification] method``, default ``percent:41``: the connected component of
    ``SUV >= 41 % of the sphere's SUVmax`` holding that maximum). A seed whose sphere holds
    no voxel meeting the method is refused. A VOI that reaches the sphere's edge (within a
    voxel) carries a warning: the lesion is larger than the sphere, or its contrast so low
    that the threshold took in background (a lesion of SUVmax 6.5 in a liver of 5.0 fills a
    20 mm sphere at 41 %).

Edits (:func:`parse_edits`, :func:`apply_edits`)
    A JSON list of operations applied in order to the current mask:

    ====================  =====================================================================
    ``brush``             ``{"op": "brush", "centre_zyx": [k, j, i] | "centre_mm": [x, y, z],
                          "radius_mm": r}``: every voxel whose centre is within ``r`` mm of
                          the centre is added (a voxel-sized brush: ``r`` = 0 adds one voxel)
    ``erase``             the same fields: those voxels are removed
    ``threshold``         ``{"op": "threshold", "box_zyx": [[k0, j0, i0], [k1, j1, i1]],
                          "min_suv": t, "max_suv": u (optional)}``: inside the box (corners
                          inclusive) the mask becomes ``t <= SUV <= u``; outside it is kept
    ``mask``              ``{"op": "mask", "shape": [z, y, x], "runs": [[start, length], ...]}``:
                          the whole mask replaced by these runs of the C-order (z, y, x)
                          flattened grid (sorted, not overlapping); :func:`encode_runs` writes it
    ====================  =====================================================================

    Anything else (an unknown op or field, a centre or box outside the grid, a radius outside
    0..:data:`MAX_RADIUS_MM`, a shape other than the grid's, runs past its end, more than
    :data:`MAX_OPERATIONS` operations) is refused with an
    :class:`~petdx.errors.InputValidationError` naming the operation's number, the field and
    the fix; nothing is applied then.

Metrics (:func:`voi_metrics`)
    :func:`petdx.quantify.quantify_lesions` of the mask as one lesion: SUVmax, SUVpeak, SUVmean,
    MTV (``volume_ml``), TLG, TBR against the reference regions given (the study's liver
    reference: :func:`reference_regions`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from petdx.errors import InputValidationError, PetdxError
from petdx.image import Volume
from petdx.quantify.metrics import LesionMetrics, quantify_lesions
from petdx.quantify.pipeline import LesionSource, ReferenceSpec, ScanInput, quantify_visit
from petdx.segment import ReferenceRegion, find_liver_centre, reference_from_centre

__all__ = [
    "MAX_OPERATIONS",
    "MAX_RADIUS_MM",
    "EditOperation",
    "SeedVoi",
    "apply_edits",
    "encode_runs",
    "parse_edits",
    "reference_regions",
    "seed_index",
    "segment_from_seed",
    "voi_metrics",
]

#: Largest brush or eraser radius (mm): a sphere of 50 mm is larger than any lesion a reader
#: outlines by hand; a bigger value is a unit mistake (cm for mm).
MAX_RADIUS_MM = 50.0
#: Most operations in one posted edit (a brush stroke is sent as one operation per dab).
MAX_OPERATIONS = 2000
_OPS = ("brush", "erase", "threshold", "mask")
_FIELDS = {
    "brush": {"op", "centre_zyx", "centre_mm", "radius_mm"},
    "erase": {"op", "centre_zyx", "centre_mm", "radius_mm"},
    "threshold": {"op", "box_zyx", "min_suv", "max_suv"},
    "mask": {"op", "shape", "runs"},
}


@dataclass(frozen=True)
class EditOperation:
    """One validated edit operation (module docstring); indices are on the PET grid."""

    op: str
    centre_zyx: tuple[float, float, float] | None = None
    radius_mm: float = 0.0
    box_zyx: tuple[tuple[int, int, int], tuple[int, int, int]] | None = None
    min_suv: float = -math.inf
    max_suv: float = math.inf
    runs: tuple[tuple[int, int], ...] = ()

    def describe(self) -> str:
        if self.op in ("brush", "erase"):
            assert self.centre_zyx is not None
            centre = ", ".join(f"{v:g}" for v in self.centre_zyx)
            return f"{self.op} r={self.radius_mm:g} mm at voxel ({centre})"
        if self.op == "threshold":
            assert self.box_zyx is not None
            upper = "" if math.isinf(self.max_suv) else f" <= {self.max_suv:g}"
            return f"threshold SUV >= {self.min_suv:g}{upper} in box {list(self.box_zyx)}"
        return f"mask of {sum(n for _, n in self.runs)} voxels"


@dataclass(frozen=True)
class SeedVoi:
    """A lesion segmented from a seed: its mask on the PET grid, metrics and the method."""

    mask: Volume
    metrics: LesionMetrics
    seed_zyx: tuple[int, int, int]
    method: str
    seed_radius_mm: float
    warnings: tuple[str, ...] = ()


def _fail(number: int | None, message: str) -> InputValidationError:
    where = f"edit operation {number}: " if number is not None else "edit: "
    return InputValidationError(where + message)


def _number(value: Any, number: int, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(number, f"{field} {value!r} is not a finite number; give a number.")
    return float(value)


def _triple(value: Any, number: int, field: str) -> tuple[float, float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise _fail(number, f"{field} {value!r}: expected three numbers.")
    a, b, c = (_number(v, number, field) for v in value)
    return (a, b, c)


def _index(value: Any, number: int, field: str, shape: Sequence[int]) -> tuple[int, int, int]:
    k, j, i = _triple(value, number, field)
    index = (round(k), round(j), round(i))
    if any(not 0 <= v < n for v, n in zip(index, shape, strict=True)):
        raise _fail(
            number,
            f"{field} {list(index)} is outside the PET grid (z, y, x) {tuple(shape)}; give a "
            "voxel inside the image.",
        )
    return index


def seed_index(
    suv: Volume,
    *,
    voxel_zyx: Sequence[float] | None = None,
    world_mm: Sequence[float] | None = None,
) -> tuple[int, int, int]:
    """The PET voxel of a seed given as a voxel index ``(k, j, i)`` or in LPS mm (one of
    them); refused when outside the grid."""
    if (voxel_zyx is None) == (world_mm is None):
        raise InputValidationError(
            "seed: give either voxel_zyx (a voxel index of the PET series) or world_mm "
            "(LPS mm), not both and not neither."
        )
    if world_mm is not None:
        x, y, z = _triple(list(world_mm), 0, "world_mm")
        index = suv.patient_mm_to_index(np.asarray([x, y, z], dtype=np.float64))
        voxel_zyx = [float(v) for v in np.asarray(index).ravel()]
    assert voxel_zyx is not None
    try:
        return _index(list(voxel_zyx), 0, "seed", suv.shape)
    except InputValidationError as exc:
        raise InputValidationError(str(exc).replace("edit operation 0: ", "")) from None


def reference_regions(suv: Volume) -> tuple[dict[str, ReferenceRegion], tuple[str, ...]]:
    """The study's reference region on this scan: the liver sphere placed automatically
    (:func:`petdx.segment.find_liver_centre`, as ``petdx run`` places it on the reference
    scan), and the problem when there is no usable liver (then TBR is null)."""
    try:
        centre = find_liver_centre(suv)
        return {"liver": reference_from_centre(suv, "liver", centre, method="auto")}, ()
    except PetdxError as exc:
        return {}, (f"no liver reference: {exc}",)


def segment_from_seed(
    suv: Volume,
    seed_zyx: tuple[int, int, int],
    *,
    method: str = "percent:41",
    seed_radius_mm: float = 20.0,
    references: Mapping[str, ReferenceRegion] | None = None,
) -> SeedVoi:
    """Segment a lesion from one seed by the pipeline's seed path (module docstring)."""
    k, j, i = (int(v) for v in seed_zyx)
    if any(not 0 <= v < n for v, n in zip((k, j, i), suv.shape, strict=True)):
        raise InputValidationError(
            f"seed {[k, j, i]} is outside the PET grid (z, y, x) {suv.shape}; give a voxel "
            "inside the image."
        )
    centre = suv.index_to_patient_mm(np.asarray([k, j, i], dtype=np.float64))
    refs = dict(references or {})
    spec = ReferenceSpec(
        centres_mm={
            tissue: (float(r.centre_mm[0]), float(r.centre_mm[1]), float(r.centre_mm[2]))
            for tissue, r in refs.items()
        }
    )
    result = quantify_visit(
        [ScanInput(suv, "seed", 1.0)],
        LesionSource(seeds_mm=((float(centre[0]), float(centre[1]), float(centre[2])),)),
        method=method,
        references=spec,
        align=False,
        seed_radius_mm=seed_radius_mm,
    )
    point = result.time_points[0]
    if not point.lesions:
        raise InputValidationError(
            f"No lesion found at the seed {[k, j, i]}: no voxel within {seed_radius_mm:g} mm "
            f"met the method {point.method}. Place the seed on the lesion, or draw it with "
            "the brush."
        )
    mask = suv.with_array(np.asarray(point.labels.array) == 1)
    notes = list(point.warnings)
    if not bool(np.asarray(mask.array)[k, j, i]):
        notes.append(
            f"the seed voxel is not in the segmented lesion: the hottest structure within "
            f"{seed_radius_mm:g} mm of it was segmented; check it and edit it if needed"
        )
    reach_mm = _reach_mm(suv, np.asarray(mask.array), centre)
    if reach_mm >= seed_radius_mm - max(suv.spacing_mm):
        notes.append(
            f"the VOI reaches the edge of the {seed_radius_mm:g} mm seed sphere ({reach_mm:.0f} "
            f"mm from the seed): the lesion is larger than the sphere, or its uptake too close "
            f"to its surroundings for {point.method} (the threshold then takes in background); "
            "check it and edit it (brush, eraser, threshold) if needed"
        )
    return SeedVoi(
        mask=mask,
        metrics=point.lesions[0],
        seed_zyx=(k, j, i),
        method=str(point.method),
        seed_radius_mm=float(seed_radius_mm),
        warnings=tuple(notes),
    )


def _reach_mm(
    suv: Volume, inside: npt.NDArray[np.bool_], centre_mm: npt.NDArray[np.float64]
) -> float:
    """The largest distance (mm) from ``centre_mm`` to the centre of a voxel of the mask."""
    voxels = np.argwhere(inside)
    return float(np.linalg.norm(suv.index_to_patient_mm(voxels) - centre_mm, axis=1).max())


def voi_metrics(
    suv: Volume, mask: Volume, references: Mapping[str, ReferenceRegion] | None = None
) -> LesionMetrics:
    """:func:`petdx.quantify.quantify_lesions` of the mask as one lesion (label 1)."""
    inside = np.asarray(mask.array) != 0
    if not inside.any():
        raise InputValidationError(
            "The VOI is empty (every voxel erased); draw the lesion again with the brush or "
            "delete the VOI."
        )
    (metrics,) = quantify_lesions(
        suv, mask.with_array(inside.astype(np.uint8)), references=dict(references or {})
    )
    return metrics


def _runs(value: Any, number: int, size: int) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list):
        raise _fail(number, "runs: expected a list of [start, length] pairs.")
    runs = []
    end = 0
    for n, item in enumerate(value):
        if (
            not isinstance(item, (list, tuple))
            or len(item) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in item)
        ):
            raise _fail(number, f"runs[{n}] {item!r}: expected [start, length] (whole numbers).")
        start, length = int(item[0]), int(item[1])
        if start < end or length < 1:
            raise _fail(
                number,
                f"runs[{n}] [{start}, {length}]: runs must be sorted, not overlap and have a "
                "length of 1 or more.",
            )
        if start + length > size:
            raise _fail(
                number,
                f"runs[{n}] [{start}, {length}] ends at {start + length}, past the grid's "
                f"{size} voxels.",
            )
        runs.append((start, length))
        end = start + length
    return tuple(runs)


def _parse_one(item: Any, number: int, suv: Volume) -> EditOperation:
    if not isinstance(item, dict):
        raise _fail(number, f"{item!r} is not an operation object ({{'op': ...}}).")
    op = item.get("op")
    if op not in _OPS:
        raise _fail(number, f"unknown op {op!r}; expected one of {', '.join(_OPS)}.")
    unknown = sorted(set(item) - _FIELDS[op])
    if unknown:
        raise _fail(
            number,
            f"{op}: unknown field(s) {', '.join(unknown)}; expected "
            f"{', '.join(sorted(_FIELDS[op] - {'op'}))}.",
        )
    shape = suv.shape
    if op in ("brush", "erase"):
        if ("centre_zyx" in item) == ("centre_mm" in item):
            raise _fail(number, f"{op}: give centre_zyx (voxel) or centre_mm (LPS mm), one.")
        if "centre_zyx" in item:
            centre = _index(item["centre_zyx"], number, "centre_zyx", shape)
        else:
            x, y, z = _triple(item["centre_mm"], number, "centre_mm")
            at = np.asarray(suv.patient_mm_to_index(np.asarray([x, y, z]))).ravel()
            centre = _index([float(v) for v in at], number, "centre_mm", shape)
        radius = _number(item.get("radius_mm"), number, "radius_mm")
        if not 0 <= radius <= MAX_RADIUS_MM:
            raise _fail(
                number,
                f"radius_mm {radius:g} is outside 0..{MAX_RADIUS_MM:g} mm; give the brush "
                "radius in mm.",
            )
        return EditOperation(op, centre_zyx=(centre[0], centre[1], centre[2]), radius_mm=radius)
    if op == "threshold":
        box = item.get("box_zyx")
        if not isinstance(box, (list, tuple)) or len(box) != 2:
            raise _fail(number, "box_zyx: expected two corners [[k0, j0, i0], [k1, j1, i1]].")
        low = _index(box[0], number, "box_zyx[0]", shape)
        high = _index(box[1], number, "box_zyx[1]", shape)
        first = (min(low[0], high[0]), min(low[1], high[1]), min(low[2], high[2]))
        last = (max(low[0], high[0]), max(low[1], high[1]), max(low[2], high[2]))
        lower = _number(item.get("min_suv"), number, "min_suv")
        upper = _number(item["max_suv"], number, "max_suv") if "max_suv" in item else math.inf
        if upper < lower:
            raise _fail(number, f"max_suv {upper:g} is below min_suv {lower:g}.")
        return EditOperation(op, box_zyx=(first, last), min_suv=lower, max_suv=upper)
    given = item.get("shape")
    if not isinstance(given, list) or [int(v) for v in given if isinstance(v, int)] != list(shape):
        raise _fail(
            number,
            f"mask: shape {given!r} is not the PET grid's (z, y, x) {list(shape)}; encode the "
            "mask on the PET series' grid.",
        )
    return EditOperation(op, runs=_runs(item.get("runs"), number, int(np.prod(shape))))


def parse_edits(operations: Any, suv: Volume) -> tuple[EditOperation, ...]:
    """Validate a posted list of edit operations against the PET grid (module docstring)."""
    if not isinstance(operations, list) or not operations:
        raise _fail(None, "operations: expected a non-empty list of edit operations.")
    if len(operations) > MAX_OPERATIONS:
        raise _fail(
            None,
            f"{len(operations)} operations: at most {MAX_OPERATIONS} per edit; post the rest "
            "as another edit.",
        )
    return tuple(_parse_one(item, n, suv) for n, item in enumerate(operations, start=1))


def _ball(suv: Volume, centre: tuple[float, float, float], radius_mm: float) -> tuple[Any, Any]:
    """The box around a sphere and the voxels in it whose centre is within the radius."""
    spacing = np.asarray(suv.spacing_mm)
    reach = np.ceil(radius_mm / spacing).astype(int) + 1
    at = np.asarray(centre, dtype=int)
    low = np.maximum(at - reach, 0)
    high = np.minimum(at + reach + 1, suv.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    grid = np.stack(
        np.meshgrid(*(np.arange(a, b) for a, b in zip(low, high, strict=True)), indexing="ij"),
        axis=-1,
    ).astype(np.float64)
    points = suv.index_to_patient_mm(grid)
    centre_mm = suv.index_to_patient_mm(np.asarray(centre, dtype=np.float64))
    inside = np.linalg.norm(points - centre_mm, axis=-1) <= radius_mm + 1e-6
    return box, inside


def apply_edits(suv: Volume, mask: Volume | None, operations: Sequence[EditOperation]) -> Volume:
    """The mask after the operations, in order (``mask`` None: start from an empty mask)."""
    out: npt.NDArray[np.bool_] = (
        np.zeros(suv.shape, dtype=bool) if mask is None else np.asarray(mask.array) != 0
    ).copy()
    values = np.asarray(suv.array)
    for operation in operations:
        if operation.op in ("brush", "erase"):
            assert operation.centre_zyx is not None
            box, inside = _ball(suv, operation.centre_zyx, operation.radius_mm)
            target = out[box]
            target[inside] = operation.op == "brush"
        elif operation.op == "threshold":
            assert operation.box_zyx is not None
            first, last = operation.box_zyx
            box = tuple(slice(a, b + 1) for a, b in zip(first, last, strict=True))
            region = values[box]
            out[box] = (region >= operation.min_suv) & (region <= operation.max_suv)
        else:
            flat = np.zeros(out.size, dtype=bool)
            for start, length in operation.runs:
                flat[start : start + length] = True
            out = flat.reshape(out.shape)
    return suv.with_array(out)


def encode_runs(mask: Volume | npt.NDArray[np.generic]) -> list[list[int]]:
    """The mask as ``[start, length]`` runs of its C-order flattened grid (the ``mask`` edit)."""
    array = np.asarray(mask.array if isinstance(mask, Volume) else mask) != 0
    flat = np.concatenate(([False], array.ravel(), [False]))
    changes = np.flatnonzero(flat[1:] != flat[:-1])
    starts, ends = changes[::2], changes[1::2]
    return [[int(a), int(b - a)] for a, b in zip(starts, ends, strict=True)]
