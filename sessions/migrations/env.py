"""Alembic environment: run programmatically by ``sessions.db.upgrade`` (no alembic.ini).

``sessions.db`` hands over an open connection in ``config.attributes["connection"]``;
with none, the URL comes from ``sqlalchemy.url`` or ``sessions.db.database_url()``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from sessions.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite: copy-and-move ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    from sessions.db import database_url

    context.configure(url=config.get_main_option("sqlalchemy.url") or database_url(),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from sessions.db import database_url

    engine = create_engine(config.get_main_option("sqlalchemy.url") or database_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
