"""Alembic environment: migrations run on the connection petdx passes in ``attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from petdx.study.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # command-line use: `alembic -x url=... upgrade head` (maintainers only)
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database URL: alembic -x url=sqlite:///study.sqlite ...")
    with create_engine(url).connect() as conn:
        _run(conn)
