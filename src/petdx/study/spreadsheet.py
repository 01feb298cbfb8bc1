"""Text cells of CSV files that people open in spreadsheet programs, safe from formulas.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(and some also after a leading tab or carriage return), so a text value such as
``=HYPERLINK("http://...")``, ``=cmd|' /C calc'!A0`` or ``@SUM(A1:A9)`` typed into a study
record would run on the coordinator's computer when the export is opened (CSV injection,
OWASP). Following the OWASP guidance, :func:`spreadsheet_text` writes such a text cell with a
leading single quote, which every spreadsheet program shows as "literal text" and does not
display; :func:`from_spreadsheet_text` takes it off again, so an export imports back unchanged.

Only text is neutralised: numbers are not text cells (a negative number stays a number), and
a text cell that is a plain number (``-3``, ``+1.5e-3``) is left as it is, since a spreadsheet
reads it as that number, not as a formula. Parquet keeps every value exactly.

The rule is reversible for every text: a quote is added when the text, after any leading
quotes, starts with a formula character (and is not a plain number); one quote is removed when
one or more quotes are followed by a formula character. A file written by hand with
``'=x`` (the spreadsheet way of typing the literal ``=x``) therefore imports as ``=x``.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_START", "from_spreadsheet_text", "spreadsheet_text"]

#: The characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _formula_leading(text: str) -> bool:
    return text.lstrip("'")[:1] in FORMULA_START


def spreadsheet_text(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows literally (module docstring)."""
    if _formula_leading(text) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def from_spreadsheet_text(text: str) -> str:
    """The text of a cell written by :func:`spreadsheet_text` (the inverse)."""
    if text.startswith("'") and _formula_leading(text):
        return text[1:]
    return text
