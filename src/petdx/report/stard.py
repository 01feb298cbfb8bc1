"""STARD 2015: the participant flow diagram and the 30-item checklist.

References
----------
Bossuyt PM, Reitsma JB, Bruns DE, et al. STARD 2015: an updated list of essential items for
reporting diagnostic accuracy studies. BMJ 2015;351:h5527. doi:10.1136/bmj.h5527
Cohen JF, Korevaar DA, Altman DG, et al. STARD 2015 guidelines for reporting diagnostic
accuracy studies: explanation and elaboration. BMJ Open 2016;6:e012799.
doi:10.1136/bmjopen-2016-012799 (the prototypical flow diagram, its Figure 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from petdx.errors import InputValidationError

__all__ = ["STARD_2015_ITEMS", "IndexTestArm", "StardFlow", "StardItem", "flow_diagram"]


@dataclass(frozen=True)
class IndexTestArm:
    """Participants with one index-test result (positive, negative or inconclusive)."""

    result: str
    n: int
    no_reference_standard: int = 0
    reference_inconclusive: int = 0
    target_present: int = 0
    target_absent: int = 0

    def __post_init__(self) -> None:
        accounted = (
            self.no_reference_standard
            + self.reference_inconclusive
            + self.target_present
            + self.target_absent
        )
        if accounted != self.n:
            raise InputValidationError(
                f"STARD arm '{self.result}': {self.n} participants but {accounted} accounted "
                "for (no reference standard + inconclusive + present + absent)."
            )


@dataclass(frozen=True)
class StardFlow:
    """Counts for the STARD 2015 flow diagram (patient level).

    ``exclusion_reasons`` counts participants per failed criterion; a participant who fails
    several criteria is counted under each, so the reasons may add up to more than
    ``excluded``.
    """

    index_test: str
    target_condition: str
    potentially_eligible: int
    excluded: int
    exclusion_reasons: tuple[tuple[str, int], ...]
    index_test_not_performed: int
    arms: tuple[IndexTestArm, ...]
    not_performed_reasons: tuple[tuple[str, int], ...] = field(default=())

    def __post_init__(self) -> None:
        enrolled = self.potentially_eligible - self.excluded
        performed = sum(arm.n for arm in self.arms)
        if enrolled < 0 or performed + self.index_test_not_performed != enrolled:
            raise InputValidationError(
                f"STARD flow does not add up: {self.potentially_eligible} potentially eligible "
                f"- {self.excluded} excluded = {enrolled} enrolled, but {performed} had the "
                f"index test and {self.index_test_not_performed} did not."
            )

    @property
    def enrolled(self) -> int:
        return self.potentially_eligible - self.excluded

    @property
    def index_test_performed(self) -> int:
        return sum(arm.n for arm in self.arms)


#: Flow diagram geometry, in inches (the axes' data coordinates are inches, so text measured
#: by the renderer sizes the boxes): page-width figure, printed at 100 % in the report.
_WIDTH = 6.8
_PAD = 0.07  # between a box's edge and its text
_GAP = 0.28  # vertical space taken by an arrow between two boxes
_MAIN_X, _MAIN_W = 2.2, 3.0
_SIDE_X, _SIDE_W = 5.35, 2.7
_FONT = 8.0


def _measure(text: str, size: float) -> tuple[float, float]:
    """Width and height (inches) of ``text`` as the Agg renderer draws it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(4, 4), dpi=100)
    renderer = FigureCanvasAgg(fig).get_renderer()
    extent = fig.text(0, 0, text, fontsize=size, ha="center", va="center").get_window_extent(
        renderer
    )
    return extent.width / fig.dpi, extent.height / fig.dpi


def _fit(text: str, width: float, size: float = _FONT) -> tuple[str, float]:
    """``text`` wrapped (each paragraph line on its own) to fit ``width`` inches inside the
    box padding, and the box height it needs."""
    import textwrap

    inner = width - 2 * _PAD
    chars = max(int(inner / (0.6 * size / 72)), 8)
    while True:
        lines = [
            wrapped
            for line in text.split("\n")
            for wrapped in (textwrap.wrap(line, chars, subsequent_indent="  ") or [""])
        ]
        wrapped_text = "\n".join(lines)
        w, h = _measure(wrapped_text, size)
        if w <= inner or chars <= 8:
            return wrapped_text, h + 2 * _PAD
        chars -= 2


@dataclass(frozen=True)
class _Box:
    x: float  # centre
    top: float
    w: float
    h: float
    text: str

    @property
    def bottom(self) -> float:
        return self.top - self.h

    @property
    def mid(self) -> float:
        return self.top - self.h / 2


def _draw_box(ax: Any, box: _Box) -> None:
    ax.add_patch(
        Rectangle(
            (box.x - box.w / 2, box.bottom), box.w, box.h, linewidth=1.0, fc="white", ec="black"
        )
    )
    if box.x == _SIDE_X:  # lists of reasons read left-aligned
        ax.text(box.x - box.w / 2 + _PAD, box.mid, box.text, ha="left", va="center", fontsize=_FONT)
    else:
        ax.text(box.x, box.mid, box.text, ha="center", va="center", fontsize=_FONT)


