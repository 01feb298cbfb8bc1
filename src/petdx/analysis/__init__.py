"""The study's pre-specified analyses: analysis datasets from the study database, every
primary and secondary outcome computed with :mod:`petdx.stats`, written for the report."""

from petdx.analysis.datasets import AnalysisData, load_analysis_data, metric_column
from petdx.analysis.export import write_analysis
from petdx.analysis.outcomes import StudyResults, analyse
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.layout import ResultsFolder, StudyLayout

__all__ = [
    "AnalysisData",
    "StudyResults",
    "analyse",
    "analyse_into",
    "analyse_study",
    "load_analysis_data",
    "metric_column",
    "write_analysis",
]


def analyse_study(
    study: StudyFolder, database: StudyDatabase, *, summaries: StudyLayout | None = None
) -> StudyResults:
    """Load the analysis datasets of a study and compute every pre-specified analysis.

    ``database`` may be the live study database or a locked snapshot's
    (:func:`petdx.study.snapshots.snapshot_database`); ``summaries`` is where the patients'
    quantification summaries are read (default: the study's ``derived/``).
    """
    return analyse(load_analysis_data(study, database, summaries=summaries))


def analyse_into(
    study: StudyFolder,
    database: StudyDatabase,
    out: ResultsFolder,
    *,
    summaries: StudyLayout | None = None,
) -> StudyResults:
    """The analysis stage of ``petdx run`` (and of a snapshot's analyses): compute every
    pre-specified analysis and write results.json and the analysis tables into ``out``."""
    results = analyse_study(study, database, summaries=summaries)
    write_analysis(results, out.path)
    return results
