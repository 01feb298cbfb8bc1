"""``petdx.study.forms``: forms generated from the data dictionary, validated by the import's
rules (nothing stored on error), saved through the audited records, completion and reasons,
sites and hospital identifiers, live eligibility, field history. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from petdx.data_dictionary import TABLES, FieldType
from petdx.study.audit import audit_history, verify_audit_trail
from petdx.study.database import StudyDatabase
from petdx.study.eligibility import Verdict
from petdx.study.field_history import field_history
from petdx.study.forms import (
    DRAFT_REASON,
    FORMS,
    AccessRefused,
    FormRejected,
    assign_unsited_patients,
    form_records,
    forms_with_records,
    hospital_identifiers,
    list_patients,
    mark_complete,
    next_record_id,
    patient_site,
    save_form,
    validate_form,
)
from petdx.study.importing import ImportRejected, import_csv
from petdx.study.live_eligibility import live_eligibility
from petdx.study.records import Author, get_record, insert_record
from petdx.study.roles import Role
from petdx.study.schema import IMPORTABLE
from petdx.study.validation import MAX_TEXT_CHARS
from tests.study.cohort import EXPOSURES, PATIENTS, SCREENING, write_csv

ME = Author("coord-a")
P1 = PATIENTS[0]
S1 = SCREENING[0]


def _enter_patient(database: StudyDatabase, site: str = "site-a") -> None:
    with database.begin() as c:
        save_form(c, "patients", P1, author=ME, create=True, site=site)
        save_form(c, "screening", S1, author=ME, create=True)


def test_every_form_is_its_dictionary_table_field_by_field() -> None:
    assert set(FORMS) <= set(IMPORTABLE)
    assert {"patients", "screening", "exposures", "scans", "pathology", "follow_up"} <= set(FORMS)
    for spec in FORMS.values():
        table = TABLES[spec.table]
        assert spec.field_names == table.field_names
        for f, d in zip(spec.fields, table.fields, strict=True):
            assert (f.type, f.unit, f.required, f.minimum, f.maximum) == (
                d.type,
                d.unit,
                d.required,
                d.minimum,
                d.maximum,
            )
            if d.type is FieldType.CODE:
                assert tuple(c.code for c in f.codes) == d.allowed
            assert d.description in f.help
            if d.unit:
                assert d.unit in f.help
    weight = FORMS["patients"].field("weight_kg")
    assert (weight.input, weight.step) == ("number", "any")
    assert "from 25 to 300" in weight.help
    assert FORMS["pathology"].field("pdl1_assay").codes[0].label == "22C3 (Dako)"
    assert FORMS["scans"].field("modality").codes[1].code == "PET/MR"
    assert FORMS["screening"].field("consent_signed").codes[0].label == "Yes"


def test_a_patient_entered_by_forms_is_stored_with_its_site_and_audited(
    database: StudyDatabase,
) -> None:
    _enter_patient(database)
    with database.begin() as c:
        stored = get_record(c, "patients", {"patient_id": "SIM-0001"})
        assert stored is not None
        assert stored["weight_kg"] == 62.5
        assert patient_site(c, "SIM-0001") == "site-a"
        history = audit_history(c, patient_id="SIM-0001")
        assert verify_audit_trail(c).ok
        assert [p.patient_id for p in list_patients(c, site="site-a")] == ["SIM-0001"]
        assert list_patients(c, site="site-b") == []
    tables = [e.table_name for e in history if e.action == "insert"]
    assert tables[:3] == ["patients", "patient_sites", "screening"]
    assert {e.actor for e in history} == {"coord-a"}


def _base_values(form: str) -> dict[str, str]:
    if form == "patients":
        return {**P1, "patient_id": "SIM-0009"}
    if form == "screening":
        return dict(S1)
    if form == "exposures":
        return {**EXPOSURES[0], "exposure_id": "EXP-9"}
    raise AssertionError(form)


#: (form, field, bad text, words of the expected message): at least 20 kinds of bad input.
BAD_INPUTS = [
    ("patients", "weight_kg", "heavy", "expected a number in kg"),
    ("patients", "weight_kg", "301", "above the maximum 300 kg"),
    ("patients", "weight_kg", "24.9", "below the minimum 25 kg"),
    ("patients", "weight_kg", "nan", "expected a number"),
    ("patients", "weight_kg", "inf", "expected a number"),
    ("patients", "weight_kg", "62,5", "expected a number"),
    ("patients", "ecog", "1.5", "expected a whole number"),
    ("patients", "ecog", "5", "above the maximum 4"),
    ("patients", "ecog", "-1", "below the minimum 0"),
    ("patients", "sex", "female", "expected one of M, F, O"),
    ("patients", "sex", "", "required value missing"),
    ("patients", "birth_date", "15/03/1960", "expected a date YYYY-MM-DD"),
    ("patients", "birth_date", "1960-3-15", "expected a date YYYY-MM-DD"),
    ("patients", "birth_date", "19600315", "expected a date YYYY-MM-DD"),
    ("patients", "birth_date", "1960-02-30", "February 1960 has 29 days"),
    ("patients", "birth_date", "March 15, 1960", "expected a date YYYY-MM-DD"),
    ("patients", "birth_date", "2025-06-01", "screening cannot be before birth"),
    ("patients", "patient_id", "../../etc/passwd", "identifier"),
    ("patients", "patient_id", "SIM'; DROP TABLE patients; --", "identifier"),
    ("patients", "patient_id", "S" * 65, "identifier"),
    ("patients", "patient_id", "SIM\x000009", "identifier"),
    ("patients", "tumour_type", "' OR 1=1 --", "expected one of"),
    ("patients", "height_m", "1.70m", "expected a number in m"),
    ("screening", "consent_signed", "YES", "expected one of yes, no, unknown"),
    ("screening", "consent_date", "2025-05-20", "consent must be signed on or before"),
    ("screening", "planned_scan_date", "1959-01-01", "dated before the patient's birth"),
    ("screening", "investigator_reason", "x" * (MAX_TEXT_CHARS + 1), "at most 2000"),
    ("screening", "investigator_reason", "ok\x07bell", "control character (U+0007)"),
    ("screening", "investigator_reason", "ok\x1b[31m", "control character (U+001B)"),
    ("screening", "investigator_reason", "abc\u202edcba", "bidirectional-text control"),
    ("screening", "patient_id", "SIM-0404", "patient not in the study"),
    ("exposures", "exposure_date", "2025-01-10T10:00:00", "expected a date YYYY-MM-DD"),
    ("exposures", "modality", "MRI", "expected one of"),
    ("exposures", "ct_dlp_mgy_cm", "1e9", "above the maximum 20000 mGy.cm"),
    ("exposures", "ct_region", "chest; DELETE FROM exposures", "expected one of"),
]


@pytest.mark.parametrize(("form", "name", "text", "words"), BAD_INPUTS)
def test_bad_input_gives_a_field_message_and_stores_nothing(
    database: StudyDatabase, form: str, name: str, text: str, words: str
) -> None:
    _enter_patient(database)
    before = database.content_hash()
    values = {**_base_values(form), name: text}
    with pytest.raises(FormRejected) as info, database.begin() as c:
        save_form(c, form, values, author=ME, create=form != "screening")
    fields = {m.field for m in info.value.messages}
    assert name in fields, info.value.messages
    assert any(words in m.message for m in info.value.messages if m.field == name), str(info.value)
    assert database.content_hash() == before


def test_the_same_bad_cells_are_refused_by_the_import(
    database: StudyDatabase, tmp_path: Path
) -> None:
    """One rule set: every bad patients cell the forms refuse, the CSV import refuses too."""
    for form, name, text, words in BAD_INPUTS:
        if form != "patients" or "\x00" in text:
            continue
        path = write_csv(tmp_path / "p.csv", [{**_base_values(form), name: text}])
        with pytest.raises(ImportRejected, match=words.replace("(", r"\(")):
            import_csv(database, "patients", path, author=ME)


def test_sql_like_and_markup_text_is_stored_verbatim(database: StudyDatabase) -> None:
    _enter_patient(database)
    text = "Robert'); DROP TABLE patients;-- <script>alert(1)</script>"
    values = {
        **S1,
        "investigator_excludes": "yes",
        "investigator_reason": text,
    }
    with database.begin() as c:
        save_form(c, "screening", values, author=Author("coord-a", "PI note"))
        stored = get_record(c, "screening", {"patient_id": "SIM-0001"})
        assert stored is not None
        assert stored["investigator_reason"] == text
        assert get_record(c, "patients", {"patient_id": "SIM-0001"}) is not None


def test_creating_an_existing_record_or_anothers_is_refused(database: StudyDatabase) -> None:
    _enter_patient(database)
    with database.begin() as c:
        checked = validate_form(c, "patients", P1, create=True)
        assert [m.field for m in checked.messages] == ["patient_id"]
        assert "already exists" in checked.messages[0].message
        save_form(c, "patients", {**PATIENTS[1]}, author=ME, create=True, site="site-a")
        save_form(c, "exposures", EXPOSURES[0], author=ME, create=True)
        other = {**EXPOSURES[0], "patient_id": "SIM-0002"}
        checked = validate_form(c, "exposures", other)
        assert any("another patient" in m.message for m in checked.messages)
        assert next_record_id(c, "SIM-0001", "exposures") == "SIM-0001-X2"


def test_edits_before_and_after_completion(database: StudyDatabase) -> None:
    _enter_patient(database)
    with database.begin() as c:
        save_form(c, "patients", {**P1, "weight_kg": "63"}, author=ME)
        assert audit_history(c, table_name="patients")[-1].reason == DRAFT_REASON
        assert mark_complete(c, "SIM-0001", "patients", author=ME)
        assert not mark_complete(c, "SIM-0001", "patients", author=ME)
    before = database.content_hash()
    with pytest.raises(FormRejected) as info, database.begin() as c:
        save_form(c, "patients", {**P1, "weight_kg": "64"}, author=ME)
    assert [m.field for m in info.value.messages] == ["reason"]
    assert database.content_hash() == before
    with database.begin() as c:
        result = save_form(
            c, "patients", {**P1, "weight_kg": "64"}, author=Author("coord-a", "re-weighed")
        )
        assert result.action == "updated"
        history = field_history(c, "patients", {"patient_id": "SIM-0001"}, "weight_kg")
        unchanged = save_form(c, "patients", {**P1, "weight_kg": "64"}, author=ME)
        assert unchanged.action == "unchanged"
    assert [(h.action, h.old, h.new, h.reason) for h in history] == [
        ("insert", None, 62.5, None),
        ("update", 62.5, 63.0, DRAFT_REASON),
        ("update", 63.0, 64.0, "re-weighed"),
    ]
    assert {h.actor for h in history} == {"coord-a"}


def test_hospital_identifiers_only_for_coordinators_of_the_site(
    database: StudyDatabase,
) -> None:
    _enter_patient(database)
    with database.begin() as c:
        insert_record(
            c,
            "patient_identity",
            {"patient_id": "SIM-0001", "hospital_id": "H-123456", "issuer": "CHU"},
            author=ME,
        )
        assert hospital_identifiers(c, "SIM-0001", role=Role.COORDINATOR, site="site-a") == [
            ("CHU", "H-123456")
        ]
        refused = [
            (Role.COORDINATOR, "site-b"),
            (Role.COORDINATOR, None),
            (Role.DATA_MANAGER, "site-a"),
            (Role.INVESTIGATOR, "site-a"),
            (Role.ADMIN, "site-a"),
            (Role.READER, "site-a"),
            (Role.STATISTICIAN, "site-a"),
        ]
        for role, site in refused:
            with pytest.raises(AccessRefused, match="own site"):
                hospital_identifiers(c, "SIM-0001", role=role, site=site)


def test_live_eligibility_reads_the_unsaved_values(database: StudyDatabase) -> None:
    _enter_patient(database)
    with database.begin() as c:
        stored = live_eligibility(c, "SIM-0001")
        assert stored.decision.eligible
        typed = live_eligibility(c, "SIM-0001", "screening", {**S1, "major_surgery": "yes"})
        verdicts = {r.criterion_id: r for r in typed.decision.results}
        assert verdicts["no_recent_major_surgery"].verdict is Verdict.UNKNOWN
        typed = live_eligibility(
            c,
            "SIM-0001",
            "screening",
            {**S1, "major_surgery": "yes", "major_surgery_date": "2025-03-01"},
        )
        assert typed.decision.failed == ("no_recent_major_surgery",)
        # 72 days before the planned scan (2025-05-12): the protocol's window is 90 days
        assert "72 days" in typed.decision.results[8].evidence
        bad = live_eligibility(c, "SIM-0001", "screening", {**S1, "consent_date": "02/05/2025"})
        assert [m.field for m in bad.messages] == ["consent_date"]
        assert "age_18_or_over" in bad.decision.unknown
        # the unsaved exposure: stated 55 mSv within the year > the protocol's 50 mSv
        dose = live_eligibility(
            c,
            "SIM-0001",
            "exposures",
            {
                "exposure_id": "SIM-0001-X1",
                "patient_id": "SIM-0001",
                "exposure_date": "2025-02-01",
                "modality": "CT",
                "effective_dose_msv": "55",
            },
        )
        assert dose.decision.failed == ("radiation_under_50msv",)
        assert dose.dose is not None
        assert dose.dose.known_msv == 55.0
        assert [e.exposure_id for e in dose.dose.exposures] == ["SIM-0001-X1"]
        # nothing was stored by any of it
        assert get_record(c, "exposures", {"exposure_id": "SIM-0001-X1"}) is None


def test_imported_patients_without_a_site_can_be_assigned_one(
    database: StudyDatabase, tmp_path: Path
) -> None:
    import_csv(database, "patients", write_csv(tmp_path / "p.csv", PATIENTS), author=ME)
    with database.begin() as c:
        assert list_patients(c, site="demo-site") == []
        assert patient_site(c, "SIM-0001") is None
        assert assign_unsited_patients(c, "demo-site", author=ME) == len(PATIENTS)
        assert assign_unsited_patients(c, "demo-site", author=ME) == 0
        assert [p.site for p in list_patients(c)] == ["demo-site"] * len(PATIENTS)
        assert audit_history(c, table_name="patient_sites")[0].actor == "coord-a"


def test_forms_with_records_names_the_forms_that_have_records(database: StudyDatabase) -> None:
    _enter_patient(database)
    with database.begin() as c:
        save_form(c, "exposures", EXPOSURES[0], author=ME, create=True)
        present = forms_with_records(c, "SIM-0001")
        read_one_by_one = {form for form in FORMS if form_records(c, "SIM-0001", form)}
        nobody = forms_with_records(c, "SIM-0404")
    assert present == read_one_by_one == {"patients", "screening", "exposures"}
    assert nobody == set()
