"""``petdx.study.layout``: names from data become study paths only when they are safe
(issue 19, path traversal): every builder refuses ``..``, absolute paths, separators, NUL and
over-long names with an error naming the field, and nothing is created anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from petdx.errors import InputValidationError
from petdx.fileio import PATH_COMPONENT, check_path_component, path_component_problem
from petdx.study.layout import StudyLayout, scan_folder_name

#: (value, what the error says): the audit's attack ``../../../../tmp/x/PWNED`` and its kin.
BAD_NAMES = [
    ("../../../../tmp/x/PWNED", "path separator"),
    ("..", "'..'"),
    ("SIM..0001", "'..'"),
    ("/tmp/x/PWNED", "path separator"),
    ("C:\\x\\PWNED", "path separator"),
    ("..\\..\\PWNED", "path separator"),
    ("SIM\x000001", "NUL"),
    ("x" * 65, "65 characters long"),
    ("", "empty"),
    (".hidden", "must start with a letter or digit"),
    ("-rf", "must start with a letter or digit"),
    ("SIM 0001", "must start with a letter or digit"),
    ("SIM:0001", "must start with a letter or digit"),
    ("SIMé0001", "must start with a letter or digit"),
]
GOOD_NAMES = ["SIM-0001", "P1", "2.25.123456789", "f18-fdg", "a_b.c-d", "x" * 64]


@pytest.mark.parametrize(("value", "reason"), BAD_NAMES)
def test_unsafe_names_are_refused_with_the_field_and_the_reason(value: str, reason: str) -> None:
    assert reason in (path_component_problem(value) or "")
    with pytest.raises(InputValidationError, match=rf"^patient_id .*{reason}.*correct the"):
        check_path_component(value, field="patient_id")


@pytest.mark.parametrize("value", GOOD_NAMES)
def test_pseudonyms_uids_and_profile_names_are_accepted(value: str) -> None:
    assert path_component_problem(value) is None
    assert check_path_component(value, field="patient_id") == value
    assert os.path.basename(value) == value  # one component, as the OS sees it


def test_a_long_value_is_shown_cut_short() -> None:
    with pytest.raises(InputValidationError) as caught:
        check_path_component("../" * 500, field="lesion_id")
    message = str(caught.value)
    assert "../" * 30 not in message  # 60 characters of the value at most
    assert "'../../" in message
    assert "1500 characters long" in message


def test_the_pattern_is_the_documented_one() -> None:
    assert PATH_COMPONENT.pattern == r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


def _builders(layout: StudyLayout, value: str) -> dict[str, object]:
    """Every layout call that takes a name from data, with ``value`` in each argument."""
    return {
        "series_folder patient": lambda: layout.series_folder(value, "2.25.1", "PT", "2.25.2"),
        "series_folder study": lambda: layout.series_folder("SIM-0001", value, "PT", "2.25.2"),
        "series_folder kind": lambda: layout.series_folder("SIM-0001", "2.25.1", value, "2.25.2"),
        "series_folder series": lambda: layout.series_folder("SIM-0001", "2.25.1", "PT", value),
        "derived_patient": lambda: layout.derived_patient(value),
        "patient_summary": lambda: layout.patient_summary(value),
        "derived_scan patient": lambda: layout.derived_scan(value, "f18-fdg", 60),
        "derived_scan tracer": lambda: layout.derived_scan("SIM-0001", value, 60),
        "scan_mip patient": lambda: layout.scan_mip(value, "f18-fdg", 60),
        "scan_mip tracer": lambda: layout.scan_mip("SIM-0001", value, 60),
    }


@pytest.mark.parametrize(("value", "reason"), BAD_NAMES)
def test_every_layout_builder_refuses_unsafe_names_and_creates_nothing(
    tmp_path: Path, value: str, reason: str
) -> None:
    root = tmp_path / "study"
    root.mkdir()
    layout = StudyLayout(root)
    for name, build in _builders(layout, value).items():
        with pytest.raises(InputValidationError, match=reason):
            build()  # type: ignore[operator]
        assert list(tmp_path.rglob("*")) == [root], name


def test_safe_names_give_the_documented_locations(tmp_path: Path) -> None:
    layout = StudyLayout(tmp_path)
    assert layout.series_folder("SIM-0001", "2.25.1", "PT", "2.25.2") == (
        tmp_path / "images" / "SIM-0001" / "2.25.1" / "PT_2.25.2"
    )
    assert layout.scan_mip("SIM-0001", "f18-fdg", 60) == (
        tmp_path / "derived" / "SIM-0001" / "f18-fdg_60min" / "mip.npz"
    )
    assert scan_folder_name("f18-fdg", 60) == "f18-fdg_60min"
    with pytest.raises(InputValidationError, match="time_point_min '60' is not a whole number"):
        scan_folder_name("f18-fdg", "60")  # type: ignore[arg-type]


@pytest.mark.parametrize("stored", ["../outside", "/etc", "images/../../outside", "a\x00b"])
def test_a_stored_folder_leading_outside_the_study_is_refused(tmp_path: Path, stored: str) -> None:
    layout = StudyLayout(tmp_path / "study")
    with pytest.raises(InputValidationError, match=r"^series folder .*not a path inside"):
        layout.stored(stored, field="series folder")


def test_a_stored_folder_inside_the_study_is_returned(tmp_path: Path) -> None:
    layout = StudyLayout(tmp_path)
    assert layout.stored("images/SIM-0001/x") == tmp_path / "images" / "SIM-0001" / "x"


def test_inside_refuses_a_path_that_climbs_out(tmp_path: Path) -> None:
    layout = StudyLayout(tmp_path / "study")
    assert layout.inside(tmp_path / "study" / "a" / ".." / "b", field="x")
    with pytest.raises(InputValidationError, match=r"^patient_id .*leads outside the study"):
        layout.inside(tmp_path / "study" / ".." / "elsewhere", field="patient_id")
    with pytest.raises(InputValidationError, match="leads outside the study"):
        layout.inside(tmp_path / "study-sibling", field="patient_id")  # not a prefix match
