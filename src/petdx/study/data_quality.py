"""Data quality: rules that raise queries on fields, and the queries' lifecycle.

The rules (:func:`check_patient`) read a patient's stored forms:

``missing``
    a value the dictionary requires is empty, or one the protocol needs given another
    answer (a consent date once consent is signed, the confirmation method once malignancy is
    confirmed, a date for every "yes" whose criterion counts days, each screening answer the
    eligibility engine reads, the body weight that SUVbw needs);
``out_of_range``
    a number outside the dictionary's range (a record stored before the range was set);
``date_order``
    dates in an impossible order across forms (consent after the screening visit, a study
    scan before consent, a follow-up event before the first study scan, events after death);
``inconsistent``
    answers that contradict each other (a confirmation method although malignancy is not
    confirmed, consent details although consent is not signed, "no suspicious lesions" with a
    lesion kind, a PD-L1 score without its antibody clone, ...).

:func:`run_data_quality` runs them (on every save of a form, and on demand) and raises a
query per finding, unless a query for the same record, field and rule is still open or
answered. A data manager raises manual queries too. A query goes ``open`` -> ``answered``
(a coordinator's answer) -> ``closed`` (a data manager only); a data manager may reopen an
answered or closed one. Every change is an audited record (:mod:`petdx.study.records`);
the roles are checked here, whatever the interface (:class:`petdx.study.roles.Role`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, select

from petdx.data_dictionary import FieldType
from petdx.errors import InputValidationError
from petdx.study.forms import (
    FORMS,
    AccessRefused,
    form_records,
    forms_with_records,
    now_utc,
    patient_site,
)
from petdx.study.records import Author, get_record, insert_record, update_record
from petdx.study.roles import Role
from petdx.study.schema import IMPORTABLE, data_queries, patient_sites, record_key
from petdx.study.validation import as_date

__all__ = [
    "DataQuery",
    "Finding",
    "QueryStatus",
    "answer_query",
    "check_patient",
    "close_query",
    "get_query",
    "list_queries",
    "open_query_counts",
    "query_counts",
    "raise_query",
    "reopen_query",
    "run_data_quality",
]


class QueryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


@dataclass(frozen=True)
class Finding:
    """One rule's finding on one field of one record."""

    form: str
    record_key: str
    field: str
    rule: str
    message: str


#: Screening answers the eligibility engine reads: each left empty is a missing value.
_CRITERION_ANSWERS = (
    "consent_signed",
    "malignancy_confirmed",
    "suspicious_lesions",
    "prior_antitumour_therapy",
    "cannot_tolerate_scan",
    "scan_contraindication",
    "major_surgery",
    "experimental_therapy",
    "investigator_excludes",
)

#: (answer field, answer, field then needed, why) on the screening form.
_NEEDED_WHEN = (
    ("consent_signed", "yes", "consent_date", "consent is signed: its date is needed (age)"),
    (
        "malignancy_confirmed",
        "yes",
        "confirmation_method",
        "malignancy is confirmed: the method is needed (biopsy or surgical pathology)",
    ),
    (
        "major_surgery",
        "yes",
        "major_surgery_date",
        "major surgery: its date decides the 90-day window",
    ),
    (
        "experimental_therapy",
        "yes",
        "experimental_therapy_date",
        "experimental therapy: its date decides the 30-day window",
    ),
    (
        "investigator_excludes",
        "yes",
        "investigator_reason",
        "the investigator excludes the patient: the reason is needed",
    ),
)

#: (field given, answer field, answers it needs, what is inconsistent) on the screening form.
_ONLY_WHEN = (
    ("confirmation_method", "malignancy_confirmed", ("yes",), "malignancy is not confirmed"),
    ("confirmation_date", "malignancy_confirmed", ("yes",), "malignancy is not confirmed"),
    ("consent_date", "consent_signed", ("yes",), "consent is not recorded as signed"),
    ("consent_by", "consent_signed", ("yes",), "consent is not recorded as signed"),
    ("prior_therapy_date", "prior_antitumour_therapy", ("yes",), "no prior therapy recorded"),
    ("major_surgery_date", "major_surgery", ("yes",), "no major surgery recorded"),
    (
        "experimental_therapy_date",
        "experimental_therapy",
        ("yes",),
        "no experimental therapy recorded",
    ),
    ("investigator_reason", "investigator_excludes", ("yes",), "the investigator does not exclude"),
)


