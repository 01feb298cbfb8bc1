"""Report figures with matplotlib: clear in print, grayscale-safe, axes labelled with units.

Series are told apart by line style and marker, not only by colour; fills are light grey.
Functions take plain data (arrays and small dataclasses) and return a
:class:`matplotlib.figure.Figure` built without pyplot (no global state, safe in worker
processes); :func:`figure_png` turns it into PNG bytes for embedding.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

__all__ = [
    "CurveBand",
    "KaplanMeierCurve",
    "RocCurve",
    "box_figure",
    "figure_pdf",
    "figure_png",
    "figure_svg",
    "forest_figure",
    "kaplan_meier_figure",
    "mip_figure",
    "mip_window",
    "paired_figure",
    "roc_figure",
    "roc_path",
    "scatter_figure",
]

_STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1, 1, 1)), "v")]
_GREYS = ["0.0", "0.35", "0.55", "0.2", "0.45"]
_FONT = 8


def _ax(fig: Figure, *, rect: tuple[float, float, float, float] | None = None):  # type: ignore[no-untyped-def]
    ax = fig.add_axes(rect) if rect else fig.add_subplot(1, 1, 1)
    ax.tick_params(labelsize=_FONT)
    ax.grid(True, color="0.88", linewidth=0.6)
    ax.set_axisbelow(True)
    return ax


#: Print resolution of the report's PNG figures (journals ask for at least 300 dpi).
PNG_DPI = 300


def figure_png(fig: Figure, *, dpi: int = PNG_DPI) -> bytes:
    """The figure as PNG bytes (tight bounding box, white background); the resolution is
    stored in the file (pHYs), so the PNG prints at the figure's size."""
    return _save(fig, "png", dpi=dpi)


def figure_svg(fig: Figure) -> bytes:
    """The figure as SVG (vector; text kept as text in DejaVu Sans, so it stays editable)."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "petdx"}):
        return _save(fig, "svg", metadata={"Date": None})


def figure_pdf(fig: Figure) -> bytes:
    """The figure as PDF (vector, fonts embedded as Type 42)."""
    import matplotlib

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        return _save(fig, "pdf", metadata={"CreationDate": None, "ModDate": None})


def _save(fig: Figure, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, bbox_inches="tight", facecolor="white", **kwargs)  # type: ignore[arg-type]
    return buffer.getvalue()


def _wrap(label: str, width: int = 14) -> str:
    """A long category label over several lines, so neighbouring labels do not overlap."""
    import textwrap

    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False)) or label


@dataclass(frozen=True)
class CurveBand:
    """A confidence band sampled on a common x grid."""

    x: npt.NDArray[np.float64]
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]


@dataclass(frozen=True)
class RocCurve:
    """One ROC curve: false-positive fraction and sensitivity, legend label, optional band and
    an operating point (the flagged cut-off)."""

    label: str
    fpr: npt.NDArray[np.float64]
    tpr: npt.NDArray[np.float64]
    band: CurveBand | None = None
    point: tuple[float, float] | None = None
    point_label: str | None = None


def roc_path(
    fpr: npt.ArrayLike, tpr: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The empirical ROC curve through its operating points: sorted from (0, 0) to (1, 1).

    Consecutive operating points are joined by straight segments. Where a threshold moves
    both fractions at once (tied or ordinal scores, e.g. a 1-5 visual score) the segment is a
    diagonal, and the area under the joined points is the Mann-Whitney AUC (Bamber 1975,
    doi:10.1016/0022-2496(75)90001-2; Hanley and McNeil 1982, doi:10.1148/radiology.143.1.7063747).
    A staircase drawn through the same points encloses less than that area.
    """
    x = np.asarray(fpr, dtype=float)
    y = np.asarray(tpr, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x = np.concatenate(([0.0], x[keep], [1.0]))
    y = np.concatenate(([0.0], y[keep], [1.0]))
    order = np.lexsort((y, x))
    return x[order], y[order]


def roc_figure(curves: Sequence[RocCurve], *, title: str) -> Figure:
    """ROC curves (1 - specificity on x, sensitivity on y) with optional CI bands.

    Each curve joins its operating points by straight segments (:func:`roc_path`), so the
    drawn area is the AUC the legend states, for continuous and for ordinal scores alike.
    """
    fig = Figure(figsize=(4.6, 4.4))
    ax = _ax(fig)
    ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle=":", label="chance")
    for k, curve in enumerate(curves):
        style, marker = _STYLES[k % len(_STYLES)]
        grey = _GREYS[k % len(_GREYS)]
        if curve.band is not None:
            ax.fill_between(
                curve.band.x,
                curve.band.lower,
                curve.band.upper,
                color=grey,
                alpha=0.15,
                linewidth=0,
            )
        ax.plot(
            *roc_path(curve.fpr, curve.tpr),
            color=grey,
            linestyle=style,
            linewidth=1.4,
            label=curve.label,
        )
        if curve.point is not None:
            ax.plot(
                *curve.point,
                marker=marker,
                color=grey,
                markersize=6,
                markerfacecolor="white",
                linestyle="none",
                label=curve.point_label,
            )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("1 − specificity (false-positive fraction)", fontsize=_FONT)
    ax.set_ylabel("Sensitivity (true-positive fraction)", fontsize=_FONT)
    ax.set_title(title, fontsize=_FONT + 1)
    ax.set_aspect("equal")
    ax.legend(fontsize=_FONT - 1, loc="lower right", frameon=True)
    return fig


