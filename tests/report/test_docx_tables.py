"""The report's tables as DOCX: what the HTML shows, numbered, header rows repeated."""

from __future__ import annotations

from pathlib import Path

import docx

from petdx.report.docx_tables import html_tables, write_tables_docx

_HTML = """<h2>Participants</h2><h3>Baseline characteristics</h3>
<table><thead><tr><th>Characteristic</th><th class="num">Value</th></tr></thead>
<tr><td>Patients enrolled</td><td class="num">8</td></tr>
<tr><td>Sex: Female</td><td class="num">3/8 (38 %)</td></tr></table>
<h3>Empty</h3><table><thead><tr><th>x</th></tr></thead></table>
<h2 id="provenance">Provenance</h2><table><tr><td>hash</td><td>abc</td></tr></table>
<h3>Level &mdash; test</h3><table><thead><tr><th></th><th class="num">n</th></tr></thead>
<tr><td>a<br>b</td><td class="num">&minus;0.07</td></tr></table>"""


def test_tables_are_read_with_their_headings_and_numeric_columns() -> None:
    tables = html_tables(_HTML)
    assert [t.heading for t in tables] == ["Baseline characteristics", "Level — test"]
    baseline = tables[0]
    assert baseline.header == [["Characteristic", "Value"]]
    assert baseline.rows == [["Patients enrolled", "8"], ["Sex: Female", "3/8 (38 %)"]]
    assert baseline.numeric == {1}
    assert tables[1].rows == [["a b", "−0.07"]]


def test_docx_holds_every_table_numbered_with_repeated_headers(tmp_path: Path) -> None:
    path = write_tables_docx(_HTML, tmp_path / "tables.docx", title="Study: tables")
    document = docx.Document(str(path))
    captions = [p.text for p in document.paragraphs if p.text.startswith("Table ")]
    assert captions == ["Table 1. Baseline characteristics", "Table 2. Level — test"]
    first = document.tables[0]
    assert [c.text for c in first.rows[2].cells] == ["Sex: Female", "3/8 (38 %)"]
    header_xml = first.rows[0]._tr.xml
    assert "w:tblHeader" in header_xml
    assert first.rows[1].cells[1].paragraphs[0].alignment == 2  # right (WD_ALIGN_PARAGRAPH)
    assert not list(tmp_path.glob("*.tmp*"))