def _record_findings(form: str, record: Mapping[str, Any]) -> list[Finding]:
    table = IMPORTABLE[FORMS[form].table]
    key = record_key(table.name, record)
    out = []
    for f in table.fields:
        value = record.get(f.name)
        if f.required and value is None:
            out.append(Finding(form, key, f.name, "missing", f"required: {f.description}"))
        if (
            f.type in (FieldType.INTEGER, FieldType.DECIMAL)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            unit = f" {f.unit}" if f.unit else ""
            if f.minimum is not None and value < f.minimum:
                out.append(
                    Finding(
                        form, key, f.name, "out_of_range", f"{value:g} below {f.minimum:g}{unit}"
                    )
                )
            if f.maximum is not None and value > f.maximum:
                out.append(
                    Finding(
                        form, key, f.name, "out_of_range", f"{value:g} above {f.maximum:g}{unit}"
                    )
                )
    return out


def _screening_findings(screening: Mapping[str, Any], key: str) -> list[Finding]:
    out = []
    for name in _CRITERION_ANSWERS:
        if screening.get(name) in (None, "unknown"):
            out.append(
                Finding(
                    "screening",
                    key,
                    name,
                    "missing",
                    "no answer: the eligibility criterion that reads it stays unknown",
                )
            )
    for answer_field, answer, needed, why in _NEEDED_WHEN:
        if screening.get(answer_field) == answer and screening.get(needed) in (None, ""):
            out.append(Finding("screening", key, needed, "missing", why))
    for given, answer_field, answers, what in _ONLY_WHEN:
        if screening.get(given) not in (None, "") and screening.get(answer_field) not in answers:
            out.append(
                Finding(
                    "screening",
                    key,
                    given,
                    "inconsistent",
                    f"{given} is given but {what} ({answer_field} = "
                    f"{screening.get(answer_field) or 'empty'})",
                )
            )
    lesions, kind = screening.get("suspicious_lesions"), screening.get("suspicious_lesion_kind")
    if (lesions == "yes" and kind == "none") or (lesions == "no" and kind not in (None, "none")):
        out.append(
            Finding(
                "screening",
                key,
                "suspicious_lesion_kind",
                "inconsistent",
                f"suspicious_lesions = {lesions} but the lesion kind is {kind}",
            )
        )
    return out


def check_patient(connection: Connection, patient_id: str) -> list[Finding]:
    """Every finding of the data-quality rules on the patient's stored forms."""
    present = forms_with_records(connection, patient_id)  # a new patient: 1 form of 7
    if "patients" not in present:
        raise InputValidationError(f"patient {patient_id}: not in the study.")
    records = {
        form: form_records(connection, patient_id, form) if form in present else []
        for form in FORMS
    }
    patient = records["patients"][0]
    out: list[Finding] = []
    for form, rows in records.items():
        for row in rows:
            out += _record_findings(form, row)
    pkey = record_key("patients", patient)
    if patient.get("weight_kg") is None:
        out.append(
            Finding("patients", pkey, "weight_kg", "missing", "body weight is needed for SUVbw")
        )
    screening = records["screening"][0] if records["screening"] else None
    consent = as_date(screening.get("consent_date")) if screening else None
    if screening is not None:
        skey = record_key("screening", screening)
        out += _screening_findings(screening, skey)
        screened = as_date(patient.get("screening_date"))
        if consent is not None and screened is not None and consent > screened:
            out.append(
                Finding(
                    "screening",
                    skey,
                    "consent_date",
                    "date_order",
                    f"consent ({consent}) is dated after the screening visit ({screened}); "
                    "no study procedure may precede consent",
                )
            )
    scans = records["scans"]
    scan_days = [d for d in (as_date(s["scan_datetime"]) for s in scans) if d is not None]
    first_scan = min(scan_days, default=None)
    for scan in scans:
        when = as_date(scan["scan_datetime"])
        if consent is not None and when is not None and when < consent:
            out.append(
                Finding(
                    "scans",
                    record_key("scans", scan),
                    "scan_datetime",
                    "date_order",
                    f"study scan on {when}, before consent ({consent})",
                )
            )
    deaths = [as_date(e["event_date"]) for e in records["follow_up"] if e["event"] == "death"]
    death = min((d for d in deaths if d is not None), default=None)
    for event in records["follow_up"]:
        when = as_date(event["event_date"])
        ekey = record_key("follow_up", event)
        problems = []
        if first_scan is not None and when is not None and when < first_scan:
            problems.append(
                f"follow-up event on {when}, before the first study scan ({first_scan})"
            )
        if death is not None and when is not None and when > death:
            problems.append(f"{event['event']} on {when}, after the recorded death ({death})")
        out += [Finding("follow_up", ekey, "event_date", "date_order", p) for p in problems]
    for sample in records["pathology"]:
        pkey_ = record_key("pathology", sample)
        scored = sample.get("pdl1_tps_pct") is not None or sample.get("pdl1_cps") is not None
        if scored and sample.get("pdl1_assay") is None:
            out.append(
                Finding(
                    "pathology",
                    pkey_,
                    "pdl1_assay",
                    "inconsistent",
                    "a PD-L1 score is given without the antibody clone (assay)",
                )
            )
        if sample.get("pdl1_assay") is not None and not scored:
            out.append(
                Finding(
                    "pathology",
                    pkey_,
                    "pdl1_tps_pct",
                    "missing",
                    "the PD-L1 assay is named but neither TPS nor CPS is recorded",
                )
            )
    return out


@dataclass(frozen=True)
class DataQuery:
    """One query on a field."""

    query_id: str
    patient_id: str
    site: str | None
    form: str
    record_key: str
    field: str
    rule: str | None
    message: str
    status: QueryStatus
    raised_by: str
    raised_at_utc: str
    answer: str | None
    answered_by: str | None
    answered_at_utc: str | None
    closed_by: str | None
    closed_at_utc: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"status": self.status.value}