@dataclass(frozen=True)
class KaplanMeierCurve:
    """A Kaplan-Meier step function with pointwise CI and censoring marks."""

    label: str
    times: npt.NDArray[np.float64]
    survival: npt.NDArray[np.float64]
    lower: npt.NDArray[np.float64] | None = None
    upper: npt.NDArray[np.float64] | None = None
    censor_times: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    at_risk: tuple[int, ...] = ()
    at_risk_label: str | None = None


def kaplan_meier_figure(
    curves: Sequence[KaplanMeierCurve],
    *,
    title: str,
    time_unit: str,
    ylabel: str,
    at_risk_times: Sequence[float] = (),
    annotation: str | None = None,
) -> Figure:
    """Kaplan-Meier curves with CI bands and a numbers-at-risk table under the axes, its
    columns under the x-axis ticks (placed at ``at_risk_times``)."""
    n_rows = len(curves) if at_risk_times else 0
    fig = Figure(figsize=(6.4, 4.2 + 0.22 * n_rows))
    bottom = 0.16 + 0.055 * n_rows
    left = 0.24 if at_risk_times else 0.12
    ax = _ax(fig, rect=(left, bottom, 0.96 - left, 0.92 - bottom))
    for k, curve in enumerate(curves):
        style, _ = _STYLES[k % len(_STYLES)]
        grey = _GREYS[k % len(_GREYS)]
        t = np.concatenate([[0.0], curve.times])
        s = np.concatenate([[1.0], curve.survival])
        if curve.lower is not None and curve.upper is not None:
            lo = np.concatenate([[1.0], curve.lower])
            hi = np.concatenate([[1.0], curve.upper])
            ax.fill_between(t, lo, hi, step="post", color=grey, alpha=0.12, linewidth=0)
        ax.step(t, s, where="post", color=grey, linestyle=style, linewidth=1.4, label=curve.label)
        if curve.censor_times.size:
            idx = np.searchsorted(t, curve.censor_times, side="right") - 1
            ax.plot(
                curve.censor_times,
                s[np.clip(idx, 0, len(s) - 1)],
                marker="|",
                color=grey,
                linestyle="none",
                markersize=7,
            )
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(left=0)
    if at_risk_times:
        # the numbers at risk sit under labelled ticks at the same times (a table under
        # ticks at other times cannot be read)
        ax.set_xticks(list(at_risk_times))
        ax.set_xlim(0, max(ax.get_xlim()[1], max(at_risk_times)))
    ax.set_ylabel(ylabel, fontsize=_FONT)
    ax.set_xlabel(f"Time since PET ({time_unit})", fontsize=_FONT)
    ax.set_title(title, fontsize=_FONT + 1)
    ax.legend(fontsize=_FONT - 1, loc="lower left")
    if annotation:
        ax.text(
            0.98, 0.97, annotation, transform=ax.transAxes, ha="right", va="top", fontsize=_FONT - 1
        )
    if at_risk_times:
        fig.text(0.01, bottom - 0.1, "Numbers at risk", fontsize=_FONT - 1, weight="bold")
        x_min, x_max = ax.get_xlim()
        for row, curve in enumerate(curves):
            y = bottom - 0.13 - 0.05 * row
            fig.text(0.01, y, curve.at_risk_label or curve.label[:24], fontsize=_FONT - 1)
            for t_value, n in zip(at_risk_times, curve.at_risk, strict=False):
                if x_min <= t_value <= x_max:
                    x = left + (0.96 - left) * (t_value - x_min) / (x_max - x_min)
                    fig.text(x, y, str(n), fontsize=_FONT - 1, ha="center")
    return fig


