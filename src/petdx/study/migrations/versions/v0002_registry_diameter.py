"""Lesion registry: the lesion's diameter on CT (sizes the measurement region of petdx run).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lesion_registry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("diameter_mm", sa.Float(precision=53), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lesion_registry", schema=None) as batch_op:
        batch_op.drop_column("diameter_mm")
