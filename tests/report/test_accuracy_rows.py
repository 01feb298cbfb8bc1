"""The accuracy table's interval method says how many bootstrap replicates it corrected
and how many it left out."""

from __future__ import annotations

from petdx.report.sections import _method_with_dropped
from petdx.stats.bootstrap import dropped_message
from petdx.stats.clustered import corrected_message


def test_left_out_replicates_are_shown_beside_the_interval() -> None:
    method = "cluster bootstrap percentile (2000 replicates, seed 1)"
    measure = {
        "method": method,
        "warnings": [
            f"lr_positive: {corrected_message(36, 2000)}",
            f"lr_positive: {dropped_message(2, 2000, 'diseased or no non-diseased unit')}",
        ],
    }
    assert _method_with_dropped(measure) == (
        f"{method}; 36 of 2000 replicates with a zero denominator corrected (0.5 added); "
        "2 of 2000 replicates left out (no diseased or no non-diseased unit)"
    )
    assert _method_with_dropped({"method": method, "warnings": []}) == method