def forest_figure(
    rows: Sequence[tuple[str, float, float, float]], *, title: str, xlabel: str
) -> Figure:
    """Forest plot of ratios (label, estimate, lower, upper) on a log axis with a line at 1."""
    fig = Figure(figsize=(5.6, 0.9 + 0.36 * len(rows)))
    ax = _ax(fig)
    y = np.arange(len(rows))[::-1]
    for yi, (_, est, lo, hi) in zip(y, rows, strict=True):
        ax.plot([lo, hi], [yi, yi], color="black", linewidth=1.2)
        ax.plot(est, yi, marker="s", color="black", markersize=5)
    ax.axvline(1.0, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows], fontsize=_FONT)
    ax.set_xlabel(xlabel, fontsize=_FONT)
    ax.set_title(title, fontsize=_FONT + 1)
    return fig


def interval_figure(
    points: Sequence[tuple[str, float, float, float]], *, ylabel: str, title: str
) -> Figure:
    """Per-unit estimates with intervals (group, estimate, low, high), sorted by estimate,
    one colour per group, a line at 0 (the per-lesion retention plot of issue 17)."""
    fig = Figure(figsize=(5.6, 3.6))
    ax = _ax(fig)
    order = sorted(range(len(points)), key=lambda i: points[i][1])
    groups = list(dict.fromkeys(p[0] for p in points))
    colours = {g: f"C{k}" for k, g in enumerate(groups)}
    for x, i in enumerate(order):
        group, est, lo, hi = points[i]
        ax.plot([x, x], [lo, hi], color=colours[group], linewidth=0.8)
        ax.plot(x, est, marker="o", color=colours[group], markersize=2.5)
    for g in groups:
        ax.plot([], [], marker="o", color=colours[g], label=g)
    ax.axhline(0.0, color="0.4", linestyle="--", linewidth=0.8)
    ax.set_xticks([])
    ax.set_xlabel("lesions, by retention index", fontsize=_FONT)
    ax.set_ylabel(ylabel, fontsize=_FONT)
    ax.set_title(title, fontsize=_FONT + 1)
    if groups:
        ax.legend(fontsize=_FONT - 1, frameon=False)
    return fig


def paired_figure(
    groups: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike]],
    *,
    labels: tuple[str, str],
    ylabel: str,
    title: str,
) -> Figure:
    """Paired values (e.g. SUVmax at 60 and 120 min) as lines per lesion, one panel per group."""
    fig = Figure(figsize=(2.0 * max(len(groups), 1) + 0.6, 3.8), layout="constrained")
    for k, (name, first, second) in enumerate(groups):
        ax = fig.add_subplot(1, len(groups), k + 1)
        ax.tick_params(labelsize=_FONT)
        a = np.asarray(first, dtype=float)
        b = np.asarray(second, dtype=float)
        for ai, bi in zip(a, b, strict=True):
            ax.plot(
                [0, 1],
                [ai, bi],
                color="0.55" if bi < ai else "0.1",
                linewidth=0.8,
                linestyle="--" if bi < ai else "-",
                marker="o",
                markersize=3,
            )
        ax.set_xticks([0, 1])
        ax.set_xticklabels(labels, fontsize=_FONT)
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(_wrap(f"{name} (n = {a.size})", 20), fontsize=_FONT)
        if k == 0:
            ax.set_ylabel(ylabel, fontsize=_FONT)
    fig.suptitle(title, fontsize=_FONT + 1)
    return fig