def _arrow(ax: Any, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),
        arrowprops={
            "arrowstyle": "-|>",
            "color": "black",
            "linewidth": 0.9,
            "shrinkA": 0,
            "shrinkB": 0,
        },
    )


def flow_diagram(flow: StardFlow) -> Figure:
    """Draw the STARD 2015 flow diagram (black on white, prints in grayscale).

    Every box is sized to its text as the renderer measures it (long exclusion reasons are
    wrapped to the box width), and the boxes are stacked from the top with room for the
    arrows between them, so no text leaves its box and no arrow crosses one.
    """
    boxes: list[_Box] = []
    arrows: list[tuple[float, float, float, float]] = []
    y = 0.0

    def main(text: str) -> _Box:
        nonlocal y
        wrapped, h = _fit(text, _MAIN_W)
        box = _Box(_MAIN_X, y, _MAIN_W, h, wrapped)
        boxes.append(box)
        y = box.bottom
        return box

    def side(text: str) -> None:
        """A box to the right of the main column, between the last main box and the next,
        with an arrow from the column into it."""
        nonlocal y
        wrapped, h = _fit(text, _SIDE_W)
        box = _Box(_SIDE_X, y - _GAP / 2, _SIDE_W, h, wrapped)
        boxes.append(box)
        arrows.append((_MAIN_X, box.mid, _SIDE_X - _SIDE_W / 2, box.mid))
        y = box.bottom - _GAP / 2

    reasons = "\n".join(f"{name}: {n}" for name, n in flow.exclusion_reasons) or "none"
    top = main(f"Potentially eligible participants\nn = {flow.potentially_eligible}")
    side(f"Excluded, n = {flow.excluded}\n{reasons}")
    y -= _GAP / 2
    arrows.append((_MAIN_X, top.bottom, _MAIN_X, y))
    enrolled = main(f"Enrolled; index test: {flow.index_test}\nn = {flow.enrolled}")
    if flow.index_test_not_performed:
        why = "\n".join(f"{name}: {n}" for name, n in flow.not_performed_reasons)
        side(f"Index test not performed, n = {flow.index_test_not_performed}\n{why}".strip())
    else:
        y -= _GAP / 2
    y -= _GAP / 2
    arrows.append((_MAIN_X, enrolled.bottom, _MAIN_X, y))
    performed = main(f"Index test performed, n = {flow.index_test_performed}")

    n_arms = len(flow.arms)
    column = _WIDTH / n_arms
    xs = [column * (k + 0.5) for k in range(n_arms)]
    arm_w = min(column - 0.2, 2.6)
    branch = performed.bottom - _GAP / 2
    lines = [((_MAIN_X, performed.bottom), (_MAIN_X, branch))]
    lines.append(((min(xs + [_MAIN_X]), branch), (max(xs + [_MAIN_X]), branch)))
    y = branch - _GAP / 2
    rows = [
        [f"Index test {arm.result}\nn = {arm.n}" for arm in flow.arms],
        [f"No reference standard\nn = {arm.no_reference_standard}" for arm in flow.arms],
        [f"Reference standard\nn = {arm.n - arm.no_reference_standard}" for arm in flow.arms],
        [
            f"{flow.target_condition}\npresent: {arm.target_present}\n"
            f"absent: {arm.target_absent}\ninconclusive: {arm.reference_inconclusive}"
            for arm in flow.arms
        ],
    ]
    previous: list[_Box] = []
    for k, texts in enumerate(rows):
        fitted = [_fit(text, arm_w) for text in texts]
        h = max(height for _, height in fitted)
        row = [_Box(x, y, arm_w, h, text) for x, (text, _) in zip(xs, fitted, strict=True)]
        for x, box in zip(xs, row, strict=True):
            start = branch if k == 0 else previous[xs.index(x)].bottom
            arrows.append((x, start, x, box.top))
        boxes.extend(row)
        previous = row
        y = y - h - _GAP

    footer = 0.3
    height = -y - _GAP + footer + 0.05
    fig = Figure(figsize=(_WIDTH, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, _WIDTH)
    ax.set_ylim(-height + 0.05, 0.05)
    ax.axis("off")
    for box in boxes:
        _draw_box(ax, box)
    for (x0, y0), (x1, y1) in lines:
        ax.plot([x0, x1], [y0, y1], color="black", linewidth=0.9)
    for x0, y0, x1, y1 in arrows:
        _arrow(ax, x0, y0, x1, y1)
    ax.text(
        0.05,
        -height + 0.05 + footer / 2,
        "STARD 2015 flow diagram (Bossuyt et al., BMJ 2015;351:h5527)",
        fontsize=6.5,
        va="center",
    )
    return fig


@dataclass(frozen=True)
class StardItem:
    """One item of the STARD 2015 checklist."""

    number: str
    section: str
    text: str


def _load_items() -> tuple[StardItem, ...]:
    text = resources.files("petdx.report").joinpath("stard2015_checklist.tsv").read_text("utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(StardItem(number, section, item) for number, section, item in rows)


#: The 34 rows (30 items, four with a and b parts) of the STARD 2015 checklist.
STARD_2015_ITEMS: tuple[StardItem, ...] = _load_items()
