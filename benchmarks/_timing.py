"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: list[float]

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best_s(self) -> float:
        return min(self.seconds)


def measure(name: str, func: Callable[[], Any], *, repeat: int = 5, warmup: int = 1) -> Timing:
    """Run ``func`` ``warmup`` times untimed, then ``repeat`` times timed (wall clock)."""
    for _ in range(warmup):
        func()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        seconds.append(time.perf_counter() - start)
    return Timing(name, seconds)


def report(title: str, ours: Timing, peer: Timing, *, goal: str) -> str:
    """Print and return a one-paragraph comparison with the ratio peer/ours."""
    ratio = peer.median_s / ours.median_s

    def line(t: Timing) -> str:
        return f"  {t.name:<44s} median {t.median_s * 1e3:9.1f} ms  (best {t.best_s * 1e3:.1f})\n"

    text = (
        f"## {title}\n{line(ours)}{line(peer)}"
        f"  ratio {peer.name} / petdx = {ratio:.2f}x   goal: {goal}\n"
    )
    print(text, flush=True)
    return text