def box_figure(groups: Sequence[tuple[str, npt.ArrayLike]], *, ylabel: str, title: str) -> Figure:
    """Box plots with every value shown as a jittered point (seeded jitter)."""
    fig = Figure(figsize=(1.3 * max(len(groups), 2) + 1.2, 3.8), layout="constrained")
    ax = _ax(fig)
    data = [np.asarray(v, dtype=float) for _, v in groups]
    ax.boxplot(
        data,
        widths=0.5,
        showfliers=False,
        medianprops={"color": "black"},
        boxprops={"color": "black"},
    )
    rng = np.random.default_rng(0)
    for k, values in enumerate(data, start=1):
        ax.plot(
            k + rng.uniform(-0.12, 0.12, values.size),
            values,
            "o",
            color="0.35",
            markersize=3,
            alpha=0.8,
        )
    ax.set_xticks(range(1, len(groups) + 1))
    ax.set_xticklabels(
        [f"{_wrap(name)}\n(n = {d.size})" for (name, _), d in zip(groups, data, strict=True)],
        fontsize=_FONT,
    )
    ax.set_ylabel(ylabel, fontsize=_FONT)
    ax.set_title(title, fontsize=_FONT + 1)
    return fig


def scatter_figure(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    annotation: str | None = None,
) -> Figure:
    """Scatter plot with an optional annotation (e.g. Spearman rho and its CI)."""
    fig = Figure(figsize=(4.2, 3.6))
    ax = _ax(fig)
    ax.plot(
        np.asarray(x, dtype=float),
        np.asarray(y, dtype=float),
        "o",
        color="0.2",
        markersize=3.5,
        markerfacecolor="white",
    )
    ax.set_xlabel(xlabel, fontsize=_FONT)
    ax.set_ylabel(ylabel, fontsize=_FONT)
    if annotation:  # under the title, clear of the points (a point may sit in any corner)
        ax.set_title(f"{title}\n{annotation}", fontsize=_FONT)
    else:
        ax.set_title(title, fontsize=_FONT + 1)
    return fig


#: The MIPs' grey scale runs from SUV 0 to this multiple of the reference region's mean
#: (the liver): the liver shows a third of the way up the scale, whatever the tracer, and a
#: lesion brighter than three times the liver saturates black. Windowing by the image's own
#: maximum let the bladder set the scale (SUV 0-33) and washed the lesions out.
MIP_WINDOW_REFERENCE_MULTIPLE = 3.0


def mip_window(suv_mip: npt.ArrayLike, reference_mean_suv: float | None) -> tuple[float, str]:
    """The MIP's upper SUV and how it was chosen: :data:`MIP_WINDOW_REFERENCE_MULTIPLE` times
    the reference region's mean SUV; without a reference region, the 95th percentile of the
    projection's pixels above SUV 0.5 (the body; the bladder takes more than 1 % of them),
    said so in the label."""
    if (
        reference_mean_suv is not None
        and np.isfinite(reference_mean_suv)
        and reference_mean_suv > 0
    ):
        return MIP_WINDOW_REFERENCE_MULTIPLE * float(reference_mean_suv), (
            f"{MIP_WINDOW_REFERENCE_MULTIPLE:g} × liver mean"
        )
    values = np.asarray(suv_mip, dtype=float)
    body = values[np.isfinite(values) & (values > 0.5)]
    upper = float(np.percentile(body, 95)) if body.size else 1.0
    return (upper if upper > 0 else 1.0), "no liver reference: 95th percentile"


