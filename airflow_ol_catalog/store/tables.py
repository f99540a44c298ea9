"""The catalog's tables (SQLAlchemy Core). Migrations in store/migrations must agree with these."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


namespace = Table(
    "ol_catalog_namespace",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("admins", Text, nullable=False, default="[]"),  # JSON array of Airflow user names
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(250), nullable=False),
    Column("event_count", BigInteger, nullable=False, default=0),
    Column("first_event_at", UTCDateTime),
    Column("last_event_at", UTCDateTime),
    Column("deleted_at", UTCDateTime),
)

namespace_integration = Table(
    "ol_catalog_namespace_integration",
    metadata,
    Column("namespace_id", Integer, ForeignKey("ol_catalog_namespace.id", ondelete="CASCADE"), primary_key=True),
    Column("integration", String(64), primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

token = Table(
    "ol_catalog_token",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),  # sha256 hex of the whole token
    Column("namespaces", Text),  # JSON array; NULL = every namespace
    Column("can_read", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(250), nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

event = Table(
    "ol_catalog_event",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),  # sha256 of the canonical JSON
    Column("received_at", UTCDateTime, nullable=False),
    Column("event_time", UTCDateTime, nullable=False),
    Column("kind", String(8), nullable=False),  # run, dataset, job
    Column("event_type", String(10)),
    Column("producer", Text, nullable=False),
    Column("schema_url", Text),
    Column("namespace", Text, nullable=False),  # owner namespace as sent
    Column("run_id", Text),
    Column("job_name", Text),
    Column("dataset_namespace", Text),
    Column("dataset_name", Text),
    Column("token_id", Integer),
    Column("quarantined", Boolean, nullable=False, default=False),
    Column("payload", Text, nullable=False),  # canonical JSON, exactly as hashed
    Index(None, "event_time"),
    Index(None, "namespace"),
    Index(None, "run_id"),
)
