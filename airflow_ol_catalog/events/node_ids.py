"""Node ids of the lineage API, in Marquez's spelling: `job:NS:NAME`, `dataset:NS:NAME` and
`datasetField:NS:NAME:FIELD`.

Namespaces hold colons (`postgres://host:5432`) and names may too, so the text of a node id can
often be read more than one way. `readings` lists every way, shortest namespace first, and the
read path keeps, of those that name something, the one recorded first (so that a job or dataset
created later cannot take over the id of one already known); `format_node_id` writes one. A field
is what follows the last colon, and a namespace ends where `//` follows (`s3://b` is one namespace)
only in the last readings, for names that start with `//`. A caller that knows the namespace (the
catalog's own pages) says so, and only the readings with that namespace count.

Two nodes of one graph can have the same spelling; the second gets `escaped_node_id`'s: its kind
marked `%` (`dataset%:`, which no plain id has) and its namespace and name with no colon (`%3A`,
and `%25` for `%`), so it reads one way only, as that node. A column whose dataset name or field
has a colon always does (`field_node_id`).

A text can be read as many ways as it has colons (a field's, about their square): beyond
MAX_READINGS it is refused, unless the caller says where the namespace ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JOB, DATASET, DATASET_FIELD = "job", "dataset", "datasetField"
KINDS = (JOB, DATASET, DATASET_FIELD)


class NodeIdInvalid(ValueError):
    """A text that is no node id: its kind is unknown, or a part is missing."""


class NotOfNamespace(NodeIdInvalid):
    """A node id that does not read as a node of the namespace given with it."""


def format_node_id(kind: str, namespace: str, name: str, field: str | None = None) -> str:
    """The one spelling of a node id (graph walks call this for every node: plain string work)."""
    return f"{kind}:{namespace}:{name}" if field is None else f"{kind}:{namespace}:{name}:{field}"


def _escaped(part: str) -> str:
    return part.replace("%", "%25").replace(":", "%3A")


def escaped_node_id(kind: str, namespace: str, name: str, field: str | None = None) -> str:
    """The spelling that reads one way only (its kind marked `%`, no colon in the namespace or the
    name), for a node whose plain one another node of the same answer has."""
    return format_node_id(f"{kind}%", _escaped(namespace), _escaped(name), field)


def field_node_id(namespace: str, name: str, field: str) -> str:
    """A column's node id: plain, unless a colon in its dataset's name or in the field lets the text
    name another dataset's column (`a` + `b:c` reads as `a:b` + `c` too, and in one namespace the
    namespace says nothing of where the name ends): then escaped, which reads as this column alone."""
    if ":" in name or ":" in field:
        return escaped_node_id(DATASET_FIELD, namespace, name, field)
    return format_node_id(DATASET_FIELD, namespace, name, field)


_ESCAPE = re.compile(r"%(25|3[Aa])")
MAX_READINGS = 200  # ways a node id may be read (each is a look-up); a field's id with 20 colons has 190


def _unescaped(part: str) -> str | None:
    """The part `_escaped` wrote, or None when it is not one (a `%` not followed by 25 or 3A)."""
    if part.count("%") != len(_ESCAPE.findall(part)):
        return None
    return _ESCAPE.sub(lambda m: "%" if m.group(1) == "25" else ":", part)


def _escaped_reading(kind: str, rest: str) -> NodeId | None:
    """`rest` read as `escaped_node_id` writes it, or None."""
    parts = rest.split(":", 2) if kind == DATASET_FIELD else rest.split(":")
    if len(parts) != (3 if kind == DATASET_FIELD else 2):
        return None
    namespace, name = _unescaped(parts[0]), _unescaped(parts[1])
    if namespace is None or name is None:
        return None
    return NodeId(kind, namespace, name, parts[2] if kind == DATASET_FIELD else None)


@dataclass(frozen=True)
class NodeId:
    kind: str
    namespace: str
    name: str
    field: str | None = None  # only, and always, for a datasetField

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise NodeIdInvalid(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if (self.field is not None) != (self.kind == DATASET_FIELD):
            raise NodeIdInvalid(f"a {self.kind} node {'has no' if self.field is not None else 'needs a'} field")

    def __str__(self) -> str:
        return format_node_id(self.kind, self.namespace, self.name, self.field)

    @property
    def dataset(self) -> NodeId:
        """The dataset a field belongs to (a dataset is its own)."""
        if self.kind == JOB:
            raise NodeIdInvalid(f"{self} is a job, not a dataset")
        return NodeId(DATASET, self.namespace, self.name)


def _splits(text: str) -> list[tuple[str, str]]:
    """Every (before, after) split of `text` at a colon: those that do not start `://` first, then
    those that do, for a name that starts with `//` (a UNC path, `file` + `//server/share/x.csv`)."""
    colons = [i for i, ch in enumerate(text) if ch == ":"]
    slashed = [i for i in colons if text[i + 1 : i + 3] == "//"]
    return [(text[:i], text[i + 1 :]) for i in [i for i in colons if i not in slashed] + slashed]


def readings(text: str, kinds: tuple[str, ...] = KINDS, namespace: str | None = None) -> list[NodeId]:
    """Every node id `text` can be read as, shortest namespace first; NodeIdInvalid when none, or
    when there are more than MAX_READINGS.

    `kinds` are the kinds the caller takes; any other is refused with the ones it does take. With
    `namespace`, only the readings with this namespace; NodeIdInvalid when the text has none.
    """
    kind, colon, rest = text.partition(":")
    escaped = kind.endswith("%") and kind[:-1] in kinds
    if not colon or (kind not in kinds and not escaped):
        expected = ", ".join(f"{k}:NAMESPACE:NAME" + (":FIELD" if k == DATASET_FIELD else "") for k in kinds)
        raise NodeIdInvalid(f"expected {expected}; got {text[:200]!r}")
    if escaped:
        node = _escaped_reading(kind[:-1], rest)
        if node is None:
            raise NodeIdInvalid(
                f"{kind} ids are escaped ones, with no colon in the namespace or the name; got {text[:200]!r}"
            )
        found = [node]
    else:
        if namespace is None:
            splits = _splits(rest)
        elif rest.startswith(namespace + ":"):
            splits = [(namespace, rest[len(namespace) + 1 :])]
        else:
            raise NotOfNamespace(f"{text[:200]!r} does not read as a node of namespace {namespace[:200]!r}")
        ways = len(splits) if kind != DATASET_FIELD else sum(remainder.count(":") for _, remainder in splits)
        if ways > MAX_READINGS:
            raise NodeIdInvalid(
                f"{text[:80]!r}... can be read {ways} ways (its colons), more than {MAX_READINGS}: "
                "say where its namespace ends with the namespace parameter"
            )
        found = []
        for before, remainder in splits:
            if kind != DATASET_FIELD:
                found.append(NodeId(kind, before, remainder))
                continue
            # a field's name may hold colons too: every split, the longest dataset name first
            found.extend(
                NodeId(kind, before, remainder[:i], remainder[i + 1 :])
                for i in range(len(remainder) - 1, -1, -1)
                if remainder[i] == ":"
            )
        if not found:
            raise NodeIdInvalid(
                f"{kind} node ids are {kind}:NAMESPACE:NAME{':FIELD' * (kind == DATASET_FIELD)}; got {text[:200]!r}"
            )
    if namespace is not None:
        found = [node for node in found if node.namespace == namespace]
        if not found:
            raise NotOfNamespace(f"{text[:200]!r} does not read as a node of namespace {namespace[:200]!r}")
    return found
