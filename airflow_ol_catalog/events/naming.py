"""Match keys for dataset namespaces, after the OpenLineage naming spec; search keys for names.

Producers spell one data source several ways (`postgresql://DB.internal:5432/` and
`postgres://db.internal`). The match key folds those spellings together; the namespace text
as sent is kept and shown, the key only decides identity.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

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


# --- search keys -----------------------------------------------------------------------------------
# Names are kept exactly as sent, so `café` composed (NFC) and decomposed (NFD), or a name with a
# zero-width space in it, are different datasets that look alike. Search compares folded keys.

# What renders as nothing or only steers the text around it: control characters, line and
# paragraph separators, interlinear annotation controls and Unicode's default-ignorable code
# points (zero-width characters, bidi controls, variation selectors, tags, fillers).
INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Joins the parts of a key: folding removes it from every part and from queries, so a query
# that matches a key matches within one part.
KEY_SEPARATOR = "\x1f"


def invisible_problem(text: str) -> str | None:
    """What is wrong with a name people choose (a tag's, a token's) that hides a character, or None."""
    hidden = INVISIBLE.search(text)
    if hidden is None:
        return None
    return f"contains the invisible or control character U+{ord(hidden.group()):04X} at position {hidden.start()}"


def escaped(text: str) -> str:
    """`text` with each invisible character written as its code (`\\x1b`, `\\u202e`): for a terminal,
    where an event's control characters would move the cursor, clear the screen or forge a line."""
    if text.isascii() and text.isprintable():
        return text
    return INVISIBLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def fold(text: str) -> str:
    """`text` as search compares it: invisible characters removed, NFKC, case folded.

    Not cached: the projection folds each distinct name once per transaction, and a cache of
    search queries would grow with whatever readers type.
    """
    if text.isascii() and text.isprintable():
        return text.lower()  # most names: NFKC changes no ASCII, and casefold is lower here
    # Invisible characters go first, so `e` + ZWSP + U+0301 composes like `e` + U+0301.
    text = unicodedata.normalize("NFKC", INVISIBLE.sub("", text)).casefold()
    return unicodedata.normalize("NFKC", text)  # case folding may leave text that NFKC changes again


def search_key(namespace: str, name: str) -> str:
    """What search matches a dataset or job by: its namespace and name, folded."""
    return f"{fold(namespace)}{KEY_SEPARATOR}{fold(name)}"


def fields_search_key(schema: dict[str, Any]) -> str | None:
    """What column search matches a `schema` facet by: its fields' names, folded."""
    fields = schema.get("fields")
    if not isinstance(fields, list):
        return None
    return KEY_SEPARATOR.join(fold(f["name"]) for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str))
