"""Report figures render, and print in grayscale (every pixel has R = G = B)."""

from __future__ import annotations

import io
import re

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
            annotation="Spearman rho 0.43 (−0.22 to 0.82), p = 0.16",
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
        assert _overlapping(fig) == []


def test_flow_diagram() -> None:
    flow = _flow()
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


def _flow(
    index_test: str = "68Ga-DOTA-BLP PET visual read",
    reasons: tuple[tuple[str, int], ...] = (
        ("prior antitumour therapy", 4),
        ("radiation > 50 mSv", 7),
    ),
    not_performed: str = "withdrew",
) -> StardFlow:
    return StardFlow(
        index_test=index_test,
        target_condition="Nodal/distant malignancy",
        potentially_eligible=60,
        excluded=10,
        exclusion_reasons=reasons,
        index_test_not_performed=1,
        not_performed_reasons=((not_performed, 1),),
        arms=(
            IndexTestArm("positive", 30, 1, 0, 25, 4),
            IndexTestArm("negative", 18, 0, 1, 3, 14),
            IndexTestArm("inconclusive", 1, 0, 0, 1, 0),
        ),
    )


def _long_flow() -> StardFlow:
    """Long exclusion reasons (as a trial's criteria read) and every box in use."""
    return _flow(
        "68Ga-DOTA-BLP PET visual read (score ≥ 4 of 5, reader R1)",
        (
            ("No biopsy- or surgically proven malignancy of the primary tumour", 3),
            ("Prior antitumour therapy within 4 weeks before the PET scan (unknown)", 4),
            ("Cumulative effective dose of research imaging above 50 mSv in 365 days", 7),
            ("Pregnant or breast-feeding", 1),
            ("Estimated glomerular filtration rate below 30 ml/min/1.73 m²", 2),
        ),
        "withdrew consent before the scan",
    )


def test_flow_diagram_text_stays_inside_its_boxes_and_arrows_cross_no_box() -> None:
    """The bug: the exclusion text overflowed its box and an arrow crossed it. Measured with
    the Agg renderer's text extents (what is drawn), not with our layout's numbers."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import Rectangle

    fig = flow_diagram(_long_flow())
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 3 + 2 + 3 * 4  # main column, two side boxes, four per arm
    texts = [t for t in ax.texts if t.get_text() and "STARD 2015 flow" not in t.get_text()]
    assert len(texts) == len(boxes)
    for text in texts:
        extent = text.get_window_extent(renderer)
        inside = [
            b
            for b in boxes
            if b.x0 <= extent.x0 and extent.x1 <= b.x1 and b.y0 <= extent.y0 and extent.y1 <= b.y1
        ]
        assert len(inside) == 1, f"text {text.get_text()!r} is not inside one box"
    # the long reasons were wrapped, not cut: every word is there
    joined = " ".join(t.get_text().replace("\n", " ") for t in texts)
    for word in ("glomerular", "1.73", "breast-feeding", "365", "withdrew"):
        assert word in joined
    # arrows: sample each shaft; no point strictly inside a box
    arrows = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    assert len(arrows) >= 2 + 3 * 4
    for arrow in arrows:
        start = ax.transData.transform(arrow.xyann)
        end = ax.transData.transform(arrow.xy)
        for t in np.linspace(0.02, 0.98, 50):
            x, y = start + t * (end - start)
            for b in boxes:
                assert not (b.x0 + 1 < x < b.x1 - 1 and b.y0 + 1 < y < b.y1 - 1), (
                    f"arrow {arrow.xyann}->{arrow.xy} crosses a box"
                )
    # the diagram is printed at its size: the text is at least 8 pt
    assert min(t.get_fontsize() for t in texts) >= 8
    assert fig.get_size_inches()[0] <= 6.9  # fits the A4 text width (190 mm = 7.5 in)


def _text_boxes(fig) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """(text, window extent) of every non-empty text the Agg renderer draws: tick labels only
    of the ticks inside the view (matplotlib keeps labels of ticks outside it, undrawn)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    tick_labels, drawn = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels.update((id(tick.label1), id(tick.label2)))
            for tick in axis._update_ticks():  # the ticks drawn
                drawn += [label for label in (tick.label1, tick.label2) if label.get_visible()]
    texts = [t for t in fig.findobj(Text) if id(t) not in tick_labels] + drawn
    out = []
    for text in texts:
        if text.get_visible() and text.get_text().strip():
            extent = text.get_window_extent(renderer)
            if extent.width > 0 and extent.height > 0:
                out.append((text.get_text(), extent))
    return out


