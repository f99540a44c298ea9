"""Lets `airflow db migrate` create and upgrade the catalog's tables (Airflow's external DB manager API)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.utils.db_manager import BaseDBManager
from sqlalchemy import Connection, inspect
from sqlalchemy.orm import Session

from airflow_ol_catalog.store.migrate import ALEMBIC_INI, MIGRATIONS, VERSION_TABLE
from airflow_ol_catalog.store.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config


class CatalogDBManager(BaseDBManager):
    metadata = metadata
    version_table_name = VERSION_TABLE
    migration_dir = MIGRATIONS
    alembic_file = ALEMBIC_INI
    supports_table_dropping = True
    revision_heads_map = {"0.1.0": "0009"}

    def __init__(self, session: Session) -> None:
        from airflow_ol_catalog.store.engine import get_engine, uses_own_database

        if uses_own_database():
            # The catalog lives in its own database: every inherited step (revision lookup,
            # create_all, stamp, upgrade) must run there, not in Airflow's.
            session = Session(bind=get_engine())
        super().__init__(session)  # type: ignore[no-untyped-call]  # Airflow does not annotate it

    def create_db_from_orm(self) -> None:
        """A new catalog is made by running its migrations, not from the metadata and a stamp, as
        Airflow's default does: on PostgreSQL they make what the metadata cannot say (the event
        log's monthly partitions, trigram indexes, the writers' alias check)."""
        from alembic import command

        command.upgrade(self.get_alembic_config(), "heads")

    def get_alembic_config(self) -> Config:
        from airflow_ol_catalog.store.engine import catalog_url
        from airflow_ol_catalog.store.migrate import alembic_config

        return alembic_config(catalog_url())

    def drop_tables(self, connection: Connection) -> None:
        from airflow_ol_catalog.store.engine import get_engine, uses_own_database

        if uses_own_database():
            with get_engine().begin() as own:
                self._drop(own)
        else:
            self._drop(connection)

    def _drop(self, connection: Connection) -> None:
        self.metadata.drop_all(connection)
        if inspect(connection).has_table(VERSION_TABLE):
            connection.exec_driver_sql(f"DROP TABLE {VERSION_TABLE}")
