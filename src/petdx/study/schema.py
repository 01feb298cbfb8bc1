"""The study database schema (SQLAlchemy Core), derived from the data dictionary.

Every exchange table of :mod:`petdx.data_dictionary` that a real study holds (all but the
simulator's ``truth`` tables) becomes one database table with the same columns, so that
``petdx import`` and ``petdx export`` are lossless. Its primary key is the table's dictionary
key when that is one required field; otherwise (``reads``, whose ``lesion_id`` is empty for a
patient-level read) a ``record_key`` column holds the key fields joined (see
:func:`record_key`).

Internal tables that no exchange file has:

``patient_identity``
    Pseudonym -> hospital identifiers. Read only by ingest (to map DICOM PatientID to the
    pseudonym); never exported, never shown to readers, redacted in the audit trail.
``visits``, ``series``, ``instances``
    Imaging visits (one injection), DICOM series and instances stored under ``images/``,
    with SUV provenance; UIDs are the de-identified ones.
``measurements``
    Lesion x tracer x time point x method x metric values (written by quantification).
``audit_log``
    Append-only, hash-chained record of every insert, update and delete of study data.
``study_meta``
    Study-wide settings: the de-identification secret and the audit chain head.
``patient_sites``, ``form_status``, ``enrolments``, ``data_queries``, ``patient_locks``
    The coordinators' forms (:mod:`petdx.study.forms`): the site each patient belongs to
    (its data access group), which forms are marked complete, the enrolment decision,
    data-quality queries and their lifecycle, a patient's lock and e-signature. Written
    through :mod:`petdx.study.records`, so every change is audited; not exchange tables,
    not analysis inputs.
``reading_worklists``, ``reading_cases``, ``reading_opens``, ``reader_reads``,
``reading_session_locks``, ``adjudication_tasks``, ``adjudications``
    The reader workstation (:mod:`petdx.study.reading`): each reader's seeded worklist per
    session, its cases, when a case was opened, every submitted version of a read (the
    current one is projected into ``reads``), locked sessions, the discordant calls to
    adjudicate and the adjudicator's results. Written through :mod:`petdx.study.records`.
``accounts``, ``web_sessions``
    The people who sign in to the web application (:mod:`petdx.study.accounts`): name, role,
    site, Argon2id password hash, failed-login counter; server-side sessions, of which only
    the SHA-256 of the cookie's token is stored. Never exported; the hash never reaches the
    audit trail.
``reader_vois``
    A reader's volumes of interest (:mod:`petdx.study.reader_vois`): one row per version of
    a VOI (a lesion added from a seed or edited by the reader), with its DICOM SEG under the
    study folder and the metrics petdx computed of it; a change adds a version, none is
    overwritten. Written through :mod:`petdx.study.records` (audited).

A change to this module needs a new Alembic migration (``petdx/study/migrations``); a test
compares the migrated database with this metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeEngine

from petdx.data_dictionary import TABLES, Field, FieldType
from petdx.data_dictionary import Table as DictTable

__all__ = [
    "AUDITED_TABLES",
    "IDENTITY_TABLE",
    "IMPORTABLE",
    "PRIVATE_TABLES",
    "accounts",
    "adjudication_tasks",
    "adjudications",
    "audit_log",
    "data_queries",
    "enrolments",
    "exchange_table",
    "form_status",
    "instances",
    "key_columns",
    "measurements",
    "metadata",
    "patient_identity",
    "patient_locks",
    "patient_sites",
    "reader_reads",
    "reader_vois",
    "reading_cases",
    "reading_opens",
    "reading_session_locks",
    "reading_worklists",
    "record_key",
    "series",
    "study_meta",
    "visits",
    "web_sessions",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=_NAMING)

_ID_LENGTH = 64

_SQL_TYPES: dict[FieldType, TypeEngine[Any]] = {
    FieldType.STRING: Text(),
    FieldType.INTEGER: Integer(),
    FieldType.DECIMAL: Float(precision=53),
    FieldType.DATE: Date(),
    FieldType.DATETIME: DateTime(),
    FieldType.BOOLEAN: Boolean(),
    FieldType.CODE: String(64),
    FieldType.CODES: Text(),
}

#: Columns that hold identifiers and are therefore short, indexed strings.
_ID_FIELDS = {"patient_id", "lesion_id", "reader_id", "sample_id", "event_id", "exposure_id"}
_ID_FIELDS |= {"scan_id", "pet_series_uid", "ct_series_uid"}

#: Identity mapping, imported like the exchange tables but never exported.
IDENTITY_TABLE = DictTable(
    "patient_identity",
    "Pseudonym to hospital identifier (DICOM PatientID); never exported or shown to readers",
    ("issuer", "hospital_id"),
    (
        Field("patient_id", FieldType.STRING, "Study pseudonym", required=True),
        Field(
            "hospital_id",
            FieldType.STRING,
            "Hospital patient identifier as in DICOM PatientID (0010,0020)",
            required=True,
        ),
        Field(
            "issuer",
            FieldType.STRING,
            "Issuer of the identifier (0010,0021); empty for the site's own",
        ),
    ),
)

#: Exchange tables the study database holds and ``petdx import`` accepts, in import order.
IMPORTABLE: dict[str, DictTable] = {
    name: TABLES[name]
    for name in (
        "patients",
        "screening",
        "exposures",
        "scans",
        "lesion_registry",
        "pathology",
        "reference_standard",
        "reads",
        "follow_up",
    )
}
IMPORTABLE[IDENTITY_TABLE.name] = IDENTITY_TABLE


def _references(table: DictTable, field: str) -> str | None:
    if table.name == "patients":
        return None
    if field == "patient_id":
        return "patients.patient_id"
    if field == "lesion_id" and table.name != "lesion_registry":
        return "lesion_registry.lesion_id"
    return None


def _single_key(table: DictTable) -> str | None:
    if len(table.key) == 1 and table.field(table.key[0]).required:
        return table.key[0]
    return None


def _exchange_table(table: DictTable) -> Table:
    columns: list[Any] = []
    single = _single_key(table)
    if single is None:
        columns.append(Column("record_key", String(512), primary_key=True))
    for f in table.fields:
        sql_type: TypeEngine[Any] = _SQL_TYPES[f.type]
        if f.type is FieldType.STRING and (f.name in _ID_FIELDS or f.name in table.key):
            sql_type = String(_ID_LENGTH if f.name != "hospital_id" else 128)
        target = _references(table, f.name)
        args: list[Any] = [f.name, sql_type]
        if target is not None:
            args.append(ForeignKey(target))
        columns.append(
            Column(
                *args,
                primary_key=f.name == single,
                nullable=not f.required,
                index=target is not None,
            )
        )
    return Table(table.name, metadata, *columns)


_exchange = {name: _exchange_table(t) for name, t in IMPORTABLE.items() if name != "patients"}
_exchange = {"patients": _exchange_table(IMPORTABLE["patients"]), **_exchange}
patient_identity = _exchange[IDENTITY_TABLE.name]

visits = Table(
    "visits",
    metadata,
    Column("visit_id", String(160), primary_key=True),
    Column("patient_id", String(_ID_LENGTH), ForeignKey("patients.patient_id"), index=True),
    Column("tracer", String(64), nullable=False),
    Column("injection_datetime", DateTime(), nullable=False, comment="Local time of injection"),
    Column("administered_activity_mbq", Float(precision=53), comment="Injected activity [MBq]"),
    comment="Imaging visits: one tracer injection, one or more time points",
)

series = Table(
    "series",
    metadata,
    Column("series_uid", String(_ID_LENGTH), primary_key=True, comment="De-identified UID"),
    Column("patient_id", String(_ID_LENGTH), ForeignKey("patients.patient_id"), index=True),
    Column("visit_id", String(160), ForeignKey("visits.visit_id"), index=True),
    Column("study_uid", String(_ID_LENGTH), nullable=False, comment="De-identified UID"),
    Column("frame_of_reference_uid", String(_ID_LENGTH), comment="De-identified UID"),
    Column("modality", String(16), nullable=False),
    Column("tracer", String(64)),
    Column("time_point_min", Integer(), comment="Nominal uptake time [min]"),
    Column("uptake_min", Float(precision=53), comment="Injection to acquisition start [min]"),
    Column("scan_id", String(_ID_LENGTH), comment="scans.scan_id whose series UID matched"),
    Column("manufacturer", String(128)),
    Column("n_instances", Integer(), nullable=False),
    Column("folder", Text(), nullable=False, comment="Relative to the study folder"),
    Column("suv_factor", Float(precision=53), comment="Median SUVbw factor [g/Bq]"),
    Column("suv_units", String(16)),
    Column("suv_decay_correction", String(16)),
    Column("suv_reference_time_rule", String(64)),
    Column("suv_warnings", Text()),
    Column("suv_error", Text()),
    comment="DICOM series stored under images/, with SUV provenance",
)

instances = Table(
    "instances",
    metadata,
    Column("sop_instance_uid", String(_ID_LENGTH), primary_key=True, comment="De-identified"),
    Column("series_uid", String(_ID_LENGTH), ForeignKey("series.series_uid"), index=True),
    Column("path", Text(), nullable=False, comment="Relative to the study folder"),
    Column("sha256", String(64), nullable=False),
    comment="De-identified DICOM files stored under images/",
)

measurements = Table(
    "measurements",
    metadata,
    Column("measurement_id", Integer(), primary_key=True, autoincrement=True),
    Column("lesion_id", String(_ID_LENGTH), ForeignKey("lesion_registry.lesion_id"), index=True),
    Column("patient_id", String(_ID_LENGTH), ForeignKey("patients.patient_id"), index=True),
    Column("tracer", String(64), nullable=False),
    Column("time_point_min", Integer(), nullable=False),
    Column("method", String(64), nullable=False, comment="Segmentation method"),
    Column("metric", String(64), nullable=False, comment="e.g. suv_max, mtv_ml"),
    Column("value", Float(precision=53)),
    Column("unit", String(32)),
    Column("series_uid", String(_ID_LENGTH), ForeignKey("series.series_uid")),
    UniqueConstraint("lesion_id", "tracer", "time_point_min", "method", "metric"),
    comment="Lesion measurements: lesion x tracer x time point x method x metric",
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer(), primary_key=True, autoincrement=False),
    Column("at_utc", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(16), nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("record_key", String(512), nullable=False),
    Column("patient_id", String(_ID_LENGTH), index=True),
    Column("old_values", Text()),
    Column("new_values", Text()),
    Column("reason", Text()),
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
    comment="Append-only, hash-chained audit trail (21 CFR 11.10(e))",
)

study_meta = Table(
    "study_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text(), nullable=False),
)

_ACTOR = 128
_UTC = 32


def _patient_key() -> Column[Any]:
    return Column(
        "patient_id", String(_ID_LENGTH), ForeignKey("patients.patient_id"), primary_key=True
    )


patient_sites = Table(
    "patient_sites",
    metadata,
    _patient_key(),
    Column("site", String(_ID_LENGTH), nullable=False, index=True),
    comment="The site (data access group) each patient belongs to",
)

form_status = Table(
    "form_status",
    metadata,
    _patient_key(),
    Column("form", String(_ID_LENGTH), primary_key=True),
    Column("completed_by", String(_ACTOR), nullable=False),
    Column("completed_at_utc", String(_UTC), nullable=False),
    comment="A patient's forms marked complete (a later change needs a reason)",
)

enrolments = Table(
    "enrolments",
    metadata,
    _patient_key(),
    Column("enrolled_by", String(_ACTOR), nullable=False),
    Column("enrolled_at_utc", String(_UTC), nullable=False),
    Column("evidence", Text(), nullable=False, comment="Every criterion's verdict, JSON"),
    comment="Enrolment of an eligible patient",
)

data_queries = Table(
    "data_queries",
    metadata,
    Column("query_id", String(_ID_LENGTH), primary_key=True),
    Column(
        "patient_id",
        String(_ID_LENGTH),
        ForeignKey("patients.patient_id"),
        nullable=False,
        index=True,
    ),
    Column("form", String(_ID_LENGTH), nullable=False),
    Column("target_key", String(512), nullable=False, comment="Record key of the field's record"),
    Column("field", String(_ID_LENGTH), nullable=False),
    Column("rule", String(_ID_LENGTH), comment="Data-quality rule; empty for a manual query"),
    Column("message", Text(), nullable=False),
    Column("status", String(16), nullable=False, comment="open, answered or closed"),
    Column("raised_by", String(_ACTOR), nullable=False),
    Column("raised_at_utc", String(_UTC), nullable=False),
    Column("answer", Text()),
    Column("answered_by", String(_ACTOR)),
    Column("answered_at_utc", String(_UTC)),
    Column("closed_by", String(_ACTOR)),
    Column("closed_at_utc", String(_UTC)),
    comment="Data-quality queries on fields: open -> answered -> closed",
)

patient_locks = Table(
    "patient_locks",
    metadata,
    _patient_key(),
    Column("locked_by", String(_ACTOR), nullable=False),
    Column("locked_at_utc", String(_UTC), nullable=False),
    Column("signed_by", String(_ACTOR)),
    Column("signed_at_utc", String(_UTC)),
    Column("signature_meaning", Text()),
    comment="A patient's locked forms and the investigator's e-signature",
)

accounts = Table(
    "accounts",
    metadata,
    Column("name", String(_ID_LENGTH), primary_key=True, comment="Sign-in name (audit actor)"),
    Column("role", String(32), nullable=False, comment="petdx.study.roles.Role"),
    Column("site", String(_ID_LENGTH), nullable=False, comment="Site (data access group)"),
    Column("password_hash", String(255), nullable=False, comment="Argon2id (PHC string)"),
    Column("disabled", Boolean(), nullable=False),
    Column("created_utc", String(32), nullable=False),
    Column("failed_logins", Integer(), nullable=False, comment="Since the last success"),
    Column("locked_until", Float(precision=53), comment="Unix time; sign-in refused before"),
    comment="Accounts of the web application",
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True, comment="SHA-256 of the cookie token"),
    Column("session_id", String(32), nullable=False, unique=True, comment="Public id (audit)"),
    Column("account", String(_ID_LENGTH), ForeignKey("accounts.name"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float(precision=53), nullable=False, comment="Unix time"),
    Column("last_seen_at", Float(precision=53), nullable=False, comment="Unix time"),
    comment="Server-side sessions of the web application",
)

# The reader workstation (petdx.study.reading), migration 0005.
_CASE = 64

reading_worklists = Table(
    "reading_worklists",
    metadata,
    Column("reader_id", String(_ID_LENGTH), primary_key=True),
    Column("session", Integer(), primary_key=True, autoincrement=False),
    Column("seed", String(64), nullable=False, comment="Seed of the permutation (hex)"),
    Column("case_ids", Text(), nullable=False, comment="The cases in reading order, JSON"),
    Column("created_utc", String(_UTC), nullable=False),
    comment="Each reader's seeded worklist per read session",
)

reading_cases = Table(
    "reading_cases",
    metadata,
    Column("case_id", String(_CASE), primary_key=True, comment="Opaque (keyed hash)"),
    Column("reader_id", String(_ID_LENGTH), nullable=False, index=True),
    Column("session", Integer(), nullable=False),
    Column("position", Integer(), nullable=False, comment="1-based place in the worklist"),
    Column(
        "patient_id",
        String(_ID_LENGTH),
        ForeignKey("patients.patient_id"),
        nullable=False,
        index=True,
    ),
    Column("tracer", String(64), nullable=False),
    Column("time_points", String(64), nullable=False, comment="Uptake times read, e.g. 60,120"),
    comment="One case of a reader's worklist: a patient's scans read together",
)

reading_opens = Table(
    "reading_opens",
    metadata,
    Column("open_id", String(128), primary_key=True),
    Column("case_id", String(_CASE), nullable=False, comment="A case or adjudication task"),
    Column("reader_id", String(_ID_LENGTH), nullable=False),
    Column("opened_utc", String(_UTC), nullable=False, comment="Server time"),
    comment="When a reader opened a case (server time): reading time starts here",
)

reader_reads = Table(
    "reader_reads",
    metadata,
    Column("read_id", String(128), primary_key=True),
    Column(
        "case_id", String(_CASE), ForeignKey("reading_cases.case_id"), nullable=False, index=True
    ),
    Column("reader_id", String(_ID_LENGTH), nullable=False, index=True),
    Column("version", Integer(), nullable=False),
    Column("reason", Text(), comment="Why a later version changes the read"),
    Column("opened_utc", String(_UTC), comment="Server time the case was opened"),
    Column("submitted_utc", String(_UTC), nullable=False, comment="Server time"),
    Column("seconds", Float(precision=53), comment="Reading time of the case [s]"),
    Column("patient_score", Integer(), nullable=False),
    Column("patient_call", String(16), nullable=False),
    Column("lesions", Text(), nullable=False, comment="Per candidate: decision, score, site, s"),
    UniqueConstraint("case_id", "version"),
    comment="Every submitted version of a read; the highest version is the current one",
)

reading_session_locks = Table(
    "reading_session_locks",
    metadata,
    Column("reader_id", String(_ID_LENGTH), primary_key=True),
    Column("session", Integer(), primary_key=True, autoincrement=False),
    Column("locked_utc", String(_UTC), nullable=False),
    comment="A reader's locked read session (its reads take no change; the washout starts)",
)

adjudication_tasks = Table(
    "adjudication_tasks",
    metadata,
    Column("task_id", String(_CASE), primary_key=True, comment="Opaque (hash)"),
    Column("session", Integer(), nullable=False),
    Column("adjudicator", String(_ID_LENGTH), nullable=False, index=True),
    Column("patient_id", String(_ID_LENGTH), ForeignKey("patients.patient_id"), nullable=False),
    Column("tracer", String(64), nullable=False),
    Column("time_points", String(64), nullable=False),
    Column(
        "lesion_id",
        String(_ID_LENGTH),
        ForeignKey("lesion_registry.lesion_id"),
        comment="Empty for a discordant patient-level call",
    ),
    Column("created_utc", String(_UTC), nullable=False),
    comment="A discordant patient- or lesion-level call for the adjudicator",
)

adjudications = Table(
    "adjudications",
    metadata,
    Column("task_id", String(_CASE), ForeignKey("adjudication_tasks.task_id"), primary_key=True),
    Column("version", Integer(), primary_key=True, autoincrement=False),
    Column("adjudicator", String(_ID_LENGTH), nullable=False),
    Column("reason", Text()),
    Column("opened_utc", String(_UTC)),
    Column("submitted_utc", String(_UTC), nullable=False),
    Column("seconds", Float(precision=53)),
    Column("score", Integer(), nullable=False),
    Column("call", String(16), nullable=False),
    comment="The adjudicator's result of a task (every version kept)",
)

# reader VOIs (petdx.study.reader_vois, issue 14): one row per version of a reader's VOI.
reader_vois = Table(
    "reader_vois",
    metadata,
    Column("voi_id", String(_ID_LENGTH), primary_key=True, comment="Opaque id of the VOI"),
    Column("version", Integer(), primary_key=True, comment="1, 2, ...: a change adds one"),
    Column("reader_id", String(_ID_LENGTH), nullable=False, index=True),
    Column("case_id", String(_ID_LENGTH), nullable=False, index=True),
    Column(
        "patient_id",
        String(_ID_LENGTH),
        ForeignKey("patients.patient_id"),
        nullable=False,
        index=True,
    ),
    Column("series_uid", String(_ID_LENGTH), nullable=False, comment="The PET series (de-id)"),
    Column("lesion_id", String(_ID_LENGTH), comment="Registry lesion; empty for an added one"),
    Column("origin", String(16), nullable=False, comment="seed, edit or delete"),
    Column("reason", Text(), nullable=False),
    Column("seg_path", Text(), comment="The DICOM SEG, relative to the study folder"),
    Column("seg_sop_instance_uid", String(_ID_LENGTH)),
    Column("mask_sha256", String(64), comment="SHA-256 of the mask's packed bits"),
    Column("voxels", Integer(), nullable=False),
    Column("metrics", Text(), nullable=False, comment="petdx.quantify metrics, JSON"),
    Column("provenance", Text(), nullable=False, comment="Seed or edit operations, JSON"),
    Column("created_by", String(_ACTOR), nullable=False),
    Column("created_at_utc", String(_UTC), nullable=False),
    comment="Versions of the readers' volumes of interest (DICOM SEG + metrics)",
)

#: Exchange and imaging tables whose every change goes to the audit trail.
AUDITED_TABLES: dict[str, Table] = {**_exchange, "visits": visits, "series": series}
AUDITED_TABLES["measurements"] = measurements

#: Tables that never leave the system and never reach a reader.
PRIVATE_TABLES = frozenset(
    {"patient_identity", "study_meta", "audit_log", "accounts", "web_sessions"}
)


def key_columns(table_name: str) -> tuple[str, ...]:
    """The fields that identify a record of ``table_name``."""
    if table_name in IMPORTABLE:
        return IMPORTABLE[table_name].key
    if table_name == "measurements":
        return ("lesion_id", "tracer", "time_point_min", "method", "metric")
    table = metadata.tables[table_name]
    return tuple(c.name for c in table.primary_key.columns)


def record_key(table_name: str, values: Mapping[str, Any]) -> str:
    """The key of a record as one string (JSON list of the key fields; empty -> null).

    Used as the primary key of tables whose dictionary key has optional fields, and as
    ``audit_log.record_key``.
    """
    parts = [values.get(name) for name in key_columns(table_name)]
    if len(parts) == 1:
        return "" if parts[0] is None else str(parts[0])
    return json.dumps([None if p in (None, "") else str(p) for p in parts], separators=(",", ":"))


def exchange_table(name: str) -> Table:
    """The database table of an importable exchange table."""
    return _exchange[name]
