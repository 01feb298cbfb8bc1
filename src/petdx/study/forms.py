"""The coordinators' forms: generated from the data dictionary, checked by the import's rules.

One form per exchange table a site keeps (:data:`FORMS`): the patient (demographics), the
screening (eligibility evidence and consent), the radiation history, the scan visits, the
lesion registry, pathology with PD-L1 immunohistochemistry and follow-up. A
:class:`FormSpec` lists each field with its type, unit, allowed codes (with labels), range,
whether it is required and its help text, all from :mod:`petdx.data_dictionary`; nothing about
a field is written twice.

A submitted form (field name -> text, as a browser sends it) is checked by exactly the rules
``petdx import`` applies to a CSV row: each cell by
:func:`petdx.study.validation.parse_values`, then the database checks of
:func:`petdx.study.importing.check_rows` (the patient and the lesion exist, no date before
birth, date order). Any problem refuses the whole form (:class:`FormRejected`, one message per
field) and stores nothing. A valid form is written through :mod:`petdx.study.records`, in the
caller's transaction and with its audit row; then the data-quality rules run on the patient
(:mod:`petdx.study.data_quality`).

A form marked complete (:func:`mark_complete`) takes a change only with a reason; before that,
an edit is recorded with the reason :data:`DRAFT_REASON`. A patient whose forms are locked
(:mod:`petdx.study.signoff`) takes no write at all.

Sites: each patient belongs to one site, its data access group, kept in the audited table
``patient_sites`` (:func:`set_patient_site`, :func:`patient_site`); a patient imported without
one has no site, and only the study-wide roles see it. Hospital identifiers are read only
through :func:`hospital_identifiers`, which answers coordinators of the patient's own site.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Connection, Select, bindparam, func, select

from petdx.data_dictionary import FieldType, code_label
from petdx.data_dictionary import Table as DictTable
from petdx.errors import InputValidationError, PetdxError
from petdx.study.importing import check_rows
from petdx.study.records import Author, get_record, insert_record, update_record
from petdx.study.roles import Role
from petdx.study.schema import (
    IMPORTABLE,
    exchange_table,
    form_status,
    patient_identity,
    patient_locks,
    patient_sites,
    record_key,
)
from petdx.study.validation import MAX_TEXT_CHARS, is_identifier, parse_values

__all__ = [
    "DRAFT_REASON",
    "FORMS",
    "AccessRefused",
    "CodeOption",
    "FieldMessage",
    "FieldSpec",
    "FormRejected",
    "FormSpec",
    "FormValidation",
    "PatientPage",
    "PatientSummary",
    "SaveResult",
    "assign_unsited_patients",
    "check_patient_access",
    "count_patients",
    "form_records",
    "form_spec",
    "forms_with_records",
    "hospital_identifiers",
    "is_complete",
    "is_locked",
    "list_patients",
    "mark_complete",
    "next_record_id",
    "now_utc",
    "parse_unsaved",
    "patient_page",
    "patient_site",
    "refuse_if_locked",
    "save_form",
    "set_patient_site",
    "validate_form",
]

#: The reason recorded for an edit of a form not yet marked complete (no reason is asked).
DRAFT_REASON = "edit before the form was marked complete"

#: Labels of codes whose spelling is not self-explanatory; others are shown as written.

_INPUTS = {
    FieldType.STRING: "text",
    FieldType.INTEGER: "number",
    FieldType.DECIMAL: "number",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime-local",
    FieldType.BOOLEAN: "select",
    FieldType.CODE: "select",
    FieldType.CODES: "text",
}


class FormRejected(InputValidationError):
    """A submitted form was refused; ``messages`` holds one message per bad field (field
    ``None``: the form as a whole). Nothing was stored."""

    def __init__(self, form: str, messages: Sequence[FieldMessage]) -> None:
        self.form = form
        self.messages = tuple(messages)
        lines = [f"form {form}: refused, nothing stored: {len(self.messages)} problem(s)"]
        lines += [f"  {m}" for m in self.messages]
        super().__init__("\n".join(lines))


class AccessRefused(PetdxError):
    """The requesting account's role or site may not do this."""


