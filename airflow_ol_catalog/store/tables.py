"""The catalog's tables (SQLAlchemy Core). Migrations in store/migrations must agree with these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
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


_utc_texts: dict[datetime, str] = {}  # an event's time goes into many rows of its transaction


def sqlite_utc_text(value: datetime | None) -> str | None:
    """SQLite keeps times as text; they compare correctly only in one fixed UTC format."""
    if value is None:
        return None
    text = _utc_texts.get(value)
    if text is None:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        if len(_utc_texts) >= 4096:
            _utc_texts.clear()
        # "YYYY-MM-DD HH:MM:SS.ffffff" of the UTC time (equal times hash alike whatever their offset)
        text = _utc_texts[value] = value.astimezone(timezone.utc).isoformat(" ", "microseconds")[:26]
    return text


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc) if value is not None else None

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        if dialect.name == "sqlite":
            return sqlite_utc_text  # what SQLAlchemy's SQLite DATETIME writes, several times faster
        return super().bind_processor(dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


def stored_time(dialect: Dialect, value: Any) -> datetime | None:
    """A UTCDateTime column's value as the driver gives it (text on SQLite), as SQLAlchemy reads it."""
    process = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    return process(value) if process is not None else value


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
    # May call the admin API (the maintenance DAGs' token); never limited to namespaces.
    Column("can_admin", Boolean, nullable=False, default=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(250), nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

# Requests to the ingestion endpoints that were refused (4xx, 503): for the admin log and the
# overview's ingestion health. Kept for REFUSAL_RETENTION_DAYS (ingest/refusals).
refusal = Table(
    "ol_catalog_refusal",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("status", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),  # the answer's message, cut to 500 characters
    Column("path", String(250), nullable=False),
    Column("caller", String(250)),  # token:NAME or user:NAME when known
    Column("remote", String(64)),
    Index(None, "at"),
)

# How each dataset relates to the data sources Airflow's Connections describe (ingest/source_matches.py).
data_source_match = Table(
    "ol_catalog_data_source_match",
    metadata,
    Column("dataset_id", Integer, primary_key=True),
    Column("status", String(16), nullable=False),  # matched, unmatched, ambiguous
    Column("conn_id", String(250)),  # the matched Connection
    Column("candidates", Text, nullable=False),  # JSON array of conn_ids (ambiguous) or suggestions (unmatched)
    Column("matched_at", UTCDateTime, nullable=False),
    Column("check_status", String(16)),  # ok, missing, drifted; None until checked
    Column("evidence", Text),  # JSON: missing/extra/changed columns, or the error
    Column("checked_at", UTCDateTime),
)

event = Table(
    "ol_catalog_event",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("digest", String(64), nullable=False),  # sha256 of the canonical JSON
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
    # Duplicates share their content, so their event time: time first keeps the index growing
    # at its end (migration 0007), and it serves time-ordered listing too.
    UniqueConstraint("event_time", "digest"),
    Index(None, "namespace"),
    Index(None, "run_id"),
)

# How many events the log holds, per hour they arrived in, owner namespace as sent and quarantine:
# kept by every write to the log (store/event_tally.py), so counting them never reads the log.
event_tally = Table(
    "ol_catalog_event_tally",
    metadata,
    Column("hour", UTCDateTime, primary_key=True),
    Column("namespace", Text, primary_key=True),
    Column("quarantined", Boolean, primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("last_received_at", UTCDateTime, nullable=False),
)

# --- the catalog, projected from the event log -------------------------------------------------
# Every column below is derived from events with rules that do not depend on arrival order:
# first/last seen are min/max of event times, run state is the highest-ranked event, facets keep
# the value of the newest event (ties broken by event digest). Each merge is one upsert.

# Bumped by the rarer writes whose effect on the read API's views crosses many jobs and datasets
# (hiding, tags, aliases, retention, data-source matches): one row.
view_generation = Table(
    "ol_catalog_view_generation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Job and dataset views as lineage graphs carry them, written as the API writes them (store/node_views):
# each is good while its row's view_stamp and the view generation are the ones it was built under.
node_view = Table(
    "ol_catalog_node_view",
    metadata,
    Column("kind", String(7), primary_key=True),  # JOB or DATASET
    Column("entity_id", Integer, primary_key=True),
    Column("view_stamp", BigInteger, nullable=False),
    Column("generation", BigInteger, nullable=False),
    Column("temporary", Boolean, nullable=False),  # a dataset that is only a job's passing output
    Column("body", Text, nullable=False),  # the view as JSON
    Column("made_by", String(40), nullable=False),  # the package version that built it
)

job = Table(
    "ol_catalog_job",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("parent_job_id", Integer),  # from the ParentRunFacet of its runs
    Column("placeholder", Boolean, nullable=False),  # known only as a parent so far
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    Column("search_key", Text, nullable=False),  # events/naming.search_key of namespace and name
    # Bumped by every write that changes the job as the read API shows it (lineage/view_cache keys on it).
    Column("view_stamp", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("namespace", "name"),
)
JOB_DELETED = job.c.deleted_at.is_not(None)
# The hidden jobs, few, whose runs the list of all runs leaves out (migration 0023).
Index("ix_ol_catalog_job_deleted", job.c.id, postgresql_where=JOB_DELETED, sqlite_where=JOB_DELETED)

run = Table(
    "ol_catalog_run",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("run_id", Text, nullable=False),  # as sent; unique per job, not globally
    Column("job_id", Integer, nullable=False),
    Column("state", String(10)),  # None for a placeholder parent run
    Column("state_rank", Integer, nullable=False),  # 0 none, 1 START, 2 RUNNING, 3 COMPLETE/FAIL/ABORT
    Column("state_time", UTCDateTime),
    Column("started_at", UTCDateTime),  # earliest START
    Column("ended_at", UTCDateTime),  # time of the winning terminal event
    Column("parent_run_pk", BigInteger),
    Column("root_run_pk", BigInteger),  # the first run of its tree, as its parent facet's `root` names it
    Column("placeholder", Boolean, nullable=False),
    Column("first_event_at", UTCDateTime),
    Column("last_event_at", UTCDateTime),
    UniqueConstraint("job_id", "run_id"),
    Index(None, "run_id"),
    Index(None, "parent_run_pk"),
    Index(None, "root_run_pk"),
)


def by_start(runs: Any = run) -> tuple[Any, ...]:
    """What a job's runs (of `runs`: the run table, an alias or a subquery of it) are ordered by, as
    the read API shows them: start (or first event, for a run whose START is missing), run id, row id."""
    return (func.coalesce(runs.c.started_at, runs.c.first_event_at), runs.c.run_id, runs.c.id)


def newest_first(runs: Any = run) -> tuple[Any, ...]:
    """A job's runs newest first (`by_start`, descending)."""
    return tuple(key.desc() for key in by_start(runs))


RUN_NEWEST_FIRST = newest_first()
NOT_PLACEHOLDER = run.c.placeholder.is_(False)
# The newest runs of a job are read in that order from here, a few index entries however many runs
# the job has had (migration 0021); placeholders (parents known only by their children) are not shown.
Index(
    "ix_ol_catalog_run_newest",
    run.c.job_id,
    *RUN_NEWEST_FIRST,
    postgresql_where=NOT_PLACEHOLDER,
    sqlite_where=NOT_PLACEHOLDER,
)
# Every job's runs, newest first (the list of all runs), a page of index entries however many
# runs the catalog holds (migration 0023).
Index("ix_ol_catalog_run_all_newest", *RUN_NEWEST_FIRST, postgresql_where=NOT_PLACEHOLDER, sqlite_where=NOT_PLACEHOLDER)

ALIASES = text("alias_of IS NOT NULL")

dataset = Table(
    "ol_catalog_dataset",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace_key", Text, nullable=False),  # events/naming.namespace_key
    Column("name", Text, nullable=False),
    Column("namespace", Text, nullable=False),  # as first sent
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    # While only tokens limited to other namespaces named it (ingest/scope.py): their sightings set
    # its namespace's spelling and first sighting only until another sender names it (migration 0025).
    Column("named_by_outsiders", Boolean, nullable=False, server_default="0"),
    Column("deleted_at", UTCDateTime),
    # Set when a `symlinks` facet made this name an alias: the dataset that holds its lineage.
    Column("alias_of", Integer),
    Column("search_key", Text, nullable=False),  # events/naming.search_key of `namespace` and the name
    # Bumped by every write that changes the dataset as the read API shows it (lineage/view_cache keys on it).
    Column("view_stamp", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("namespace_key", "name"),
    # A dataset's view names its aliases (migration 0019): few rows have one, so only they are indexed.
    Index(None, "alias_of", postgresql_where=ALIASES, sqlite_where=ALIASES),
)

# What `symlinks` facets said: `dataset_id`, as sent, is also known as `target_id`. Linked
# datasets form one identity; ingest/symlinks picks the name that holds it.
dataset_symlink = Table(
    "ol_catalog_dataset_symlink",
    metadata,
    Column("dataset_id", Integer, primary_key=True),
    Column("target_id", Integer, primary_key=True),
    Column("type", String(64), nullable=False),  # the identifier's type, e.g. TABLE; "" when not sent
    Index(None, "target_id"),
)

run_dataset = Table(
    "ol_catalog_run_dataset",
    metadata,
    Column("run_pk", BigInteger, primary_key=True),
    Column("dataset_id", Integer, primary_key=True),
    Column("direction", String(3), primary_key=True),  # in, out
    # A write's end: the run's ended_at while the run is COMPLETE, else NULL (and always for reads).
    # Kept by the projection as runs end (ingest/projection.py `_project_io`).
    Column("ended_at", UTCDateTime),
    Index(None, "dataset_id"),
)
WRITE_ENDED = run_dataset.c.ended_at.is_not(None)
# A dataset's newest completed writes (its lastModifiedAt and usual interval) are its last entries
# here, however often it was written (migration 0022).
Index(
    "ix_ol_catalog_run_dataset_ended",
    run_dataset.c.dataset_id,
    run_dataset.c.ended_at,
    postgresql_where=WRITE_ENDED,
    sqlite_where=WRITE_ENDED,
)

edge = Table(
    "ol_catalog_edge",
    metadata,
    Column("job_id", Integer, primary_key=True),
    Column("dataset_id", Integer, primary_key=True),
    Column("direction", String(3), primary_key=True),  # in: dataset -> job, out: job -> dataset
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("last_run_id", Text),  # runId of the newest run that had it
    Column("run_count", Integer, nullable=False),
    Column("confirmed", Boolean, nullable=False),  # a COMPLETE run (or a running streaming job) had it
    Column("declared", Boolean, nullable=False),  # named by a JobEvent (static lineage)
    Index(None, "dataset_id"),
)

facet = Table(
    "ol_catalog_facet",
    metadata,
    Column("entity", String(8), primary_key=True),  # job, run, dataset
    Column("entity_id", BigInteger, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Text),  # canonical JSON; NULL when the newest event deleted it (`_deleted: true`)
    Column("event_time", UTCDateTime, nullable=False),
    Column("event_digest", String(64), nullable=False),
    Column("search_key", Text),  # a dataset's `schema`: events/naming.fields_search_key, for column search
    Index(None, "name"),  # e.g. every `tags` facet, for /tags
)

dataset_version = Table(
    "ol_catalog_dataset_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, nullable=False),
    Column("digest", String(64), nullable=False),  # of the schema fields and the version facet
    Column("fields", Text, nullable=False),  # JSON array of schema fields
    Column("version", Text),  # the `version` facet's datasetVersion, when sent
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("first_run_id", Text),  # runId of the first run that wrote it
    UniqueConstraint("dataset_id", "digest"),
)

column_lineage = Table(
    "ol_catalog_column_lineage",
    metadata,
    Column("output_dataset_id", Integer, primary_key=True),
    Column("output_field", Text, primary_key=True),
    Column("input_dataset_id", Integer, primary_key=True),
    Column("input_field", Text, primary_key=True),  # "" for dataset-level inputs
    Column("type", String(16), primary_key=True),  # DIRECT, INDIRECT
    Column("subtype", String(64), primary_key=True),
    Column("description", Text),
    Column("masking", Boolean, nullable=False),
    Column("job_id", Integer),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index(None, "input_dataset_id"),
)

# What `lineage` facets (LineageFacet) state: data flowing from a dataset or a job (a column of a
# dataset, or all of it) into a dataset or a job. Every statement is kept here with its
# transformations; the job<->dataset edges and dataset column lineage it implies also go to `edge`
# and `column_lineage`, so flows between two jobs, and between datasets with no job, live only here.
# Runs' `jobDependencies` facets add job -> job control flow (a run waits for another), apart.
flow = Table(
    "ol_catalog_flow",
    metadata,
    Column("source_kind", String(7), primary_key=True),  # dataset, job
    Column("source_id", Integer, primary_key=True),
    Column("source_field", Text, primary_key=True),  # "" for the dataset or job as a whole
    Column("target_kind", String(7), primary_key=True),
    Column("target_id", Integer, primary_key=True),
    Column("target_field", Text, primary_key=True),
    Column("relation", String(8), primary_key=True),  # data (a lineage facet), control (jobDependencies)
    # JSON: data, the transformations [{type, subtype, description, masking}]; control, the rules
    # ({dependency_type, sequence_trigger_rule, status_trigger_rule, trigger_rule}) as sent
    Column("detail", Text, nullable=False),
    Column("job_id", Integer),  # the job whose event stated it; None for a dataset's own facet
    Column("source_run_id", Text),  # the runs a job's entry bound it to, when given
    Column("target_run_id", Text),
    Column("declared", Boolean, nullable=False),  # stated by a JobEvent (what the job is built to do)
    Column("observed", Boolean, nullable=False),  # stated by a RunEvent or a DatasetEvent
    # sha256 of the statement (transformations, stating job's name, runs): the newest statement
    # wins, and of two at the same time the larger digest, whatever order they arrived in.
    Column("digest", String(64), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index(None, "target_kind", "target_id"),
)

# Facets that broke their published schema, counted per producer and facet (`job.ownership`,
# `output.outputStatistics`, ...), with the newest example: the overview's ingestion health.
facet_warning = Table(
    "ol_catalog_facet_warning",
    metadata,
    Column("producer", Text, primary_key=True),
    Column("facet", String(128), primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("example_path", Text, nullable=False),
    Column("example_message", Text, nullable=False),
)

# Tags people set through the API (a definition with its description, and where each is set);
# tags that `tags` facets name stay in those facets, so the two kinds never mix.
tag = Table(
    "ol_catalog_tag",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("description", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(250), nullable=False),  # user:NAME
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(250), nullable=False),
)

tag_assignment = Table(
    "ol_catalog_tag_assignment",
    metadata,
    Column("entity", String(8), primary_key=True),  # dataset, job
    Column("entity_id", Integer, primary_key=True),
    Column("field", Text, primary_key=True),  # a column of the dataset; "" for the dataset or job itself
    Column("tag", String(255), primary_key=True),
    Column("tagged_at", UTCDateTime, nullable=False),
    Column("tagged_by", String(250), nullable=False),  # user:NAME
    Index(None, "tag"),
)

# Datasets whose writes Airflow should hear about: an admin marks them (globs on namespace and
# name, `*` for any); a COMPLETE event writing one queues an Airflow asset event (below).
asset_trigger = Table(
    "ol_catalog_asset_trigger",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace_pattern", String(1024), nullable=False),
    Column("name_pattern", String(1024), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(250), nullable=False),  # user:NAME
    UniqueConstraint("namespace_pattern", "name_pattern"),
)

# A write to a marked dataset, once per producing run (the unique key makes retries and duplicate
# events one row): pending until the API server has made the Airflow asset event of the Asset
# naming the dataset, then created (with its ids), or no_asset when no Asset names it.
asset_trigger_run = Table(
    "ol_catalog_asset_trigger_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, nullable=False),
    Column("run_pk", Integer),  # the run's row (none for writes queued before 0024 whose run is gone)
    Column("run_id", Text, nullable=False),
    Column("job_namespace", Text, nullable=False),
    Column("job_name", Text, nullable=False),
    Column("event_time", UTCDateTime, nullable=False),
    Column("partition_key", String(250)),
    # the Airflow task that ran it (`["dag_id", "task_id"]` as its `airflow` facet says), whose own
    # outlets Airflow announces itself
    Column("airflow_task", Text),
    Column("state", String(16), nullable=False),  # pending, emitting, created, no_asset, declared
    Column("queued_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    Column("asset_ids", Text),  # JSON list of the Airflow Asset ids it made events for
    Column("asset_event_ids", Text),  # JSON list of those events' ids
    UniqueConstraint("dataset_id", "run_pk"),  # one write per dataset and run (a run id is unique per job only)
    Index(None, "state"),
)
