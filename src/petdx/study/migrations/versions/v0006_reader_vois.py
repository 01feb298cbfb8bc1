"""Versions of the readers' volumes of interest (DICOM SEG + metrics), issue 14.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reader_vois",
        sa.Column("voi_id", sa.String(length=64), nullable=False, comment="Opaque id of the VOI"),
        sa.Column("version", sa.Integer(), nullable=False, comment="1, 2, ...: a change adds one"),
        sa.Column("reader_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column(
            "series_uid", sa.String(length=64), nullable=False, comment="The PET series (de-id)"
        ),
        sa.Column(
            "lesion_id",
            sa.String(length=64),
            nullable=True,
            comment="Registry lesion; empty for an added one",
        ),
        sa.Column("origin", sa.String(length=16), nullable=False, comment="seed, edit or delete"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "seg_path",
            sa.Text(),
            nullable=True,
            comment="The DICOM SEG, relative to the study folder",
        ),
        sa.Column("seg_sop_instance_uid", sa.String(length=64), nullable=True),
        sa.Column(
            "mask_sha256",
            sa.String(length=64),
            nullable=True,
            comment="SHA-256 of the mask's packed bits",
        ),
        sa.Column("voxels", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False, comment="petdx.quantify metrics, JSON"),
        sa.Column("provenance", sa.Text(), nullable=False, comment="Seed or edit operations, JSON"),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at_utc", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_reader_vois_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("voi_id", "version", name=op.f("pk_reader_vois")),
        comment="Versions of the readers' volumes of interest (DICOM SEG + metrics)",
    )
    with op.batch_alter_table("reader_vois", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reader_vois_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reader_vois_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reader_vois_reader_id"), ["reader_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reader_vois", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reader_vois_reader_id"))
        batch_op.drop_index(batch_op.f("ix_reader_vois_patient_id"))
        batch_op.drop_index(batch_op.f("ix_reader_vois_case_id"))
    op.drop_table("reader_vois")
