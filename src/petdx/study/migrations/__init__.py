"""Alembic migrations of the study database (run by :func:`petdx.study.database.upgrade`)."""
