"""Running the catalog's alembic migrations against a database URL."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
ALEMBIC_INI = os.path.join(MIGRATIONS, "alembic.ini")
VERSION_TABLE = "ol_catalog_alembic_version"  # Airflow's own is alembic_version


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """What alembic compares with the catalog's metadata: its own tables and their indexes, but
    not the trigram indexes of migration 0016 (PostgreSQL only, and only where pg_trgm exists)."""
    from airflow_ol_catalog.store.tables import metadata

    if type_ == "table":
        return name in metadata.tables
    if type_ == "index" and (name or "").endswith("_trgm"):
        return False
    table = getattr(obj, "table", None)
    return table is None or table.name in metadata.tables


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config(ALEMBIC_INI)
    config.set_main_option("script_location", MIGRATIONS.replace("%", "%%"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(MIGRATIONS).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(conn: Connection) -> str | None:
    """The catalog's migration the database is at (None before the first)."""
    from alembic.migration import MigrationContext

    chatty = logging.getLogger("alembic.runtime.migration")  # says which dialect it found, at INFO
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    try:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    finally:
        chatty.setLevel(level)
    revision: str | None = context.get_current_revision()
    return revision


def not_migrated(current: str | None) -> str | None:
    """What is wrong when the database is not at this version's migrations, and what to run."""
    head = head_revision()
    if current == head:
        return None
    return f"at {current or 'none'}, expected {head}: run `airflow db migrate`{_on_airflow_3_1()}"


def _on_airflow_3_1() -> str:
    """What else Airflow 3.1 needs to migrate the catalog: it reads no provider's database manager."""
    try:
        from airflow import __version__ as airflow_version
    except ImportError:
        return ""
    if not airflow_version.startswith("3.1."):
        return ""
    return (
        " with [database] external_db_managers = airflow_ol_catalog.store.db_manager.CatalogDBManager"
        " (Airflow 3.1 reads no provider's migrations)"
    )
