"""Alembic environment of the catalog: only its own tables, its own version table."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine

from airflow_ol_catalog.store.migrate import VERSION_TABLE, include_object
from airflow_ol_catalog.store.tables import metadata

config = context.config
MIGRATION_LOCK = 0x6F6C6367  # the advisory lock key that serialises the catalog's migrations ("olcg")


def _configure(connection: Connection | None = None, **kwargs: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        render_as_batch=True,
        transaction_per_migration=True,
        compare_type=True,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic was given neither a connection nor sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as conn:
        serialised = conn.dialect.name == "postgresql"
        if serialised:
            # Two `airflow db migrate` at once (every replica's start, say): one at a time, the
            # second finding the catalog migrated. Airflow's own lock does not cover its external
            # DB managers when it makes a new database. Held by the session, whatever the
            # migrations' transactions.
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            conn.commit()
        try:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        finally:
            if serialised:
                conn.rollback()
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                conn.commit()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