@dataclass(frozen=True)
class CodeOption:
    """An allowed code and its label."""

    code: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form, as the data dictionary defines it."""

    name: str
    label: str
    type: FieldType
    input: str
    unit: str | None
    codes: tuple[CodeOption, ...]
    minimum: float | None
    maximum: float | None
    required: bool
    help: str
    key: bool
    max_length: int | None

    @property
    def step(self) -> str | None:
        """The ``step`` of a number input: 1 for whole numbers, any for decimals."""
        if self.type is FieldType.INTEGER:
            return "1"
        if self.type is FieldType.DECIMAL:
            return "any"
        return None


@dataclass(frozen=True)
class FormSpec:
    """A form: one exchange table of the data dictionary, field by field."""

    name: str
    title: str
    table: str
    repeating: bool
    fields: tuple[FieldSpec, ...]

    @property
    def key(self) -> tuple[str, ...]:
        return IMPORTABLE[self.table].key

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"form {self.name} has no field {name}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _label(code: str) -> str:
    return code_label(code)


def _help(f: Any, table: DictTable) -> str:
    parts = [f.description]
    if f.unit:
        parts.append(f"in {f.unit}")
    if f.minimum is not None and f.maximum is not None:
        parts.append(f"from {f.minimum:g} to {f.maximum:g}")
    elif f.minimum is not None:
        parts.append(f"at least {f.minimum:g}")
    elif f.maximum is not None:
        parts.append(f"at most {f.maximum:g}")
    if f.type is FieldType.DATE:
        parts.append("date YYYY-MM-DD")
    elif f.type is FieldType.DATETIME:
        parts.append("local date and time YYYY-MM-DDTHH:MM:SS")
    elif is_identifier(f):
        parts.append("1 to 64 letters, digits, '.', '_' or '-'")
    if f.required:
        parts.append("required")
    return "; ".join(parts)


def _field_spec(table: DictTable, f: Any) -> FieldSpec:
    codes: tuple[str, ...] = f.allowed or ()
    if f.type is FieldType.BOOLEAN:
        codes = ("true", "false")
    text = f.type in (FieldType.STRING, FieldType.CODES)
    return FieldSpec(
        name=f.name,
        label=f.description,
        type=f.type,
        input=_INPUTS[f.type],
        unit=f.unit,
        codes=tuple(CodeOption(c, _label(c)) for c in codes),
        minimum=f.minimum,
        maximum=f.maximum,
        required=f.required,
        help=_help(f, table),
        key=f.name in table.key,
        max_length=(64 if is_identifier(f) else MAX_TEXT_CHARS) if text else None,
    )


def _form(name: str, title: str, repeating: bool) -> FormSpec:
    table = IMPORTABLE[name]
    fields = tuple(_field_spec(table, f) for f in table.fields)
    return FormSpec(name, title, name, repeating, fields)


#: The coordinators' forms, by name (= exchange table), in the order of a patient's work-up.
FORMS: dict[str, FormSpec] = {
    spec.name: spec
    for spec in (
        _form("patients", "Patient and demographics", False),
        _form("screening", "Screening, eligibility evidence and consent", False),
        _form("exposures", "Radiation history", True),
        _form("scans", "Scan visits (PET/CT or PET/MR)", True),
        _form("lesion_registry", "Lesion registry", True),
        _form("pathology", "Pathology and PD-L1 immunohistochemistry", True),
        _form("follow_up", "Follow-up: progression, death, last contact", True),
    )
}


def form_spec(form: str) -> FormSpec:
    """The form named ``form``; a clear error for a name that is none."""
    try:
        return FORMS[form]
    except KeyError:
        raise InputValidationError(
            f"'{form}' is not a form; expected one of {', '.join(FORMS)}."
        ) from None


@dataclass(frozen=True)
class FieldMessage:
    """What is wrong with one field (``field`` None: with the form as a whole)."""

    field: str | None
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = self.field or "form"
        shown = f" = '{self.value}'" if self.value else ""
        return f"{where}{shown}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "value": self.value}


@dataclass(frozen=True)
class FormValidation:
    """The typed values of a submitted form and every problem found."""

    form: str
    values: dict[str, Any]
    messages: tuple[FieldMessage, ...]
    stored: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.messages

    def by_field(self) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = {}
        for m in self.messages:
            out.setdefault(m.field, []).append(m.message)
        return out


def now_utc() -> str:
    """The current UTC time as petdx records it (ISO 8601, microseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _cells(spec: FormSpec, raw: Mapping[str, Any]) -> tuple[dict[str, str], list[FieldMessage]]:
    messages = [
        FieldMessage(name, f"unknown field for form {spec.name}")
        for name in raw
        if name not in spec.field_names
    ]
    cells = {}
    for name in spec.field_names:
        value = raw.get(name)
        if value is None:
            cells[name] = ""
        elif isinstance(value, str):
            cells[name] = value
        else:
            messages.append(FieldMessage(name, "expected text as a form sends it"))
            cells[name] = ""
    return cells, messages


def _shown(value: str) -> str:
    value = value.replace("\x00", "\\x00")
    return value if len(value) <= 60 else value[:57] + "..."


def validate_form(
    connection: Connection,
    form: str,
    raw: Mapping[str, Any],
    *,
    create: bool | None = None,
) -> FormValidation:
    """Check a submitted form by the import's rules; nothing is written.

    Parameters
    ----------
    form
        A name of :data:`FORMS`.
    raw
        Field name -> submitted text; a field not given counts as empty.
    create
        True: the record must be new (its key unused); False: it must exist; None: either.

    Returns
    -------
    FormValidation
        Typed values, every problem (field messages), and the stored record when the key
        names one.
    """
    spec = form_spec(form)
    table = IMPORTABLE[spec.table]
    cells, messages = _cells(spec, raw)
    values, problems = parse_values(table, cells)
    messages += [FieldMessage(name, text, _shown(shown)) for name, shown, text in problems]
    stored = None
    if not messages:
        for problem in check_rows(connection, table, [(1, values)]):
            for name in (problem.field or "").split(","):
                messages.append(FieldMessage(name or None, problem.expected, problem.value))
        key = {k: values.get(k) for k in spec.key}
        stored = get_record(connection, spec.table, key)
        shown_key = record_key(spec.table, key)
        if stored is not None and create:
            messages.append(
                FieldMessage(
                    spec.key[0],
                    f"{shown_key} already exists; open it to change it, or choose a new identifier",
                )
            )
        elif stored is None and create is False:
            messages.append(FieldMessage(spec.key[0], f"no record {shown_key} to change"))
        if (
            stored is not None
            and "patient_id" in values
            and stored.get("patient_id") != values.get("patient_id")
        ):
            messages.append(
                FieldMessage(
                    spec.key[0],
                    f"{shown_key} belongs to another patient; choose a new identifier",
                )
            )
    return FormValidation(form, values, tuple(messages), stored)


@dataclass(frozen=True)
class SaveResult:
    """What a save did: ``inserted``, ``updated`` or ``unchanged``; queries raised."""

    form: str
    record_key: str
    action: str
    queries_raised: tuple[str, ...] = field(default_factory=tuple)


def is_locked(connection: Connection, patient_id: str) -> bool:
    """Whether the patient's forms are locked."""
    row = connection.execute(
        select(patient_locks.c.patient_id).where(patient_locks.c.patient_id == patient_id)
    ).first()
    return row is not None


def is_complete(connection: Connection, patient_id: str, form: str) -> bool:
    """Whether the patient's form is marked complete."""
    row = connection.execute(
        select(form_status.c.form).where(
            form_status.c.patient_id == patient_id, form_status.c.form == form
        )
    ).first()
    return row is not None


def refuse_if_locked(connection: Connection, patient_id: str, what: str) -> None:
    """Raise :class:`FormRejected` when the patient's forms are locked."""
    if is_locked(connection, patient_id):
        raise FormRejected(
            what,
            [
                FieldMessage(
                    None,
                    f"patient {patient_id}'s forms are locked; a data manager unlocks them "
                    "(which voids the investigator's signature) before anything changes",
                )
            ],
        )


def save_form(
    connection: Connection,
    form: str,
    raw: Mapping[str, Any],
    *,
    author: Author,
    create: bool | None = None,
    site: str | None = None,
) -> SaveResult:
    """Validate and store a submitted form, in the caller's transaction.

    Parameters
    ----------
    form, raw, create
        As :func:`validate_form`.
    author
        Who saves, and the reason for the change (required once the form is complete).
    site
        For a new patient (form ``patients``): the site it belongs to.

    Returns
    -------
    SaveResult

    Raises
    ------
    FormRejected
        Any field is invalid, the patient's forms are locked, or a complete form changes
        without a reason. Nothing was stored.
    """
    from petdx.study.data_quality import run_data_quality

    checked = validate_form(connection, form, raw, create=create)
    if not checked.ok:
        raise FormRejected(form, checked.messages)
    spec = FORMS[form]
    values = checked.values
    patient_id = str(values["patient_id"])
    key = {k: values.get(k) for k in spec.key}
    shown_key = record_key(spec.table, key)
    if checked.stored is not None or form != "patients":
        refuse_if_locked(connection, patient_id, form)
    if checked.stored is None:
        insert_record(connection, spec.table, values, author=author)
        if form == "patients" and site is not None:
            set_patient_site(connection, patient_id, site, author=Author(author.actor))
        action = "inserted"
    else:
        changed = {k: v for k, v in values.items() if checked.stored.get(k) != v}
        if not changed:
            return SaveResult(form, shown_key, "unchanged")
        reason = author.reason
        if not reason:
            if is_complete(connection, patient_id, form):
                raise FormRejected(
                    form,
                    [
                        FieldMessage(
                            "reason",
                            "this form is marked complete: give the reason for the change "
                            f"(it goes to the audit trail with {', '.join(sorted(changed))})",
                        )
                    ],
                )
            reason = DRAFT_REASON
        update_record(connection, spec.table, key, changed, author=Author(author.actor, reason))
        action = "updated"
    raised = run_data_quality(connection, patient_id, actor=author.actor)
    return SaveResult(form, shown_key, action, tuple(raised))


def mark_complete(connection: Connection, patient_id: str, form: str, *, author: Author) -> bool:
    """Mark the patient's form complete (audited). False when it already was.

    Raises
    ------
    FormRejected
        The patient's forms are locked, or the form has no record yet.
    """
    spec = form_spec(form)
    refuse_if_locked(connection, patient_id, form)
    if not form_records(connection, patient_id, form) and not spec.repeating:
        raise FormRejected(form, [FieldMessage(None, "nothing entered yet; save the form first")])
    if is_complete(connection, patient_id, form):
        return False
    insert_record(
        connection,
        "form_status",
        {
            "patient_id": patient_id,
            "form": form,
            "completed_by": author.actor,
            "completed_at_utc": now_utc(),
        },
        author=author,
    )
    return True


@cache
def _form_records_query(form: str) -> Select[Any]:
    # built once per form: SQLAlchemy memoizes a statement's cache key on the object, so a
    # page that reads every form of a patient neither rebuilds nor re-keys ten statements
    spec = form_spec(form)
    table = exchange_table(spec.table)
    query = select(table).where(table.c.patient_id == bindparam("patient_id"))
    return query.order_by(*(table.c[k] for k in spec.key))


def form_records(connection: Connection, patient_id: str, form: str) -> list[dict[str, Any]]:
    """The patient's stored records of a form, in key order."""
    rows = connection.execute(_form_records_query(form), {"patient_id": patient_id})
    return [{k: v for k, v in row.items() if k != "record_key"} for row in rows.mappings()]


@cache
def _forms_with_records_query() -> Select[Any]:
    pid: BindParameter[str] = bindparam("patient_id")
    present: list[Any] = [
        select(exchange_table(spec.table).c.patient_id)
        .where(exchange_table(spec.table).c.patient_id == pid)
        .exists()
        .label(form)
        for form, spec in FORMS.items()
    ]
    return select(*present)


def forms_with_records(connection: Connection, patient_id: str) -> set[str]:
    """The forms of which the patient has at least one stored record (one statement)."""
    row = connection.execute(_forms_with_records_query(), {"patient_id": patient_id}).one()
    return {form for form, present in row._mapping.items() if present}


_ID_PREFIX = {
    "exposures": "X",
    "scans": "S",
    "lesion_registry": "L",
    "pathology": "P",
    "follow_up": "F",
}


def next_record_id(connection: Connection, patient_id: str, form: str) -> str:
    """A free identifier for a new record of a repeating form: ``<patient>-<letter><n>``."""
    spec = form_spec(form)
    if not spec.repeating:
        raise InputValidationError(f"form {form} has one record per patient, not several.")
    table = exchange_table(spec.table)
    column = table.c[spec.key[0]]
    used = {str(v) for (v,) in connection.execute(select(column))}
    n = len(form_records(connection, patient_id, form)) + 1
    while f"{patient_id}-{_ID_PREFIX[form]}{n}" in used:
        n += 1
    return f"{patient_id}-{_ID_PREFIX[form]}{n}"


# -- sites and identifiers ----------------------------------------------------------------


def patient_site(connection: Connection, patient_id: str) -> str | None:
    """The site the patient belongs to, or None (imported without one)."""
    return connection.execute(
        select(patient_sites.c.site).where(patient_sites.c.patient_id == patient_id)
    ).scalar_one_or_none()


def set_patient_site(connection: Connection, patient_id: str, site: str, *, author: Author) -> None:
    """Assign the patient to a site (audited; moving a patient to another site needs a
    reason)."""
    from petdx.study.layout import path_component_problem

    problem = path_component_problem(site)
    if problem is not None:
        raise InputValidationError(f"site '{_shown(site)}': {problem}; use a short site code.")
    current = patient_site(connection, patient_id)
    if current is None:
        values = {"patient_id": patient_id, "site": site}
        insert_record(connection, "patient_sites", values, author=author)
    elif current != site:
        update_record(
            connection, "patient_sites", {"patient_id": patient_id}, {"site": site}, author=author
        )


def assign_unsited_patients(connection: Connection, site: str, *, author: Author) -> int:
    """Assign every patient without a site (imported by CSV) to ``site``, audited; returns
    how many. For a single-centre study such as the demo: its coordinators then see them."""
    patients = exchange_table("patients")
    sited = select(patient_sites.c.patient_id)
    query = select(patients.c.patient_id).where(patients.c.patient_id.not_in(sited))
    unsited = [str(pid) for (pid,) in connection.execute(query.order_by(patients.c.patient_id))]
    for pid in unsited:
        set_patient_site(connection, pid, site, author=author)
    return len(unsited)


def _visible(role: Role, account_site: str | None, patient_site_: str | None) -> bool:
    if role is Role.COORDINATOR:
        return patient_site_ is not None and patient_site_ == account_site
    return True


def hospital_identifiers(
    connection: Connection,
    patient_id: str,
    *,
    role: Role,
    site: str | None,
) -> list[tuple[str | None, str]]:
    """The patient's hospital identifiers as (issuer, hospital_id), for the requesting
    account: only a coordinator of the patient's own site reads them.

    Raises
    ------
    AccessRefused
        Any other role, a coordinator of another site, or a patient without a site.
    """
    own = patient_site(connection, patient_id)
    if Role(role) is not Role.COORDINATOR or own is None or own != site:
        raise AccessRefused(
            f"patient {patient_id}: hospital identifiers are shown only to coordinators of "
            "the patient's own site."
        )
    rows = connection.execute(
        select(patient_identity.c.issuer, patient_identity.c.hospital_id)
        .where(patient_identity.c.patient_id == patient_id)
        .order_by(patient_identity.c.issuer, patient_identity.c.hospital_id)
    )
    return [(issuer, str(hid)) for issuer, hid in rows]


@dataclass(frozen=True)
class PatientSummary:
    """One row of the patient list (pseudonym only)."""

    patient_id: str
    site: str | None
    screening_date: date
    enrolled: bool
    locked: bool
    signed: bool
    complete_forms: tuple[str, ...]


def _patients_query(site: str | None) -> Any:
    patients = exchange_table("patients")
    query = select(patients.c.patient_id, patients.c.screening_date, patient_sites.c.site)
    query = query.outerjoin(patient_sites, patient_sites.c.patient_id == patients.c.patient_id)
    if site is not None:
        query = query.where(patient_sites.c.site == site)
    return query


def count_patients(connection: Connection, *, site: str | None = None) -> int:
    """How many patients :func:`list_patients` lists (``site`` given: that site's)."""
    query = _patients_query(site).subquery()
    return int(connection.execute(select(func.count()).select_from(query)).scalar_one())


@dataclass(frozen=True)
class PatientPage:
    """One page of the patient list and how many patients the whole list holds."""

    total: int
    patients: list[PatientSummary]


def patient_page(
    connection: Connection,
    *,
    site: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> PatientPage:
    """The patients, by pseudonym, with their enrolment, lock, signature and completed
    forms; ``site`` given: that site's only; ``limit`` and ``offset``: one page of them.
    One statement: the total is a window count and each patient's status is joined or an
    ``EXISTS`` on its key (on PostgreSQL each statement is a round trip); only a page past
    the end counts apart."""
    from petdx.study.schema import enrolments

    patients = exchange_table("patients")
    completed = [
        select(form_status.c.patient_id)
        .where(form_status.c.patient_id == patients.c.patient_id, form_status.c.form == form)
        .exists()
        .label(f"complete_{form}")
        for form in FORMS
    ]
    query = (
        _patients_query(site)
        .add_columns(
            enrolments.c.patient_id.is_not(None).label("enrolled"),
            patient_locks.c.patient_id.is_not(None).label("locked"),
            patient_locks.c.signed_by.is_not(None).label("signed"),
            func.count().over().label("total"),
            *completed,
        )
        .outerjoin(enrolments, enrolments.c.patient_id == patients.c.patient_id)
        .outerjoin(patient_locks, patient_locks.c.patient_id == patients.c.patient_id)
        .order_by(patients.c.patient_id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = list(connection.execute(query).mappings())
    if not rows:  # an empty list, or a page past its end (then counted apart)
        return PatientPage(count_patients(connection, site=site) if offset else 0, [])
    return PatientPage(
        int(rows[0]["total"]),
        [
            PatientSummary(
                patient_id=str(row["patient_id"]),
                site=row["site"],
                screening_date=row["screening_date"],
                enrolled=bool(row["enrolled"]),
                locked=bool(row["locked"]),
                signed=bool(row["signed"]),
                complete_forms=tuple(form for form in FORMS if row[f"complete_{form}"]),
            )
            for row in rows
        ],
    )


def list_patients(
    connection: Connection,
    *,
    site: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[PatientSummary]:
    """The patients of :func:`patient_page` without the total."""
    return patient_page(connection, site=site, limit=limit, offset=offset).patients


def check_patient_access(
    connection: Connection, patient_id: str, *, role: Role, site: str | None
) -> None:
    """Refuse a coordinator access to a patient of another site (or without one).

    Raises
    ------
    AccessRefused
    """
    own = patient_site(connection, patient_id)
    if not _visible(Role(role), site, own):
        raise AccessRefused(f"patient {patient_id} belongs to another site's data access group.")


# -- live eligibility ---------------------------------------------------------------------


def parse_unsaved(
    form: str, raw: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[FieldMessage, ...]]:
    """The typed values of the fields ``raw`` gives (a form's unsaved answers) and the
    messages of those that do not parse (they are left out); no database check, nothing
    stored. The live panel's view of a form being filled (:mod:`petdx.study.live_eligibility`)."""
    spec = form_spec(form)
    cells, cell_messages = _cells(spec, raw)
    given = {k: v for k, v in cells.items() if k in raw}
    values, problems = parse_values(IMPORTABLE[spec.table], given)
    messages = tuple(cell_messages) + tuple(
        FieldMessage(name, text, _shown(shown)) for name, shown, text in problems
    )
    return values, messages
