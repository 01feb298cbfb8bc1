"""The reader workstation (``petdx.study.reading``): worklists, cases, openings, read versions,
locked sessions, adjudication tasks and results.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_UTC = sa.String(length=32)


def _id(name: str, **kwargs: object) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=64), **kwargs)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "reading_worklists",
        _id("reader_id", nullable=False),
        sa.Column("session", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "seed", sa.String(length=64), nullable=False, comment="Seed of the permutation (hex)"
        ),
        sa.Column(
            "case_ids", sa.Text(), nullable=False, comment="The cases in reading order, JSON"
        ),
        sa.Column("created_utc", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("reader_id", "session", name=op.f("pk_reading_worklists")),
        comment="Each reader's seeded worklist per read session",
    )
    op.create_table(
        "reading_cases",
        _id("case_id", nullable=False, comment="Opaque (keyed hash)"),
        _id("reader_id", nullable=False),
        sa.Column("session", sa.Integer(), nullable=False),
        sa.Column(
            "position", sa.Integer(), nullable=False, comment="1-based place in the worklist"
        ),
        _id("patient_id", nullable=False),
        sa.Column("tracer", sa.String(length=64), nullable=False),
        sa.Column(
            "time_points",
            sa.String(length=64),
            nullable=False,
            comment="Uptake times read, e.g. 60,120",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_reading_cases_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_reading_cases")),
        comment="One case of a reader's worklist: a patient's scans read together",
    )
    with op.batch_alter_table("reading_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reading_cases_patient_id"), ["patient_id"])
        batch_op.create_index(batch_op.f("ix_reading_cases_reader_id"), ["reader_id"])
    op.create_table(
        "reading_opens",
        sa.Column("open_id", sa.String(length=128), nullable=False),
        _id("case_id", nullable=False, comment="A case or adjudication task"),
        _id("reader_id", nullable=False),
        sa.Column("opened_utc", _UTC, nullable=False, comment="Server time"),
        sa.PrimaryKeyConstraint("open_id", name=op.f("pk_reading_opens")),
        comment="When a reader opened a case (server time): reading time starts here",
    )
    op.create_table(
        "reader_reads",
        sa.Column("read_id", sa.String(length=128), nullable=False),
        _id("case_id", nullable=False),
        _id("reader_id", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), comment="Why a later version changes the read"),
        sa.Column("opened_utc", _UTC, comment="Server time the case was opened"),
        sa.Column("submitted_utc", _UTC, nullable=False, comment="Server time"),
        sa.Column("seconds", sa.Float(precision=53), comment="Reading time of the case [s]"),
        sa.Column("patient_score", sa.Integer(), nullable=False),
        sa.Column("patient_call", sa.String(length=16), nullable=False),
        sa.Column(
            "lesions",
            sa.Text(),
            nullable=False,
            comment="Per candidate: decision, score, site, s",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["reading_cases.case_id"],
            name=op.f("fk_reader_reads_case_id_reading_cases"),
        ),
        sa.PrimaryKeyConstraint("read_id", name=op.f("pk_reader_reads")),
        sa.UniqueConstraint("case_id", "version", name=op.f("uq_reader_reads_case_id")),
        comment="Every submitted version of a read; the highest version is the current one",
    )
    with op.batch_alter_table("reader_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reader_reads_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_reader_reads_reader_id"), ["reader_id"])
    op.create_table(
        "reading_session_locks",
        _id("reader_id", nullable=False),
        sa.Column("session", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("locked_utc", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("reader_id", "session", name=op.f("pk_reading_session_locks")),
        comment="A reader's locked read session (its reads take no change; the washout starts)",
    )
    op.create_table(
        "adjudication_tasks",
        _id("task_id", nullable=False, comment="Opaque (hash)"),
        sa.Column("session", sa.Integer(), nullable=False),
        _id("adjudicator", nullable=False),
        _id("patient_id", nullable=False),
        sa.Column("tracer", sa.String(length=64), nullable=False),
        sa.Column("time_points", sa.String(length=64), nullable=False),
        _id("lesion_id", nullable=True, comment="Empty for a discordant patient-level call"),
        sa.Column("created_utc", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["lesion_id"],
            ["lesion_registry.lesion_id"],
            name=op.f("fk_adjudication_tasks_lesion_id_lesion_registry"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_adjudication_tasks_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_adjudication_tasks")),
        comment="A discordant patient- or lesion-level call for the adjudicator",
    )
    with op.batch_alter_table("adjudication_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adjudication_tasks_adjudicator"), ["adjudicator"])
    op.create_table(
        "adjudications",
        _id("task_id", nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        _id("adjudicator", nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("opened_utc", _UTC),
        sa.Column("submitted_utc", _UTC, nullable=False),
        sa.Column("seconds", sa.Float(precision=53)),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("call", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["adjudication_tasks.task_id"],
            name=op.f("fk_adjudications_task_id_adjudication_tasks"),
        ),
        sa.PrimaryKeyConstraint("task_id", "version", name=op.f("pk_adjudications")),
        comment="The adjudicator's result of a task (every version kept)",
    )


def downgrade() -> None:
    op.drop_table("adjudications")
    with op.batch_alter_table("adjudication_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adjudication_tasks_adjudicator"))
    op.drop_table("adjudication_tasks")
    op.drop_table("reading_session_locks")
    with op.batch_alter_table("reader_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reader_reads_reader_id"))
        batch_op.drop_index(batch_op.f("ix_reader_reads_case_id"))
    op.drop_table("reader_reads")
    op.drop_table("reading_opens")
    with op.batch_alter_table("reading_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reading_cases_reader_id"))
        batch_op.drop_index(batch_op.f("ix_reading_cases_patient_id"))
    op.drop_table("reading_cases")
    op.drop_table("reading_worklists")
