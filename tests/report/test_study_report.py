"""The demo study's report: HTML in headless Chromium, PDF rasterised with pdftoppm."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tests.demo_study import DemoStudy

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"


def test_html_loads_every_image_without_console_errors(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    html = demo_study.reference / "report" / "report.html"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])"
        )
        screenshot = tmp_path / "report.png"
        page.screenshot(path=str(screenshot), full_page=False)
        browser.close()
    assert errors == []
    assert len(images) >= 10
    broken = [alt for complete, width, alt in images if not complete or width == 0]
    assert broken == []
    assert screenshot.stat().st_size > 10_000


def test_pdf_pages_are_not_blank_and_hold_every_figure(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    pdf = demo_study.reference / "report" / "report.pdf"
    subprocess.run(
        ["pdftoppm", "-r", "20", "-gray", "-png", str(pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 8
    for page in pages:
        pixels = imread(page)
        ink = (pixels < 0.9).mean()
        assert ink > 0.002, f"{page.name} is blank"
    # the figures are vector in the PDF (SVG): their text is text; the MIPs' pixels are images
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for needle in ("Potentially eligible participants", "Lesion uptake at both time points"):
        assert needle in text
    listing = subprocess.run(
        ["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    mips = len(list((demo_study.reference / "report" / "figures").glob("mip-*.svg")))
    assert mips >= 1
    assert len([row for row in listing if " image " in row]) >= mips


def test_every_figure_has_alt_text_and_its_files_beside_the_report(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    """Every <img> has alt text; every figure is in report/figures/ as a 300 dpi PNG, an SVG
    and a PDF that parse (the journal's separate figure files)."""
    import xml.etree.ElementTree as ET

    from PIL import Image

    text = (demo_study.reference / "report" / "report.html").read_text()
    images = re.findall(r"<img [^>]*>", text)
    assert len(images) >= 10
    alts = [re.search(r'alt="([^"]*)"', img) for img in images]
    assert all(a and a.group(1).strip() for a in alts), "an image without alt text"
    folder = demo_study.reference / "report" / "figures"
    stems = sorted(p.stem for p in folder.glob("*.png"))
    assert len(stems) == len(images)
    assert stems[0] == "figure-01-flow"
    for stem in stems:
        with Image.open(folder / f"{stem}.png") as png:
            assert png.info["dpi"] == pytest.approx((300, 300), abs=0.01), stem
        assert ET.parse(folder / f"{stem}.svg").getroot().tag.endswith("svg")
        info = subprocess.run(
            ["pdfinfo", str(folder / f"{stem}.pdf")], capture_output=True, text=True
        )
        assert info.returncode == 0, stem
        assert re.search(r"^Pages:\s+1$", info.stdout, re.M), stem


def test_report_sections_present(demo_study: DemoStudy) -> None:
    text = (demo_study.reference / "report" / "report.html").read_text()
    for needle in (
        "STARD 2015 flow",
        "Baseline characteristics",
        "Diagnostic accuracy",
        "ROC analysis",
        "PD-L1",
        "Retention",
        "Inter-reader agreement",
        "Survival",
        "maximum-intensity projections",
        "STARD 2015 checklist",
        "Provenance",
        "Clopper-Pearson",
        "Obuchowski",
    ):
        assert needle in text, needle
    assert not np.any([name in text for name in ("SYNTHETIC^", "Synthetic^")])


def test_patient_accuracy_table_counts_match_a_recount_of_the_analysis_set(
    demo_study: DemoStudy,
) -> None:
    """STARD 23-24 in journal form: the 2x2 table with totals, the prevalence and each
    proportion as n/N (%), recounted here from the exported analysis set (pandas), not
    taken from the results the report was written from."""
    import re

    import pandas as pd

    rows = pd.read_csv(demo_study.reference / "results" / "analysis_patients.csv")
    rows = rows[rows["enrolled"] & rows["target"].notna() & rows["visual_positive"].notna()]
    test = rows["visual_positive"].astype(bool)
    target = rows["target"].astype(bool)
    tp, fp = int((test & target).sum()), int((test & ~target).sum())
    fn, tn = int((~test & target).sum()), int((~test & ~target).sum())
    n = tp + fp + fn + tn
    text = (demo_study.reference / "report" / "report.html").read_text()
    start = text.index("Patient level — Visual read")
    block = text[start : text.index("</table>", text.index("</table>", start) + 8)]
    numbers = re.findall(r'<td class="num">([^<]*)</td>', block)
    assert numbers[:9] == [str(v) for v in (tp, fp, tp + fp, fn, tn, fn + tn, tp + fn, fp + tn, n)]
    assert f"{tp}/{tp + fn} ({round(100 * tp / (tp + fn))} %)" in block
    assert f"Prevalence of the target condition: {tp + fn}/{n}" in block
    assert f"{tp + tn}/{n} ({round(100 * (tp + tn) / n)} %)" in block


def test_every_stard_checklist_link_points_to_a_section_of_the_report(
    demo_study: DemoStudy,
) -> None:
    """The checklist used to name Methods paragraphs ('indeterminate results', 'missing
    data', 'eligibility') that the report did not have."""
    import re

    text = (demo_study.reference / "report" / "report.html").read_text()
    checklist = text[text.index('id="checklist"') :]
    links = re.findall(r'<a href="#([^"]+)">', checklist)
    ids = set(re.findall(r'id="([^"]+)"', text))
    assert len(links) >= 15
    assert sorted(set(links) - ids) == []
    for anchor in ("methods-indeterminate", "methods-missing", "methods-eligibility"):
        assert anchor in links
    # the methods say what ran: reads are imported, petdx did not show the images
    assert "reader view" not in text
    assert "imported into the study database" in text


def test_tables_show_labels_from_the_data_dictionary_not_codes(demo_study: DemoStudy) -> None:
    """Raw codes (nsclc, breast_tnbc, 'Sex: F', ga68-dota-blp) and Python values (True) read
    as their data-dictionary labels."""
    import re

    from petdx.data_dictionary import CODE_LABELS

    text = (demo_study.reference / "report" / "report.html").read_text()
    baseline = text[text.index("Baseline characteristics") : text.index('id="accuracy"')]
    cells = re.findall(r"<td>([^<]*)</td>", baseline)
    for code in ("nsclc", "breast_tnbc", "melanoma", "ga68-dota-blp", "True", "False"):
        assert not [c for c in cells if re.search(rf"\b{re.escape(code)}\b", c)], code
    assert "Sex: F" not in cells
    assert any(c.startswith("Sex: ") and c[5:] in CODE_LABELS.values() for c in cells)
    assert f"Diagnostic accuracy of <b>{CODE_LABELS['ga68-dota-blp']}</b>" in text


def test_stard_18_and_28_say_what_the_trial_record_gives(demo_study: DemoStudy) -> None:
    """The demo study's intended size is the trial record's estimated enrolment (50); the
    record's text has no registry number, so the report says it is not given."""
    text = (demo_study.reference / "report" / "report.html").read_text()
    assert re.search(r"Intended sample size:\s+50 patients \(trial record", text)
    assert re.search(r'id="registration"[^>]*>Trial registration: not given', text)
    checklist = text[text.index('id="checklist"') :]
    assert "Registration number not given" in checklist
    assert '<a href="#methods-sample-size">' in checklist


def test_methods_state_how_bootstrap_replicates_with_a_zero_denominator_are_handled(
    demo_study: DemoStudy,
) -> None:
    text = (demo_study.reference / "report" / "report.html").read_text()
    methods = text[text.index('id="methods-statistics"') : text.index('id="flow"')]
    assert "Haldane-Anscombe" in methods
    accuracy = text[text.index('id="accuracy"') : text.index('id="roc"')]
    assert "replicates with a zero denominator corrected (0.5 added)" in accuracy
    assert "replicates undefined (zero denominator), left out" not in accuracy


def test_tables_docx_holds_the_reports_result_tables(demo_study: DemoStudy) -> None:
    """report/tables.docx: every result table of the HTML, numbered, cells as shown."""
    import docx

    from petdx.report.docx_tables import html_tables

    html = (demo_study.reference / "report" / "report.html").read_text()
    tables = html_tables(html)
    assert len(tables) >= 10
    document = docx.Document(str(demo_study.reference / "report" / "tables.docx"))
    assert len(document.tables) == len(tables)
    captions = [p.text for p in document.paragraphs if p.text.startswith("Table ")]
    assert captions[0] == "Table 1. Headline results"
    assert any("Patient level — Visual read" in c for c in captions)
    for table, grid in zip(tables, document.tables, strict=True):
        shown = [[cell.text for cell in row.cells] for row in grid.rows]
        assert shown[len(table.header) :] == [
            row + [""] * (len(shown[0]) - len(row)) for row in table.rows
        ]
