"""Primary-outcome statistics of a diagnostic-accuracy study, on tables (no imaging).

Every function returns a frozen result object (an :class:`Estimate`, a
:class:`HypothesisTest`, or a richer result built from them) carrying the estimate, its
interval, the method's name, the number of units and the warnings; the report lays these out
without recomputing anything. docs/stats.md says which function fills which STARD table.

Typical use::

    from petdx.stats import diagnostic_accuracy, roc_analysis, compare_aucs

    acc = diagnostic_accuracy(tp=670, fp=202, fn=74, tn=640)        # exact CIs, epiR-style
    roc = roc_analysis(truth, suv_max, direction="higher", cluster=patient_id)
    cmp = compare_aucs(truth, suv_ga68, suv_fdg, paired=True, cluster=patient_id)

Conventions: ``truth`` is True for diseased units; a ROC ``direction`` is always given by the
caller ("higher": ``score >= threshold`` is positive); undefined statistics are NaN with an
:class:`~petdx.errors.UndefinedStatisticWarning`, never an exception deep in a report run.
"""

from petdx.stats.accuracy import (
    AccuracyResult,
    ConfusionCounts,
    accuracy_from_labels,
    diagnostic_accuracy,
)
from petdx.stats.agreement import (
    BlandAltmanResult,
    IccEstimate,
    KappaResult,
    bland_altman,
    cohen_kappa,
    cohen_kappa_table,
    fleiss_kappa,
    icc,
    spearman,
)
from petdx.stats.bootstrap import BootstrapDesign
from petdx.stats.clustered import clustered_accuracy, clustered_mcnemar, clustered_proportion
from petdx.stats.clustered_roc import obuchowski_auc, obuchowski_paired_test
from petdx.stats.delong import (
    AucComparison,
    DeLongComponents,
    delong_auc,
    delong_components,
    delong_paired_test,
    delong_unpaired_test,
)
from petdx.stats.enums import (
    BinomialCi,
    ClusteredCi,
    ClusteredMcNemar,
    CutoffRule,
    IccForm,
    KappaWeights,
    KmConfType,
    MissingData,
    PairedDifferenceCi,
    RocDirection,
    SpearmanCi,
)
from petdx.stats.paired import (
    McNemarMethod,
    PairedAccuracyComparison,
    compare_paired_accuracy,
    mcnemar_test,
    paired_difference,
    wilcoxon_signed_rank,
)
from petdx.stats.proportions import binomial_interval, proportion
from petdx.stats.results import Estimate, HypothesisTest
from petdx.stats.retention import RetentionTests, clustered_mean_difference, retention_tests
from petdx.stats.roc import (
    Cutoff,
    RocCurve,
    hanley_mcneil_se,
    optimal_cutoff,
    partial_auc,
    roc_curve,
)
from petdx.stats.roc_analysis import (
    RocBand,
    RocResult,
    compare_aucs,
    partial_auc_bootstrap,
    roc_analysis,
    roc_band,
)
from petdx.stats.sample_size import (
    AucPowerResult,
    BudererResult,
    auc_difference_power,
    auc_power,
    buderer_sample_size,
)
from petdx.stats.survival import (
    CoxResult,
    CoxTerm,
    GroupSplit,
    KaplanMeierResult,
    cox_regression,
    kaplan_meier,
    logrank_test,
    split_groups,
)

__all__ = [
    "AccuracyResult",
    "AucComparison",
    "AucPowerResult",
    "BinomialCi",
    "BlandAltmanResult",
    "BootstrapDesign",
    "BudererResult",
    "ClusteredCi",
    "ClusteredMcNemar",
    "ConfusionCounts",
    "CoxResult",
    "CoxTerm",
    "Cutoff",
    "CutoffRule",
    "DeLongComponents",
    "Estimate",
    "GroupSplit",
    "HypothesisTest",
    "IccEstimate",
    "IccForm",
    "KaplanMeierResult",
    "KappaResult",
    "KappaWeights",
    "KmConfType",
    "McNemarMethod",
    "MissingData",
    "PairedAccuracyComparison",
    "PairedDifferenceCi",
    "RetentionTests",
    "RocBand",
    "RocCurve",
    "RocDirection",
    "RocResult",
    "SpearmanCi",
    "accuracy_from_labels",
    "auc_difference_power",
    "auc_power",
    "binomial_interval",
    "bland_altman",
    "buderer_sample_size",
    "clustered_accuracy",
    "clustered_mcnemar",
    "clustered_mean_difference",
    "clustered_proportion",
    "cohen_kappa",
    "cohen_kappa_table",
    "compare_aucs",
    "compare_paired_accuracy",
    "cox_regression",
    "delong_auc",
    "delong_components",
    "delong_paired_test",
    "delong_unpaired_test",
    "diagnostic_accuracy",
    "fleiss_kappa",
    "hanley_mcneil_se",
    "icc",
    "kaplan_meier",
    "logrank_test",
    "mcnemar_test",
    "obuchowski_auc",
    "obuchowski_paired_test",
    "optimal_cutoff",
    "paired_difference",
    "partial_auc",
    "partial_auc_bootstrap",
    "proportion",
    "retention_tests",
    "roc_analysis",
    "roc_band",
    "roc_curve",
    "spearman",
    "split_groups",
    "wilcoxon_signed_rank",
]
