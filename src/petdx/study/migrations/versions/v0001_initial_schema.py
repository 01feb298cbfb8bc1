"""Initial schema: exchange tables, identity, imaging, measurements, audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

The audit trail is made append-only in the database itself: triggers refuse UPDATE and DELETE
on ``audit_log`` (SQLite ``RAISE(ABORT)``, PostgreSQL a PL/pgSQL trigger function), so even a
bug in petdx cannot rewrite history; ``petdx audit verify`` detects what a database
administrator could still do by hand.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at_utc", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_key", sa.String(length=512), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("old_values", sa.Text(), nullable=True),
        sa.Column("new_values", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        comment="Append-only, hash-chained audit trail (21 CFR 11.10(e))",
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "patients",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("height_m", sa.Float(precision=53), nullable=True),
        sa.Column("weight_kg", sa.Float(precision=53), nullable=True),
        sa.Column("tumour_type", sa.String(length=64), nullable=True),
        sa.Column("ecog", sa.Integer(), nullable=True),
        sa.Column("screening_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patients")),
    )
    op.create_table(
        "study_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_study_meta")),
    )
    op.create_table(
        "exposures",
        sa.Column("exposure_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("exposure_date", sa.Date(), nullable=False),
        sa.Column("modality", sa.String(length=64), nullable=False),
        sa.Column("radiopharmaceutical", sa.Text(), nullable=True),
        sa.Column("administered_activity_mbq", sa.Float(precision=53), nullable=True),
        sa.Column("ct_dlp_mgy_cm", sa.Float(precision=53), nullable=True),
        sa.Column("ct_region", sa.String(length=64), nullable=True),
        sa.Column("effective_dose_msv", sa.Float(precision=53), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_exposures_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("exposure_id", name=op.f("pk_exposures")),
    )
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exposures_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "follow_up",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_follow_up_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_follow_up")),
    )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "lesion_registry",
        sa.Column("lesion_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("centre_x_mm", sa.Float(precision=53), nullable=False),
        sa.Column("centre_y_mm", sa.Float(precision=53), nullable=False),
        sa.Column("centre_z_mm", sa.Float(precision=53), nullable=False),
        sa.Column("identified_by", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_lesion_registry_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("lesion_id", name=op.f("pk_lesion_registry")),
    )
    with op.batch_alter_table("lesion_registry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lesion_registry_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "patient_identity",
        sa.Column("record_key", sa.String(length=512), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", sa.String(length=128), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_patient_identity_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("record_key", name=op.f("pk_patient_identity")),
    )
    with op.batch_alter_table("patient_identity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_identity_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "scans",
        sa.Column("scan_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("tracer", sa.String(length=64), nullable=False),
        sa.Column("time_point_min", sa.Integer(), nullable=False),
        sa.Column("injection_datetime", sa.DateTime(), nullable=False),
        sa.Column("administered_activity_mbq", sa.Float(precision=53), nullable=False),
        sa.Column("scan_datetime", sa.DateTime(), nullable=False),
        sa.Column("pet_series_uid", sa.String(length=64), nullable=False),
        sa.Column("ct_series_uid", sa.String(length=64), nullable=True),
        sa.Column("dicom_folder", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_scans_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("scan_id", name=op.f("pk_scans")),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scans_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "screening",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("planned_scan_date", sa.Date(), nullable=False),
        sa.Column("consent_signed", sa.String(length=64), nullable=True),
        sa.Column("consent_date", sa.Date(), nullable=True),
        sa.Column("consent_by", sa.String(length=64), nullable=True),
        sa.Column("malignancy_confirmed", sa.String(length=64), nullable=True),
        sa.Column("confirmation_method", sa.String(length=64), nullable=True),
        sa.Column("confirmation_date", sa.Date(), nullable=True),
        sa.Column("suspicious_lesions", sa.String(length=64), nullable=True),
        sa.Column("suspicious_lesion_kind", sa.String(length=64), nullable=True),
        sa.Column("imaging_date", sa.Date(), nullable=True),
        sa.Column("prior_antitumour_therapy", sa.String(length=64), nullable=True),
        sa.Column("prior_therapy_date", sa.Date(), nullable=True),
        sa.Column("cannot_tolerate_scan", sa.String(length=64), nullable=True),
        sa.Column("scan_contraindication", sa.String(length=64), nullable=True),
        sa.Column("major_surgery", sa.String(length=64), nullable=True),
        sa.Column("major_surgery_date", sa.Date(), nullable=True),
        sa.Column("experimental_therapy", sa.String(length=64), nullable=True),
        sa.Column("experimental_therapy_date", sa.Date(), nullable=True),
        sa.Column("investigator_excludes", sa.String(length=64), nullable=True),
        sa.Column("investigator_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_screening_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_screening")),
    )
    with op.batch_alter_table("screening", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "visits",
        sa.Column("visit_id", sa.String(length=160), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("tracer", sa.String(length=64), nullable=False),
        sa.Column(
            "injection_datetime", sa.DateTime(), nullable=False, comment="Local time of injection"
        ),
        sa.Column(
            "administered_activity_mbq",
            sa.Float(precision=53),
            nullable=True,
            comment="Injected activity [MBq]",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_visits_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_visits")),
        comment="Imaging visits: one tracer injection, one or more time points",
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visits_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "pathology",
        sa.Column("sample_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("lesion_id", sa.String(length=64), nullable=False),
        sa.Column("sample_date", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("histology", sa.String(length=64), nullable=False),
        sa.Column("histology_detail", sa.Text(), nullable=True),
        sa.Column("pdl1_assay", sa.String(length=64), nullable=True),
        sa.Column("pdl1_tps_pct", sa.Float(precision=53), nullable=True),
        sa.Column("pdl1_cps", sa.Float(precision=53), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesion_id"],
            ["lesion_registry.lesion_id"],
            name=op.f("fk_pathology_lesion_id_lesion_registry"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_pathology_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_pathology")),
    )
    with op.batch_alter_table("pathology", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pathology_lesion_id"), ["lesion_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathology_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "reads",
        sa.Column("record_key", sa.String(length=512), nullable=False),
        sa.Column("reader_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("lesion_id", sa.String(length=64), nullable=True),
        sa.Column("tracer", sa.String(length=64), nullable=False),
        sa.Column("time_point_min", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("call", sa.String(length=64), nullable=True),
        sa.Column("read_datetime", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesion_id"],
            ["lesion_registry.lesion_id"],
            name=op.f("fk_reads_lesion_id_lesion_registry"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_reads_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("record_key", name=op.f("pk_reads")),
    )
    with op.batch_alter_table("reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reads_lesion_id"), ["lesion_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reads_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "reference_standard",
        sa.Column("lesion_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("standard", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesion_id"],
            ["lesion_registry.lesion_id"],
            name=op.f("fk_reference_standard_lesion_id_lesion_registry"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_reference_standard_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("lesion_id", name=op.f("pk_reference_standard")),
    )
    with op.batch_alter_table("reference_standard", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reference_standard_lesion_id"), ["lesion_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reference_standard_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "series",
        sa.Column("series_uid", sa.String(length=64), nullable=False, comment="De-identified UID"),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("visit_id", sa.String(length=160), nullable=True),
        sa.Column("study_uid", sa.String(length=64), nullable=False, comment="De-identified UID"),
        sa.Column(
            "frame_of_reference_uid",
            sa.String(length=64),
            nullable=True,
            comment="De-identified UID",
        ),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("tracer", sa.String(length=64), nullable=True),
        sa.Column(
            "time_point_min", sa.Integer(), nullable=True, comment="Nominal uptake time [min]"
        ),
        sa.Column(
            "uptake_min",
            sa.Float(precision=53),
            nullable=True,
            comment="Injection to acquisition start [min]",
        ),
        sa.Column(
            "scan_id",
            sa.String(length=64),
            nullable=True,
            comment="scans.scan_id whose series UID matched",
        ),
        sa.Column("manufacturer", sa.String(length=128), nullable=True),
        sa.Column("n_instances", sa.Integer(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False, comment="Relative to the study folder"),
        sa.Column(
            "suv_factor",
            sa.Float(precision=53),
            nullable=True,
            comment="Median SUVbw factor [g/Bq]",
        ),
        sa.Column("suv_units", sa.String(length=16), nullable=True),
        sa.Column("suv_decay_correction", sa.String(length=16), nullable=True),
        sa.Column("suv_reference_time_rule", sa.String(length=64), nullable=True),
        sa.Column("suv_warnings", sa.Text(), nullable=True),
        sa.Column("suv_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_series_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.visit_id"], name=op.f("fk_series_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("series_uid", name=op.f("pk_series")),
        comment="DICOM series stored under images/, with SUV provenance",
    )
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_series_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "instances",
        sa.Column(
            "sop_instance_uid", sa.String(length=64), nullable=False, comment="De-identified"
        ),
        sa.Column("series_uid", sa.String(length=64), nullable=True),
        sa.Column("path", sa.Text(), nullable=False, comment="Relative to the study folder"),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_uid"], ["series.series_uid"], name=op.f("fk_instances_series_uid_series")
        ),
        sa.PrimaryKeyConstraint("sop_instance_uid", name=op.f("pk_instances")),
        comment="De-identified DICOM files stored under images/",
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instances_series_uid"), ["series_uid"], unique=False)

    op.create_table(
        "measurements",
        sa.Column("measurement_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lesion_id", sa.String(length=64), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("tracer", sa.String(length=64), nullable=False),
        sa.Column("time_point_min", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False, comment="Segmentation method"),
        sa.Column("metric", sa.String(length=64), nullable=False, comment="e.g. suv_max, mtv_ml"),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("series_uid", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesion_id"],
            ["lesion_registry.lesion_id"],
            name=op.f("fk_measurements_lesion_id_lesion_registry"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_measurements_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["series_uid"], ["series.series_uid"], name=op.f("fk_measurements_series_uid_series")
        ),
        sa.PrimaryKeyConstraint("measurement_id", name=op.f("pk_measurements")),
        sa.UniqueConstraint(
            "lesion_id",
            "tracer",
            "time_point_min",
            "method",
            "metric",
            name=op.f("uq_measurements_lesion_id"),
        ),
        comment="Lesion measurements: lesion x tracer x time point x method x metric",
    )
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measurements_lesion_id"), ["lesion_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_measurements_patient_id"), ["patient_id"], unique=False
        )
    _protect_audit_log()


_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_POSTGRES_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def _protect_audit_log() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}.get(dialect, ())
    for statement in statements:
        op.execute(statement)


def _unprotect_audit_log() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")


def downgrade() -> None:
    _unprotect_audit_log()
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measurements_patient_id"))
        batch_op.drop_index(batch_op.f("ix_measurements_lesion_id"))

    op.drop_table("measurements")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instances_series_uid"))

    op.drop_table("instances")
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_visit_id"))
        batch_op.drop_index(batch_op.f("ix_series_patient_id"))

    op.drop_table("series")
    with op.batch_alter_table("reference_standard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_standard_patient_id"))
        batch_op.drop_index(batch_op.f("ix_reference_standard_lesion_id"))

    op.drop_table("reference_standard")
    with op.batch_alter_table("reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reads_patient_id"))
        batch_op.drop_index(batch_op.f("ix_reads_lesion_id"))

    op.drop_table("reads")
    with op.batch_alter_table("pathology", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathology_patient_id"))
        batch_op.drop_index(batch_op.f("ix_pathology_lesion_id"))

    op.drop_table("pathology")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visits_patient_id"))

    op.drop_table("visits")
    with op.batch_alter_table("screening", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_patient_id"))

    op.drop_table("screening")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scans_patient_id"))

    op.drop_table("scans")
    with op.batch_alter_table("patient_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_identity_patient_id"))

    op.drop_table("patient_identity")
    with op.batch_alter_table("lesion_registry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lesion_registry_patient_id"))

    op.drop_table("lesion_registry")
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_patient_id"))

    op.drop_table("follow_up")
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exposures_patient_id"))

    op.drop_table("exposures")
    op.drop_table("study_meta")
    op.drop_table("patients")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_patient_id"))

    op.drop_table("audit_log")