def mip_figure(
    suv_mip: npt.NDArray[np.floating],
    spacing_zyx_mm: tuple[float, float, float],
    *,
    label_mip: npt.NDArray[np.integer] | None = None,
    title: str,
    suv_window: float | None = None,
    window_note: str | None = None,
    lesion_names: Mapping[int, str] | None = None,
    affine: npt.ArrayLike | None = None,
) -> Figure:
    """Coronal maximum-intensity projection (inverted grey scale, as PET is read) with the
    outlines of the projected lesion labels, each named, a colour bar in SUV and the
    patient's right and left.

    Parameters
    ----------
    suv_mip, label_mip
        Projections along y (anterior-posterior) of a ``(z, y, x)`` volume: arrays ``(z, x)``.
    spacing_zyx_mm
        Voxel spacing of the volume.
    suv_window, window_note
        Upper end of the grey scale (SUV) and how it was chosen (:func:`mip_window`); by
        default :func:`mip_window` without a reference region.
    lesion_names
        Label value -> the name written beside its outline.
    affine
        The volume's index-to-LPS affine: the image is turned head up with the patient's
        right on the viewer's left (radiological convention, as if facing the patient) and
        marked R and L. Without it the array is shown head up by its slice order and no side
        is marked (the sides are not known).
    """
    mip = np.asarray(suv_mip, dtype=float)
    labels = None if label_mip is None else np.asarray(label_mip)
    flip_rows, flip_cols, sides = True, False, None
    if affine is not None:
        a = np.asarray(affine, dtype=float)
        flip_rows = a[2, 0] > 0  # k runs toward the head: show the last slice on top
        flip_cols = a[0, 2] < 0  # i runs toward the patient's right: mirror it to the right
        sides = ("R", "L")
    if flip_rows:
        mip = mip[::-1]
        labels = None if labels is None else labels[::-1]
    if flip_cols:
        mip = mip[:, ::-1]
        labels = None if labels is None else labels[:, ::-1]
    dz, _, dx = spacing_zyx_mm
    height_mm, width_mm = mip.shape[0] * dz, mip.shape[1] * dx
    width_in = 2.6
    fig = Figure(figsize=(width_in, width_in * 0.8 * height_mm / max(width_mm, 1.0) + 0.7))
    ax = fig.add_axes((0.02, 0.03, 0.76, 0.85))
    if suv_window is None:
        suv_window, window_note = mip_window(mip, None)
    image = ax.imshow(
        mip, cmap="Greys", vmin=0, vmax=suv_window, aspect=dz / dx, interpolation="nearest"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is not None and np.any(labels):
        ax.contour(labels > 0, levels=[0.5], colors="black", linewidths=0.7)
        _name_lesions(fig, ax, labels, lesion_names or {})
    if sides is not None:
        for x, side in ((0.03, sides[0]), (0.97, sides[1])):
            ax.text(
                x,
                0.97,
                side,
                transform=ax.transAxes,
                ha="left" if x < 0.5 else "right",
                va="top",
                fontsize=_FONT,
                weight="bold",
                bbox={"fc": "white", "ec": "none", "pad": 1.0},
            )
    bar_ax = fig.add_axes((0.81, 0.03, 0.05, 0.85))
    bar = fig.colorbar(image, cax=bar_ax)
    bar.ax.tick_params(labelsize=_FONT - 2)
    bar.set_label("SUV (g/ml)", fontsize=_FONT - 2)
    note = f" ({window_note})" if window_note else ""
    ax.set_title(f"{title}\nSUV 0–{suv_window:.1f}{note}", fontsize=_FONT - 1.5)
    return fig


def _name_lesions(
    fig: Figure, ax: Any, labels: npt.NDArray[np.integer], names: Mapping[int, str]
) -> None:
    """Write each lesion's name to the right of its outline; a name that would overlap one
    already written moves down until it is clear."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    placed: list[Any] = []
    for value in sorted(int(v) for v in np.unique(labels) if v > 0):
        rows, cols = np.nonzero(labels == value)
        name = names.get(value, str(value))
        text = ax.text(
            cols.max() + 1.5,
            rows.mean(),
            name,
            fontsize=_FONT - 2,
            ha="left",
            va="center",
            bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
        )
        pixels_per_row = abs(ax.transData.transform((0, 1))[1] - ax.transData.transform((0, 0))[1])
        for _ in range(30):
            extent = text.get_window_extent(renderer).padded(2)  # apart, not touching
            if not any(extent.overlaps(other) for other in placed):
                break
            x, y = text.get_position()
            text.set_position((x, y + (extent.height + 1) / pixels_per_row))
        placed.append(text.get_window_extent(renderer).padded(2))
