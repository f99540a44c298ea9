"""Dataset namespace match keys; search keys of names."""

from __future__ import annotations

import pytest

from airflow_ol_catalog.events.naming import KEY_SEPARATOR, fold, namespace_key, search_key


@pytest.mark.parametrize(
    "spellings",
    [
        [
            "postgres://db.internal:5432",
            "postgresql://DB.internal",
            "postgresql://db.internal:5432/",
            "jdbc:postgresql://db.internal:5432",
        ],
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


@pytest.mark.parametrize(
    "look_alikes",
    [
        ["caf\u00e9", "cafe\u0301", "CAF\u00c9", "CAFE\u0301", "\uff43\uff41\uff46\u00e9"],  # NFC, NFD, case, fullwidth
        [
            "payments",
            "pay\u200bments",
            "pay\u200c\u200dments",
            "\ufeffpay\u2060ments",
            "PAY\u00adMENTS",
        ],  # zero-width, soft hyphen
        ["invoice.pdf", "invoice\u202e.pdf", "\u2066invoice\u2069.pdf", "invoice\u200f.pdf"],  # bidi controls
        ["stra\u00dfe", "STRASSE", "Stra\u1e9ee"],  # case folding, not only lower case
        ["e\u0301", "e\u200b\u0301", "\u00e9"],  # an invisible character between a letter and its accent
    ],
)
def test_look_alike_names_fold_to_one_search_key(look_alikes):
    assert len({fold(name) for name in look_alikes}) == 1


def test_distinct_names_keep_distinct_search_keys_and_parts_stay_apart():
    assert len({fold(n) for n in ("cafe", "caf\u00e9", "cafes", "ca fe")}) == 4
    key = search_key("s3://Lake", "Caf\u00e9\x1f")
    assert key == f"s3://lake{KEY_SEPARATOR}caf\u00e9" and fold(KEY_SEPARATOR) == ""  # a query cannot span both parts
    assert fold("Plain_ASCII.Name-1") == "plain_ascii.name-1" and fold("tab\there") == "tabhere"
