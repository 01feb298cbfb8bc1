"""The study's pre-specified analyses: analysis datasets from the study database, every
primary and secondary outcome computed with :mod:`petdx.stats`, written for the report."""

from petdx.analysis.datasets import AnalysisData, load_analysis_data, metric_column
from petdx.analysis.export import write_analysis
from petdx.analysis.outcomes import StudyResults, analyse
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase

__all__ = [
    "AnalysisData",
    "StudyResults",
    "analyse",
    "analyse_study",
    "load_analysis_data",
    "metric_column",
    "write_analysis",
]


def analyse_study(study: StudyFolder, database: StudyDatabase) -> StudyResults:
    """Load the analysis datasets of a study and compute every pre-specified analysis."""
    return analyse(load_analysis_data(study, database))
