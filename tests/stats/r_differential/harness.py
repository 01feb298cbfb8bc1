"""What the differential tests share: writing datasets, running one R process per family,
reading R's long-format results, and tallying petdx against R field by field.

R writes one line per value, ``id,field,value``, with ``%.17g`` numbers (``NA``, ``NaN``,
``Inf`` as R prints them) and ``id,error,<message>`` when R stops on a dataset.

Outcome of one statistic on one dataset:

* match: every common field agrees within the stated tolerance (``|petdx - R| <= atol +
  rtol |R|``), or both are the same infinity;
* explained: R's value is NA / NaN / Inf (or R stopped) where petdx returns NaN and issued an
  :class:`~petdx.errors.UndefinedStatisticWarning` (or refused the input with an
  :class:`~petdx.errors.InputValidationError`, the documented refusal), or a deliberate,
  documented definition difference (``reason``) for which R was called with petdx's
  definition and agreed; every other field still has to agree;
* mismatch: anything else. The tests assert there are none.
"""

from __future__ import annotations

import csv
import math
import subprocess
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from petdx.errors import InputValidationError, UndefinedStatisticWarning

HERE = Path(__file__).resolve().parent

#: R's text for values that are not finite numbers.
_R_SPECIAL = {"NA": math.nan, "NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}


def run_r(exe: str, versions: str, script: str, folder: Path) -> dict[str, dict[str, Any]]:
    """Run ``script`` (in this folder) once on every dataset of ``folder``; R's results by
    dataset id and field (floats, or the error message under ``"error"``)."""
    out = folder / "r_results.csv"
    command = [exe, "--vanilla", str(HERE / script), str(folder), str(out)]
    env = {"TZ": "UTC", "LC_ALL": "C", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        pytest.fail(f"{script} failed under {versions}:\n{done.stderr[-3000:]}")
    results: dict[str, dict[str, Any]] = {}
    with out.open(newline="") as handle:
        for dataset, name, value in csv.reader(handle):
            row = results.setdefault(dataset, {})
            row[name] = value if name.endswith("error") else _number(value)
    return results


def _number(text: str) -> float:
    return _R_SPECIAL[text] if text in _R_SPECIAL else float(text)


@dataclass
class PetdxRun:
    """A petdx computation: its value (or the refusal) and whether it warned undefined."""

    value: Any = None
    refused: str | None = None
    warned: tuple[str, ...] = ()


@contextmanager
def _capture() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def petdx_run(compute: Callable[[], Any]) -> PetdxRun:
    """Call ``compute``; keep the UndefinedStatisticWarnings and a documented refusal."""
    with _capture() as caught:
        try:
            value = compute()
        except InputValidationError as exc:
            return PetdxRun(refused=str(exc))
    warned = tuple(
        str(w.message) for w in caught if issubclass(w.category, UndefinedStatisticWarning)
    )
    return PetdxRun(value, None, warned)


@dataclass
class Tally:
    """Datasets, matches, explained and the largest difference of one statistic."""

    statistic: str
    rtol: float
    atol: float = 0.0
    largest: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)  # "match", "explained"
    reasons: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)

    @property
    def tolerance(self) -> str:
        return f"rel {self.rtol:g}" + (f" + abs {self.atol:g}" if self.atol else "")

    @property
    def datasets(self) -> int:
        return sum(self.outcomes.values()) + len(self.mismatches)

    def refusal(
        self, dataset: str, petdx: PetdxRun, r_error: str | None, *, undefined: bool = False
    ) -> bool:
        """Account for a dataset that petdx refused or R stopped on; True when handled.
        ``undefined``: petdx's result is NaN with a warning (explains R stopping)."""
        if petdx.refused is None and r_error is None:
            return False
        if petdx.refused is not None and r_error is not None:
            self.outcomes["explained"] += 1
            self.reasons["petdx refuses (InputValidationError) where R stops"] += 1
        elif r_error is not None and undefined and petdx.warned:
            self.outcomes["explained"] += 1
            self.reasons[f"R stops ({r_error.strip()[:60]}), petdx NaN with a warning"] += 1
        else:
            side = f"petdx refused: {petdx.refused}" if petdx.refused else f"R stopped: {r_error}"
            self.mismatches.append(f"{dataset}: only one side failed ({side})")
        return True

    def compare(
        self,
        dataset: str,
        pairs: Mapping[str, tuple[float, float]],
        *,
        warned: bool,
        reason: str | None = None,
    ) -> None:
        """Compare ``{field: (petdx, R)}``; ``reason`` marks a deliberate difference that
        was resolved by calling R with petdx's definition (counted as explained)."""
        explained: list[str] = []
        bad: list[str] = []
        for name, (ours, theirs) in pairs.items():
            ours, theirs = float(ours), float(theirs)
            if math.isfinite(ours) and math.isfinite(theirs):
                diff = abs(ours - theirs)
                self.largest = max(self.largest, diff)
                if diff > self.atol + self.rtol * abs(theirs):
                    bad.append(f"{name}: petdx {ours!r} R {theirs!r}")
            elif ours == theirs:  # the same infinity
                continue
            elif math.isnan(ours) and not math.isfinite(theirs) and warned:
                explained.append(f"R {_r_text(theirs)}, petdx NaN with a warning")
            else:
                bad.append(f"{name}: petdx {ours!r} R {_r_text(theirs)}")
        if bad:
            self.mismatches.append(f"{dataset}: " + "; ".join(bad))
        elif explained or reason:
            self.outcomes["explained"] += 1
            self.reasons[reason or "; ".join(sorted(set(explained)))] += 1
        else:
            self.outcomes["match"] += 1

    def row(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "datasets": self.datasets,
            "matches": self.outcomes["match"],
            "explained": self.outcomes["explained"],
            "unexplained": len(self.mismatches),
            "largest": self.largest,
            "tolerance": self.tolerance,
            "reasons": dict(self.reasons),
        }


def _r_text(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    return "NA" if math.isnan(value) else ("Inf" if value > 0 else "-Inf")


def tally(statistic: str, *, rtol: float, atol: float = 0.0) -> Tally:
    return Tally(statistic, rtol, atol)


def format_table(family: str, rows: list[dict[str, Any]]) -> str:
    """The per-statistic table printed in the test log and in the session summary."""
    head = f"{'statistic':<34} {'datasets':>8} {'matches':>8} {'explained':>9} "
    head += f"{'unexplained':>11} {'largest diff':>12}  tolerance"
    lines = [f"R differential, {family}", head]
    for r in rows:
        lines.append(
            f"{r['statistic']:<34} {r['datasets']:>8} {r['matches']:>8} {r['explained']:>9} "
            f"{r['unexplained']:>11} {r['largest']:>12.3g}  {r['tolerance']}"
        )
        for why, count in sorted(r["reasons"].items()):
            lines.append(f"    explained x{count}: {why}")
    return "\n".join(lines)


def report(
    record_property: Callable[[str, object], None], family: str, tallies: list[Tally]
) -> None:
    """Print the table, hand it to the session summary, and fail on any mismatch."""
    rows = [t.row() for t in tallies]
    print("\n" + format_table(family, rows))
    record_property("r_differential", {"family": family, "rows": rows})
    problems = [f"{t.statistic}: {m}" for t in tallies for m in t.mismatches]
    assert not problems, f"{len(problems)} unexplained mismatches:\n" + "\n".join(problems[:40])
    for t in tallies:
        assert t.datasets >= 200, f"{t.statistic}: only {t.datasets} datasets"
