"""Dataset namespace match keys."""

from __future__ import annotations

import pytest

from airflow_ol_catalog.events.naming import namespace_key


@pytest.mark.parametrize(
    "spellings",
    [
        ["postgres://db.internal:5432", "postgresql://DB.internal", "postgresql://db.internal:5432/", "jdbc:postgresql://db.internal:5432"],
        ["mysql://h:3306", "mariadb://H", "MYSQL://h/"],
        ["sqlserver://h:1433", "mssql://h"],
        ["s3://bucket", "s3a://bucket/", "s3n://bucket"],
        ["gs://bucket", "gcs://bucket"],
        ["bigquery", "BigQuery", "bigquery/"],
        ["postgres://[::1]:5432", "postgresql://[::1]"],
        ["postgres://user:secret@db:5432", "postgres://db"],
    ],
)
def test_spellings_of_one_source_share_a_key(spellings):
    assert len({namespace_key(s) for s in spellings}) == 1


@pytest.mark.parametrize(
    "a, b",
    [
        ("postgres://db:5433", "postgres://db"),
        ("postgres://db-a", "postgres://db-b"),
        ("s3://bucket-a", "s3://bucket-b"),
        ("s3://bucket", "gs://bucket"),
        ("hdfs://nn:8020", "hdfs://nn:9000"),
    ],
)
def test_different_sources_keep_different_keys(a, b):
    assert namespace_key(a) != namespace_key(b)


def test_key_keeps_non_default_port_and_path():
    assert namespace_key("postgresql://DB:6543/") == "postgres://db:6543"
    assert namespace_key("hdfs://nn:8020/warehouse/") == "hdfs://nn:8020/warehouse"
