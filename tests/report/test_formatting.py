"""Report number formatting follows journal conventions (AMA Manual of Style 11th ed.)."""

from __future__ import annotations

import pytest

from petdx.report.formatting import (
    MINUS,
    fmt_count_of,
    fmt_estimate,
    fmt_median_survival,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_plain,
)


def test_negative_numbers_carry_a_true_minus_and_intervals_read_low_to_high() -> None:
    # the reported case: "-0.071 (-0.147–0.006)" read as a range from minus to minus
    text = fmt_estimate({"estimate": -0.0712, "ci_low": -0.1468, "ci_high": 0.0061}, 3)
    assert text == f"{MINUS}0.071 ({MINUS}0.147 to 0.006)"
    assert not {"-", "–"} & set(text)
    assert fmt_number(-0.0004, 3) == "0.000"  # rounds to zero: no sign
    assert fmt_percent(-0.25) == f"{MINUS}25.0 %"


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.9951, "p > 0.99"),  # printed "p = 1.00" before
        (0.99, "p = 0.99"),
        (0.4449, "p = 0.44"),
        (0.0712, "p = 0.071"),
        (0.00099, "p < 0.001"),
        (float("nan"), "—"),
        (None, "—"),
    ],
)
def test_p_values_never_round_to_one_or_zero(p: float | None, text: str) -> None:
    assert fmt_p(p) == text


def test_median_survival_shows_its_interval_and_not_reached() -> None:
    assert fmt_median_survival({"estimate": 14.23, "ci_low": 9.06, "ci_high": 20.1}) == (
        "14.2 (9.1 to 20.1)"
    )
    # R survfit prints NA for a bound the band never reaches; the report says NR
    assert fmt_median_survival({"estimate": 14.2, "ci_low": 9.1, "ci_high": None}) == (
        "14.2 (9.1 to NR)"
    )
    assert fmt_median_survival({"estimate": None, "ci_low": None, "ci_high": None}) == (
        "NR (NR to NR)"
    )
    assert fmt_median_survival(None) == "—"


def test_proportions_are_counts_then_percent_as_stard_24_asks() -> None:
    assert fmt_count_of(32, 40) == "32/40 (80 %)"
    assert fmt_count_of(7, 8) == "7/8 (88 %)"
    assert fmt_count_of(0, 0) == "0/0"
    assert fmt_count_of(None, 8) == "—"


def test_settings_print_as_a_reader_writes_them_not_as_python_does() -> None:
    assert fmt_plain([60, 120]) == "60, 120"
    assert fmt_plain(True) == "yes"
    assert fmt_plain(None) == "—"
    assert fmt_plain(["lesion_level_accuracy"]) == "lesion_level_accuracy"
    assert fmt_plain(3.0) == "3"
    assert fmt_plain(0.001) == "0.001"
    assert fmt_plain(-2.5) == f"{MINUS}2.5"
