"""Report figures render, and print in grayscale (every pixel has R = G = B)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.image import imread

from petdx.errors import InputValidationError
from petdx.report.figures import (
    CurveBand,
    KaplanMeierCurve,
    RocCurve,
    box_figure,
    figure_png,
    forest_figure,
    kaplan_meier_figure,
    mip_figure,
    paired_figure,
    roc_figure,
    scatter_figure,
)
from petdx.report.stard import STARD_2015_ITEMS, IndexTestArm, StardFlow, flow_diagram


def _assert_grayscale_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(io.BytesIO(data))[..., :3]
    assert min(pixels.shape[:2]) > 100
    spread = np.abs(pixels - pixels.mean(axis=2, keepdims=True)).max()
    assert spread < 0.02, f"figure uses colour (max channel spread {spread:.3f})"
    assert pixels.std() > 0.01, "figure is blank"
    return pixels


def test_roc_figure() -> None:
    x = np.linspace(0, 1, 11)
    band = CurveBand(x, np.clip(x - 0.1, 0, 1), np.clip(x + 0.2, 0, 1))
    curves = [
        RocCurve("A", x, np.sqrt(x), band=band, point=(0.2, 0.6), point_label="cut-off"),
        RocCurve("B", x, x**0.7),
    ]
    _assert_grayscale_png(figure_png(roc_figure(curves, title="ROC")))


def test_km_figure_with_at_risk() -> None:
    curve = KaplanMeierCurve(
        "high uptake",
        np.array([2.0, 5.0, 9.0]),
        np.array([0.9, 0.7, 0.5]),
        lower=np.array([0.8, 0.5, 0.3]),
        upper=np.array([1.0, 0.85, 0.7]),
        censor_times=np.array([3.0]),
        at_risk=(10, 8, 4),
    )
    fig = kaplan_meier_figure(
        [curve, curve],
        title="PFS",
        time_unit="months",
        ylabel="Progression-free survival",
        at_risk_times=(0, 5, 10),
        annotation="log-rank p = 0.04",
    )
    _assert_grayscale_png(figure_png(fig))
    # every number at risk stands under a labelled tick at its time
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [0, 5, 10]
    fig.canvas.draw()
    tick_x = [
        fig.transFigure.inverted().transform(ax.transData.transform((t, 0)))[0] for t in (0, 5, 10)
    ]
    numbers = [t for t in fig.texts if t.get_text() in {"10", "8", "4"}]
    assert len(numbers) == 6
    for text in numbers:
        assert min(abs(text.get_position()[0] - x) for x in tick_x) < 1e-9


def test_other_figures() -> None:
    rng = np.random.default_rng(1)
    figs = [
        forest_figure(
            [("PD-L1+", 0.5, 0.3, 0.9), ("SUVmax", 1.2, 0.9, 1.6)],
            title="Cox",
            xlabel="Hazard ratio (95 % CI)",
        ),
        paired_figure(
            [("malignant", [3, 4], [4, 5]), ("benign", [2, 3], [1.5, 2])],
            labels=("60 min", "120 min"),
            ylabel="SUVmax (g/ml)",
            title="Retention",
        ),
        box_figure(
            [("TPS ≥ 1 %", rng.normal(5, 1, 20)), ("TPS < 1 %", rng.normal(3, 1, 15))],
            ylabel="SUVmax (g/ml)",
            title="Uptake by PD-L1",
        ),
        scatter_figure(
            rng.uniform(0, 100, 30),
            rng.uniform(0, 8, 30),
            xlabel="TPS (%)",
            ylabel="SUVmax (g/ml)",
            title="Uptake vs TPS",
            annotation="rho = 0.5",
        ),
    ]
    volume = rng.uniform(0, 1, (40, 20, 30)).astype(np.float32)
    labels = np.zeros(volume.shape, dtype=np.uint8)
    labels[10:14, 8:12, 10:15] = 1
    volume[labels > 0] = 8
    figs.append(
        mip_figure(volume.max(axis=1), (4.0, 4.0, 4.0), label_mip=labels.max(axis=1), title="S1")
    )
    for fig in figs:
        _assert_grayscale_png(figure_png(fig))


def test_flow_diagram() -> None:
    flow = StardFlow(
        index_test="68Ga-DOTA-BLP PET visual read",
        target_condition="Nodal/distant malignancy",
        potentially_eligible=60,
        excluded=10,
        exclusion_reasons=(("prior antitumour therapy", 4), ("radiation > 50 mSv", 7)),
        index_test_not_performed=1,
        not_performed_reasons=(("withdrew", 1),),
        arms=(
            IndexTestArm("positive", 30, 1, 0, 25, 4),
            IndexTestArm("negative", 18, 0, 1, 3, 14),
            IndexTestArm("inconclusive", 1, 0, 0, 1, 0),
        ),
    )
    assert flow.enrolled == 50
    assert flow.index_test_performed == 49
    _assert_grayscale_png(figure_png(flow_diagram(flow)))


def test_flow_counts_must_add_up() -> None:
    with pytest.raises(InputValidationError, match="does not add up"):
        StardFlow("PET", "malignancy", 10, 2, (), 0, (IndexTestArm("positive", 7, 0, 0, 7, 0),))
    with pytest.raises(InputValidationError, match="accounted"):
        IndexTestArm("positive", 5, 0, 0, 1, 1)


def test_checklist_has_30_items_with_subitems() -> None:
    numbers = [item.number for item in STARD_2015_ITEMS]
    assert len({n.rstrip("ab") for n in numbers}) == 30
    assert len(numbers) == 34  # 10, 12, 13 and 21 have a and b


def test_roc_figure_joins_ordinal_operating_points_so_the_drawn_area_is_the_auc() -> None:
    """A 1-5 visual score has ties at every threshold: the operating points must be joined by
    straight segments (the empirical ROC), whose area is the Mann-Whitney AUC; a staircase
    through the same points encloses less (the bug: 0.43 drawn against AUC 0.57).
    Oracle: scikit-learn's roc_auc_score (the Mann-Whitney statistic with ties counted 1/2)."""
    from sklearn.metrics import roc_auc_score

    from petdx.stats.roc import roc_curve

    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, size=80).astype(bool)
    score = np.clip(np.round(rng.normal(3 + 0.6 * truth, 1.2)), 1, 5)
    curve = roc_curve(truth, score)
    fig = roc_figure([RocCurve("visual", curve.false_positive_rate, curve.sensitivity)], title="")
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_label() == "visual"]
    x, y = line.get_path().vertices.T  # the path as drawn (a step draw style included)
    assert (x[0], y[0], x[-1], y[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(x) >= 0)
    assert np.all(np.diff(y) >= 0)
    drawn_area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
    assert drawn_area == pytest.approx(roc_auc_score(truth, score), abs=1e-12)
    # the diagonal segments are there: some step moves both fractions
    assert np.any((np.diff(x) > 0) & (np.diff(y) > 0))
