"""The coordinators' forms: patient sites, form completion, enrolment, data queries, lock and
signature; the scan's hybrid modality (PET/CT or PET/MR).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _patient_key() -> sa.Column[str]:
    return sa.Column("patient_id", sa.String(length=64), nullable=False)


def _patient_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["patient_id"], ["patients.patient_id"], name=op.f(f"fk_{table}_patient_id_patients")
    )


def upgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modality", sa.String(length=64), nullable=True))
    op.create_table(
        "patient_sites",
        _patient_key(),
        sa.Column("site", sa.String(length=64), nullable=False),
        _patient_fk("patient_sites"),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_sites")),
        comment="The site (data access group) each patient belongs to",
    )
    with op.batch_alter_table("patient_sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_sites_site"), ["site"], unique=False)
    op.create_table(
        "form_status",
        _patient_key(),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("completed_by", sa.String(length=128), nullable=False),
        sa.Column("completed_at_utc", sa.String(length=32), nullable=False),
        _patient_fk("form_status"),
        sa.PrimaryKeyConstraint("patient_id", "form", name=op.f("pk_form_status")),
        comment="A patient's forms marked complete (a later change needs a reason)",
    )
    op.create_table(
        "enrolments",
        _patient_key(),
        sa.Column("enrolled_by", sa.String(length=128), nullable=False),
        sa.Column("enrolled_at_utc", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False, comment="Every criterion's verdict, JSON"),
        _patient_fk("enrolments"),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_enrolments")),
        comment="Enrolment of an eligible patient",
    )
    op.create_table(
        "data_queries",
        sa.Column("query_id", sa.String(length=64), nullable=False),
        _patient_key(),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column(
            "target_key",
            sa.String(length=512),
            nullable=False,
            comment="Record key of the field's record",
        ),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column(
            "rule",
            sa.String(length=64),
            nullable=True,
            comment="Data-quality rule; empty for a manual query",
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="open, answered or closed"
        ),
        sa.Column("raised_by", sa.String(length=128), nullable=False),
        sa.Column("raised_at_utc", sa.String(length=32), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=128), nullable=True),
        sa.Column("answered_at_utc", sa.String(length=32), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.Column("closed_at_utc", sa.String(length=32), nullable=True),
        _patient_fk("data_queries"),
        sa.PrimaryKeyConstraint("query_id", name=op.f("pk_data_queries")),
        comment="Data-quality queries on fields: open -> answered -> closed",
    )
    with op.batch_alter_table("data_queries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_queries_patient_id"), ["patient_id"], unique=False
        )
    op.create_table(
        "patient_locks",
        _patient_key(),
        sa.Column("locked_by", sa.String(length=128), nullable=False),
        sa.Column("locked_at_utc", sa.String(length=32), nullable=False),
        sa.Column("signed_by", sa.String(length=128), nullable=True),
        sa.Column("signed_at_utc", sa.String(length=32), nullable=True),
        sa.Column("signature_meaning", sa.Text(), nullable=True),
        _patient_fk("patient_locks"),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_locks")),
        comment="A patient's locked forms and the investigator's e-signature",
    )


def downgrade() -> None:
    op.drop_table("patient_locks")
    with op.batch_alter_table("data_queries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_queries_patient_id"))
    op.drop_table("data_queries")
    op.drop_table("enrolments")
    op.drop_table("form_status")
    with op.batch_alter_table("patient_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_sites_site"))
    op.drop_table("patient_sites")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_column("modality")
