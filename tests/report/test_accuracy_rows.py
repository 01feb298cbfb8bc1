"""The accuracy table's interval method says how many bootstrap replicates it left out."""

from __future__ import annotations

from petdx.report.sections import _method_with_dropped
from petdx.stats.bootstrap import dropped_message


def test_left_out_replicates_are_shown_beside_the_interval() -> None:
    method = "cluster bootstrap percentile (2000 replicates, seed 1)"
    measure = {
        "method": method,
        "warnings": [f"lr_positive: {dropped_message(36, 2000, 'finite value')}"],
    }
    assert _method_with_dropped(measure) == (
        f"{method}; 36 of 2000 replicates undefined (zero denominator), left out"
    )
    assert _method_with_dropped({"method": method, "warnings": []}) == method