def _overlapping(fig, gap_px: float = 2.0) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Pairs of labels closer than ``gap_px`` (at the figure's 100 dpi: labels that touch,
    as the retention figure's panel titles did, read as one)."""
    boxes = [(text, extent.expanded(1, 1).padded(gap_px / 2)) for text, extent in _text_boxes(fig)]  # type: ignore[attr-defined]
    return [
        (a, b) for i, (a, ea) in enumerate(boxes) for b, eb in boxes[i + 1 :] if ea.overlaps(eb)
    ]


#: The retention figures' labels in the demo report (figures 8 and 9), whose tick labels and
#: panel titles overlapped.
_CLASSES = [
    "malignant, PD-L1 positive",
    "malignant, PD-L1 negative",
    "malignant, PD-L1 not sampled",
    "benign",
    "liver reference",
]


def test_no_two_labels_of_a_figure_overlap() -> None:
    rng = np.random.default_rng(2)
    figs = {
        "paired": paired_figure(
            [
                (name, rng.uniform(1, 8, n), rng.uniform(1, 8, n))
                for name, n in zip(_CLASSES[:4], (9, 3, 16, 6), strict=True)
            ],
            labels=("60 min", "120 min"),
            ylabel="SUVmax (g/ml)",
            title="Lesion uptake at both time points",
        ),
        "box": box_figure(
            [(name, rng.normal(0, 20, 12)) for name in _CLASSES],
            ylabel="Retention index (%)",
            title="Retention index",
        ),
    }
    for name, fig in figs.items():
        assert _overlapping(fig) == [], name
    # the check finds an overlap where there is one (two labels written on the same spot)
    fig = box_figure([("a", [1.0, 2.0])], ylabel="y", title="t")
    fig.axes[0].text(0.5, 0.5, "label one", transform=fig.axes[0].transAxes)
    fig.axes[0].text(0.5, 0.5, "label two", transform=fig.axes[0].transAxes)
    assert ("label one", "label two") in _overlapping(fig)


def test_png_is_300_dpi_and_vector_files_parse(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import xml.etree.ElementTree as ET

    from PIL import Image

    from petdx.report.figures import figure_pdf, figure_svg

    fig = flow_diagram(_long_flow())
    with Image.open(io.BytesIO(figure_png(fig))) as image:
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        # drawn at 300 dpi: the pixels are the figure's inches times 300 (tight box)
        assert image.width / 300 == pytest.approx(fig.get_size_inches()[0], abs=0.6)
    root = ET.fromstring(figure_svg(fig))
    assert root.tag.endswith("svg")
    texts = "".join(root.itertext())
    assert "Potentially eligible participants" in texts  # text kept as text (editable)
    pdf = tmp_path / "flow.pdf"
    pdf.write_bytes(figure_pdf(fig))
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    assert re.search(r"^Pages:\s+1$", info.stdout, re.M)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Potentially eligible participants" in text


def test_mip_is_windowed_on_the_liver_marked_and_named() -> None:
    from petdx.report.figures import MIP_WINDOW_REFERENCE_MULTIPLE, mip_window

    rng = np.random.default_rng(3)
    volume = rng.uniform(0.5, 1.5, (60, 20, 40)).astype(np.float32)
    volume[50:56, 5:10, 5:10] = 40.0  # a 'bladder' far brighter than anything else
    labels = np.zeros(volume.shape, dtype=np.uint8)
    labels[20:23, 8:11, 30:33] = 1  # lesion 1 on the array's high-i side
    labels[21:24, 8:11, 33:36] = 2  # lesion 2 beside it: the names must not overlap
    volume[labels > 0] = 6.0
    window, note = mip_window(volume.max(axis=1), 2.0)
    assert window == MIP_WINDOW_REFERENCE_MULTIPLE * 2.0
    assert "liver" in note
    # without a liver: the body's 99th percentile, not the bladder's maximum
    fallback, fallback_note = mip_window(volume.max(axis=1), None)
    assert fallback < 40.0
    assert "no liver" in fallback_note
    # i runs toward the patient's right (affine[0, 2] < 0): mirrored so R is on the left
    affine = np.array([[0, 0, -4.0, 0], [0, 4.0, 0, 0], [4.0, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    fig = mip_figure(
        volume.max(axis=1),
        (4.0, 4.0, 4.0),
        label_mip=labels.max(axis=1),
        title="SIM-0001",
        suv_window=window,
        window_note=note,
        lesion_names={1: "L01", 2: "L02"},
        affine=affine,
    )
    _assert_grayscale_png(figure_png(fig))
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    # the lesions (high i) now show on the left half, head (high k) up
    _lesion_rows, lesion_cols = np.nonzero(np.asarray(image) == 6.0)
    assert lesion_cols.max() < image.shape[1] / 2
    assert ax.images[0].get_clim() == (0, window)
    texts = {t.get_text(): t for t in ax.texts}
    assert {"R", "L", "L01", "L02"} <= set(texts)
    assert texts["R"].get_position()[0] < texts["L"].get_position()[0]
    assert len(fig.axes) == 2
    assert "SUV" in fig.axes[1].get_ylabel()
    assert _overlapping(fig) == []
    # without an affine the sides are not known: no R/L written
    plain = mip_figure(volume.max(axis=1), (4.0, 4.0, 4.0), title="x")
    assert not {"R", "L"} & {t.get_text() for t in plain.axes[0].texts}
