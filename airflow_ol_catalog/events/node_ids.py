"""Node ids of the lineage API, in Marquez's spelling: `job:NS:NAME`, `dataset:NS:NAME` and
`datasetField:NS:NAME:FIELD`.

Namespaces hold colons (`postgres://host:5432`) and names may too, so the text of a node id can
often be read more than one way. `readings` lists every way, shortest namespace first, and the
read path keeps the first that names something; `format_node_id` writes one. A field is what
follows the last colon, and a namespace ends where `//` follows (`s3://b` is one namespace) only in
the last readings, for names that start with `//`.
"""

from __future__ import annotations

from dataclasses import dataclass

JOB, DATASET, DATASET_FIELD = "job", "dataset", "datasetField"
KINDS = (JOB, DATASET, DATASET_FIELD)


class NodeIdInvalid(ValueError):
    """A text that is no node id: its kind is unknown, or a part is missing."""


def format_node_id(kind: str, namespace: str, name: str, field: str | None = None) -> str:
    """The one spelling of a node id (graph walks call this for every node: plain string work)."""
    return f"{kind}:{namespace}:{name}" if field is None else f"{kind}:{namespace}:{name}:{field}"


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


def readings(text: str, kinds: tuple[str, ...] = KINDS) -> list[NodeId]:
    """Every node id `text` can be read as, shortest namespace first; NodeIdInvalid when none.

    `kinds` are the kinds the caller takes; any other is refused with the ones it does take.
    """
    kind, colon, rest = text.partition(":")
    if not colon or kind not in kinds:
        expected = ", ".join(f"{k}:NAMESPACE:NAME" + (":FIELD" if k == DATASET_FIELD else "") for k in kinds)
        raise NodeIdInvalid(f"expected {expected}; got {text[:200]!r}")
    found = []
    for namespace, remainder in _splits(rest):
        if kind != DATASET_FIELD:
            found.append(NodeId(kind, namespace, remainder))
            continue
        # a field's name may hold colons too: every split, the longest dataset name first
        found.extend(
            NodeId(kind, namespace, remainder[:i], remainder[i + 1 :])
            for i in range(len(remainder) - 1, -1, -1)
            if remainder[i] == ":"
        )
    if not found:
        raise NodeIdInvalid(
            f"{kind} node ids are {kind}:NAMESPACE:NAME{':FIELD' * (kind == DATASET_FIELD)}; got {text[:200]!r}"
        )
    return found
