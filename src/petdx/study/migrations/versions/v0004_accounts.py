"""Accounts and server-side sessions of the web application (``petdx serve``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column(
            "name", sa.String(length=64), nullable=False, comment="Sign-in name (audit actor)"
        ),
        sa.Column("role", sa.String(length=32), nullable=False, comment="petdx.study.roles.Role"),
        sa.Column("site", sa.String(length=64), nullable=False, comment="Site (data access group)"),
        sa.Column(
            "password_hash", sa.String(length=255), nullable=False, comment="Argon2id (PHC string)"
        ),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_utc", sa.String(length=32), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False, comment="Since the last success"),
        sa.Column(
            "locked_until",
            sa.Float(precision=53),
            nullable=True,
            comment="Unix time; sign-in refused before",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_accounts")),
        comment="Accounts of the web application",
    )
    op.create_table(
        "web_sessions",
        sa.Column(
            "token_sha256",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the cookie token",
        ),
        sa.Column("session_id", sa.String(length=32), nullable=False, comment="Public id (audit)"),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False, comment="Unix time"),
        sa.Column("last_seen_at", sa.Float(precision=53), nullable=False, comment="Unix time"),
        sa.ForeignKeyConstraint(
            ["account"], ["accounts.name"], name=op.f("fk_web_sessions_account_accounts")
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("session_id", name=op.f("uq_web_sessions_session_id")),
        comment="Server-side sessions of the web application",
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_account"), ["account"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_account"))
    op.drop_table("web_sessions")
    op.drop_table("accounts")
