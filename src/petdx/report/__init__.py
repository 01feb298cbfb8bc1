"""Reports: figures, the STARD 2015 flow diagram and checklist, HTML and PDF output.

The report lays out result objects computed elsewhere; it computes no statistic itself.
"""

from petdx.report.render import ReportPaths, render_html, write_report
from petdx.report.stard import STARD_2015_ITEMS, IndexTestArm, StardFlow, StardItem, flow_diagram

__all__ = [
    "STARD_2015_ITEMS",
    "IndexTestArm",
    "ReportPaths",
    "StardFlow",
    "StardItem",
    "flow_diagram",
    "render_html",
    "write_report",
]
