"""petdx's clustered AUC (Obuchowski 1997) against an R transcription of the published
formulas (clustered.R, beside this file, with its reference; no R package here has it), run
now in one R process on seeded random lesion-in-patient datasets: clusters of size 1 only
(where it is DeLong's variance), uneven sizes, singletons mixed in, rating ties, 2-4
patients. The transcription is pairwise (the psi kernel over all pairs) and shares no code
with petdx's sort-based placements. Tolerance: relative 1e-9 (absolute 1e-12 near 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from petdx.stats import obuchowski_auc, obuchowski_paired_test
from tests.stats.r_differential import datasets as gen
from tests.stats.r_differential.harness import petdx_run, report, run_r, tally


def test_clustered_auc_against_r_transcription(
    r_exe: tuple[str, str], tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    sets = gen.clustered_sets()
    columns = ("dataset", "truth", "score_1", "score_2", "cluster", "direction")
    gen.write_long(
        tmp_path / "clustered.csv",
        columns,
        (
            [d["dataset"], int(t), float(a), float(b), int(c), d["direction"]]
            for d in sets
            for t, a, b, c in zip(d["truth"], d["score_1"], d["score_2"], d["cluster"], strict=True)
        ),
    )
    r = run_r(*r_exe, "clustered.R", tmp_path)
    auc = tally("Obuchowski AUC, variance", rtol=1e-9, atol=1e-12)
    test = tally("Obuchowski paired z", rtol=1e-9, atol=1e-12)
    for d in sets:
        key, theirs = d["dataset"], r[d["dataset"]]
        for k in (1, 2):
            est = petdx_run(
                lambda d=d, k=k: obuchowski_auc(
                    d["truth"], d[f"score_{k}"], d["cluster"], direction=d["direction"]
                )
            ).value
            pairs = {"auc": (est.estimate, theirs[f"auc.{k}"])}
            pairs["var"] = (est.se**2, theirs.get(f"var.{k}", theirs["var.1"]))
            auc.compare(f"{key}.{k}", pairs, warned=bool(est.warnings))
        paired = petdx_run(
            lambda d=d: obuchowski_paired_test(
                d["truth"],
                d["score_1"],
                d["score_2"],
                d["cluster"],
                direction_1=d["direction"],
                direction_2=d["direction"],
            )
        ).value
        z = theirs.get("z", math.nan)
        reason = None
        if "zero.over.zero" in theirs:
            reason = "equal AUCs with zero variance: z = 0 by petdx's (pROC's) convention"
        test.compare(key, {"z": (paired.statistic, z)}, warned=bool(paired.warnings), reason=reason)
    report(record_property, "clustered AUC (Obuchowski 1997, R transcription)", [auc, test])