def _new_id() -> str:
    return f"Q-{secrets.token_hex(6)}"


def _unresolved(connection: Connection, patient_id: str) -> set[tuple[str, str, str, str | None]]:
    rows = connection.execute(
        select(
            data_queries.c.form,
            data_queries.c.target_key,
            data_queries.c.field,
            data_queries.c.rule,
        ).where(
            data_queries.c.patient_id == patient_id,
            data_queries.c.status != QueryStatus.CLOSED.value,
        )
    )
    return {(str(a), str(b), str(c), d) for a, b, c, d in rows}


def _insert_query(
    connection: Connection,
    patient_id: str,
    form: str,
    key: str,
    field_name: str,
    rule: str | None,
    message: str,
    actor: str,
) -> str:
    query_id = _new_id()
    insert_record(
        connection,
        "data_queries",
        {
            "query_id": query_id,
            "patient_id": patient_id,
            "form": form,
            "target_key": key,
            "field": field_name,
            "rule": rule,
            "message": message,
            "status": QueryStatus.OPEN.value,
            "raised_by": actor,
            "raised_at_utc": now_utc(),
        },
        author=Author(actor),
    )
    return query_id


def run_data_quality(connection: Connection, patient_id: str, *, actor: str) -> list[str]:
    """Run the rules on the patient and raise a query per new finding (none when a query on
    the same record, field and rule is still open or answered). Returns the new query ids."""
    pending = _unresolved(connection, patient_id)
    raised = []
    for finding in check_patient(connection, patient_id):
        what = (finding.form, finding.record_key, finding.field, finding.rule)
        if what in pending:
            continue
        pending.add(what)
        raised.append(
            _insert_query(
                connection,
                patient_id,
                finding.form,
                finding.record_key,
                finding.field,
                finding.rule,
                finding.message,
                actor,
            )
        )
    return raised


def _need(role: Role, allowed: Iterable[Role], what: str) -> None:
    allowed = tuple(allowed)
    if Role(role) not in allowed:
        names = " or ".join(r.value.replace("_", " ") for r in allowed)
        raise AccessRefused(f"only a {names} may {what} (this account is a {Role(role).value}).")


def raise_query(
    connection: Connection,
    patient_id: str,
    form: str,
    key: Mapping[str, Any],
    field_name: str,
    message: str,
    *,
    actor: str,
    role: Role,
) -> str:
    """A data manager's manual query on a field of a stored record. Returns its id."""
    _need(role, (Role.DATA_MANAGER,), "raise a query")
    if form not in FORMS:
        raise InputValidationError(f"'{form}' is not a form; expected one of {', '.join(FORMS)}.")
    spec = FORMS[form]
    if field_name not in spec.field_names:
        raise InputValidationError(f"form {form} has no field '{field_name}'.")
    stored = get_record(connection, spec.table, {k: key.get(k) for k in spec.key})
    if stored is None or stored.get("patient_id") != patient_id:
        raise InputValidationError(f"form {form}: patient {patient_id} has no such record.")
    text = message.strip()
    if not text:
        raise InputValidationError("a query needs a message: what is doubtful, and why.")
    return _insert_query(
        connection,
        patient_id,
        form,
        record_key(spec.table, stored),
        field_name,
        None,
        text,
        actor,
    )


def _query_row(connection: Connection, query_id: str) -> dict[str, Any]:
    row = get_record(connection, "data_queries", {"query_id": query_id})
    if row is None:
        raise InputValidationError(f"query {query_id}: no such query.")
    return row


def get_query(connection: Connection, query_id: str) -> DataQuery:
    """One query."""
    row = _query_row(connection, query_id)
    return _as_query(row, patient_site(connection, str(row["patient_id"])))


def _change(
    connection: Connection, query_id: str, changes: Mapping[str, Any], actor: str, reason: str
) -> None:
    update_record(
        connection, "data_queries", {"query_id": query_id}, changes, author=Author(actor, reason)
    )


