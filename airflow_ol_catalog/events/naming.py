"""Match keys for dataset namespaces, after the OpenLineage naming spec.

Producers spell one data source several ways (`postgresql://DB.internal:5432/` and
`postgres://db.internal`). The match key folds those spellings together; the namespace text
as sent is kept and shown, the key only decides identity.
"""

from __future__ import annotations

import functools

SCHEME_SYNONYMS = {
    "postgresql": "postgres",
    "mariadb": "mysql",
    "mssql": "sqlserver",
    "s3a": "s3",
    "s3n": "s3",
    "gcs": "gs",
}

DEFAULT_PORTS = {
    "postgres": "5432",
    "mysql": "3306",
    "sqlserver": "1433",
    "redshift": "5439",
    "oracle": "1521",
    "db2": "50000",
    "teradata": "1025",
    "hive": "10000",
    "kafka": "9092",
    "mongodb": "27017",
}


def _split_authority(authority: str) -> tuple[str, str]:
    """host and port of `user:pass@host:port` (IPv6 hosts in brackets)."""
    authority = authority.rpartition("@")[2]
    if authority.startswith("["):
        host, _, rest = authority.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else ""
    host, _, port = authority.partition(":")
    return host, port


@functools.lru_cache(maxsize=8192)
def namespace_key(namespace: str) -> str:
    """The identity of a dataset namespace: scheme synonyms, host case, default ports, slashes folded."""
    text = namespace.strip()
    if text[:5].lower() == "jdbc:":
        text = text[5:]
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text.lower().rstrip("/")  # "bigquery", "snowflake", ...
    scheme = scheme.lower()
    scheme = SCHEME_SYNONYMS.get(scheme, scheme)
    authority, _, path = rest.partition("/")
    host, port = _split_authority(authority)
    if port == DEFAULT_PORTS.get(scheme):
        port = ""
    key = f"{scheme}://{host.lower()}"
    if port:
        key += f":{port}"
    path = path.strip("/")
    return f"{key}/{path}" if path else key
