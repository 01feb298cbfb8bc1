"""The report's tables as a Word document (``report/tables.docx``) for a journal submission.

The tables are taken from the rendered report HTML itself (headers, rows, the heading they
stand under), so the document shows exactly what the report shows, numbered in order
("Table 1. Headline results", ...). Journal style: no vertical rules, a rule under the header,
numbers right-aligned, the header row repeated when a table runs onto the next page.
Written with python-docx, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from petdx.fileio import atomic_output

__all__ = ["HtmlTable", "html_tables", "write_tables_docx"]

#: Tables of the report that are not results (the study folder's hashes and settings).
_SKIPPED_HEADINGS = ("Provenance", "Study configuration (study.toml)")


@dataclass
class HtmlTable:
    """One ``<table>`` of the report: the heading it stands under, header and body rows,
    and which columns are numeric (``class="num"``)."""

    heading: str
    header: list[list[str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    numeric: set[int] = field(default_factory=set)


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[HtmlTable] = []
        self._heading = ""
        self._in_heading = False
        self._heading_text: list[str] = []
        self._table: HtmlTable | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2", "h3"):
            self._in_heading, self._heading_text = True, []
        elif tag == "table":
            self._table = HtmlTable(self._heading)
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            if "num" in (dict(attrs).get("class") or "").split() and self._table is not None:
                self._table.numeric.add(len(self._row))
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3") and self._in_heading:
            self._in_heading = False
            self._heading = " ".join("".join(self._heading_text).split())
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            target = self._table.header if self._in_head else self._table.rows
            target.append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self._heading_text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def html_tables(html: str) -> list[HtmlTable]:
    """The result tables of a report's HTML, in order (provenance and settings left out)."""
    parser = _Tables()
    parser.feed(html)
    parser.close()
    return [t for t in parser.tables if t.heading not in _SKIPPED_HEADINGS and t.rows]


def write_tables_docx(html: str, path: Path, *, title: str) -> Path:
    """Write every result table of the report ``html`` to a DOCX file at ``path``."""
    import docx
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = docx.Document()
    style = document.styles["Normal"]
    style.font.name = "DejaVu Sans"
    style.font.size = Pt(9)
    document.add_heading(title, level=1)
    for number, table in enumerate(html_tables(html), start=1):
        document.add_paragraph().add_run(f"Table {number}. {table.heading}").bold = True
        width = max(len(r) for r in [*table.header, *table.rows])
        grid = document.add_table(rows=0, cols=width)
        grid.alignment = WD_TABLE_ALIGNMENT.LEFT
        for k, row in enumerate([*table.header, *table.rows]):
            is_header = k < len(table.header)
            cells = grid.add_row().cells
            for j, text in enumerate(row):
                paragraph = cells[j].paragraphs[0]
                run = paragraph.add_run(text)
                run.bold = is_header
                if j in table.numeric:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if is_header:  # repeated on every page the table spans; a rule under it
                properties = grid.rows[k]._tr.get_or_add_trPr()
                repeat = OxmlElement("w:tblHeader")
                repeat.set(qn("w:val"), "true")
                properties.append(repeat)
                for cell in cells:
                    _bottom_rule(cell)
        document.add_paragraph()
    with atomic_output(path, suffix=".docx") as tmp:
        document.save(str(tmp))
    return path


def _bottom_rule(cell: Any) -> None:
    """A single black rule under a header cell (journal tables: no vertical rules)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = OxmlElement("w:tcBorders")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    cell._tc.get_or_add_tcPr().append(borders)