def answer_query(
    connection: Connection, query_id: str, answer: str, *, actor: str, role: Role
) -> None:
    """A coordinator answers an open query (the answer is also the audit reason)."""
    _need(role, (Role.COORDINATOR,), "answer a query")
    row = _query_row(connection, query_id)
    if row["status"] != QueryStatus.OPEN.value:
        raise InputValidationError(f"query {query_id} is {row['status']}, not open.")
    text = answer.strip()
    if not text:
        raise InputValidationError("an answer needs text: what was checked or corrected.")
    changes = {
        "status": QueryStatus.ANSWERED.value,
        "answer": text,
        "answered_by": actor,
        "answered_at_utc": now_utc(),
    }
    _change(connection, query_id, changes, actor, f"query answered: {text}")


def close_query(
    connection: Connection,
    query_id: str,
    *,
    actor: str,
    role: Role,
    reason: str = "query resolved",
) -> None:
    """A data manager closes an open or answered query."""
    _need(role, (Role.DATA_MANAGER,), "close a query")
    row = _query_row(connection, query_id)
    if row["status"] == QueryStatus.CLOSED.value:
        raise InputValidationError(f"query {query_id} is already closed.")
    changes = {"status": QueryStatus.CLOSED.value, "closed_by": actor, "closed_at_utc": now_utc()}
    _change(connection, query_id, changes, actor, reason.strip() or "query resolved")


def reopen_query(
    connection: Connection, query_id: str, reason: str, *, actor: str, role: Role
) -> None:
    """A data manager reopens an answered or closed query, saying why."""
    _need(role, (Role.DATA_MANAGER,), "reopen a query")
    row = _query_row(connection, query_id)
    if row["status"] == QueryStatus.OPEN.value:
        raise InputValidationError(f"query {query_id} is already open.")
    if not reason.strip():
        raise InputValidationError("reopening a query needs a reason.")
    changes = {"status": QueryStatus.OPEN.value, "closed_by": None, "closed_at_utc": None}
    _change(connection, query_id, changes, actor, f"query reopened: {reason.strip()}")


def _as_query(row: Mapping[str, Any], site: str | None) -> DataQuery:
    return DataQuery(
        query_id=str(row["query_id"]),
        patient_id=str(row["patient_id"]),
        site=site,
        form=str(row["form"]),
        record_key=str(row["target_key"]),
        field=str(row["field"]),
        rule=row["rule"],
        message=str(row["message"]),
        status=QueryStatus(row["status"]),
        raised_by=str(row["raised_by"]),
        raised_at_utc=str(row["raised_at_utc"]),
        answer=row["answer"],
        answered_by=row["answered_by"],
        answered_at_utc=row["answered_at_utc"],
        closed_by=row["closed_by"],
        closed_at_utc=row["closed_at_utc"],
    )


def list_queries(
    connection: Connection,
    *,
    site: str | None = None,
    form: str | None = None,
    status: QueryStatus | str | None = None,
    patient_id: str | None = None,
) -> list[DataQuery]:
    """Queries, newest first, filtered by site, form, status and patient."""
    query = select(data_queries, patient_sites.c.site).outerjoin(
        patient_sites, patient_sites.c.patient_id == data_queries.c.patient_id
    )
    if site is not None:
        query = query.where(patient_sites.c.site == site)
    if form is not None:
        query = query.where(data_queries.c.form == form)
    if status is not None:
        query = query.where(data_queries.c.status == QueryStatus(status).value)
    if patient_id is not None:
        query = query.where(data_queries.c.patient_id == patient_id)
    query = query.order_by(data_queries.c.raised_at_utc.desc(), data_queries.c.query_id)
    return [_as_query(dict(row), row["site"]) for row in connection.execute(query).mappings()]


def open_query_counts(connection: Connection, patient_ids: Iterable[str]) -> dict[str, int]:
    """Number of open queries of each of ``patient_ids`` that has any (one grouped count:
    a page of the patient list reads its own patients' counts, not every open query)."""
    ids = list(patient_ids)
    if not ids:
        return {}
    query = (
        select(data_queries.c.patient_id, func.count())
        .where(data_queries.c.status == QueryStatus.OPEN.value)
        .where(data_queries.c.patient_id.in_(ids))
        .group_by(data_queries.c.patient_id)
    )
    return {str(pid): int(n) for pid, n in connection.execute(query)}


def query_counts(
    connection: Connection, *, site: str | None = None
) -> dict[tuple[str | None, str, str], int]:
    """Number of queries per (site, form, status)."""
    query = (
        select(
            patient_sites.c.site,
            data_queries.c.form,
            data_queries.c.status,
            func.count(),
        )
        .select_from(data_queries)
        .outerjoin(patient_sites, patient_sites.c.patient_id == data_queries.c.patient_id)
        .group_by(patient_sites.c.site, data_queries.c.form, data_queries.c.status)
    )
    if site is not None:
        query = query.where(patient_sites.c.site == site)
    return {(s, str(f), str(st)): int(n) for s, f, st, n in connection.execute(query)}
