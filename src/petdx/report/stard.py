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

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

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


def _box(fig: Figure, x: float, y: float, w: float, h: float, text: str, size: float = 8) -> None:
    ax = fig.axes[0]
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.004,rounding_size=0.01",
            linewidth=1.0,
            fc="white",
            ec="black",
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=size, wrap=True)


def _arrow(fig: Figure, x0: float, y0: float, x1: float, y1: float) -> None:
    fig.axes[0].annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.9},
    )


def flow_diagram(flow: StardFlow) -> Figure:
    """Draw the STARD 2015 flow diagram (black on white, prints in grayscale)."""
    fig = Figure(figsize=(8.3, 8.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")

    reasons = "\n".join(f"{name}: {n}" for name, n in flow.exclusion_reasons) or "none"
    excluded_h = 0.05 + 0.016 * max(len(flow.exclusion_reasons), 1)
    _box(
        fig,
        0.35,
        0.94,
        0.42,
        0.06,
        f"Potentially eligible participants\nn = {flow.potentially_eligible}",
    )
    _box(fig, 0.80, 0.84, 0.36, excluded_h, f"Excluded, n = {flow.excluded}\n{reasons}", size=6.5)
    _arrow(fig, 0.35, 0.91, 0.35, 0.765)
    _arrow(fig, 0.35, 0.84, 0.62, 0.84)
    _box(
        fig,
        0.35,
        0.735,
        0.42,
        0.06,
        f"Enrolled; index test: {flow.index_test}\nn = {flow.enrolled}",
    )
    if flow.index_test_not_performed:
        why = "\n".join(f"{name}: {n}" for name, n in flow.not_performed_reasons)
        _box(
            fig,
            0.80,
            0.665,
            0.36,
            0.06,
            f"Index test not performed, n = {flow.index_test_not_performed}\n{why}",
            size=6.5,
        )
        _arrow(fig, 0.35, 0.665, 0.62, 0.665)
    _arrow(fig, 0.35, 0.705, 0.35, 0.615)

    n_arms = len(flow.arms)
    xs = [0.5 / n_arms + k / n_arms for k in range(n_arms)]
    _box(fig, 0.35, 0.59, 0.42, 0.05, f"Index test performed, n = {flow.index_test_performed}")
    ax.plot([0.35, 0.35], [0.565, 0.535], color="black", linewidth=0.9)
    ax.plot([min(xs), max(xs)], [0.535, 0.535], color="black", linewidth=0.9)
    for x, arm in zip(xs, flow.arms, strict=True):
        _arrow(fig, x, 0.535, x, 0.505)
        _box(fig, x, 0.475, 0.28, 0.06, f"Index test {arm.result}\nn = {arm.n}")
        _box(
            fig,
            x,
            0.37,
            0.28,
            0.06,
            f"No reference standard\nn = {arm.no_reference_standard}",
            size=7,
        )
        _arrow(fig, x, 0.445, x, 0.40)
        received = arm.n - arm.no_reference_standard
        _box(fig, x, 0.265, 0.28, 0.06, f"Reference standard\nn = {received}", size=7)
        _arrow(fig, x, 0.34, x, 0.295)
        _box(
            fig,
            x,
            0.15,
            0.28,
            0.10,
            f"{flow.target_condition}\npresent: {arm.target_present}\n"
            f"absent: {arm.target_absent}\ninconclusive: {arm.reference_inconclusive}",
            size=7,
        )
        _arrow(fig, x, 0.235, x, 0.20)
    fig.text(0.02, 0.02, "STARD 2015 flow diagram (Bossuyt et al., BMJ 2015;351:h5527)", fontsize=6)
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
