"""What the catalog shows of the facets it reads whole (events/facet_registry.py): each facet read
into the few fields a page shows, so that pages and API clients get them interpreted instead of
digging into raw facets. Pure: no I/O.

A facet that broke its schema is not stored (the raw event keeps it), but catalogs written before
the checks may hold one: anything of the wrong shape reads as absent.
"""

from __future__ import annotations

from typing import Any


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _facet(facets: dict[str, Any], name: str) -> dict[str, Any]:
    found = facets.get(name)
    return found if isinstance(found, dict) else {}


def owners(facets: dict[str, Any]) -> list[dict[str, str | None]]:
    """The `ownership` facet's owners: name (a URN such as `team:data`) and type (MAINTAINER ...)."""
    listed = _facet(facets, "ownership").get("owners")
    return [
        {"name": owner["name"], "type": _text(owner.get("type"))}
        for owner in (listed if isinstance(listed, list) else [])
        if isinstance(owner, dict) and _text(owner.get("name"))
    ]


def sql(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The `sql` facet: the query and its dialect (1-1-0), when sent."""
    facet = _facet(facets, "sql")
    query = _text(facet.get("query"))
    return {"query": query, "dialect": _text(facet.get("dialect"))} if query else None


def source_code(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The `sourceCode` facet: the language and the code."""
    facet = _facet(facets, "sourceCode")
    code = _text(facet.get("sourceCode"))
    return {"language": _text(facet.get("language")), "sourceCode": code} if code else None


_LOCATION = ("type", "url", "repoUrl", "path", "version", "tag", "branch")


def source_location(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The `sourceCodeLocation` facet: where the code lives (git, a URL), at which version."""
    facet = _facet(facets, "sourceCodeLocation")
    found = {key: _text(facet.get(key)) for key in _LOCATION}
    return found if found["url"] or found["repoUrl"] else None


def error(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The `errorMessage` run facet: the message, the language, and the stack trace as sent."""
    facet = _facet(facets, "errorMessage")
    message = _text(facet.get("message"))
    if not message:
        return None
    return {
        "message": message,
        "programmingLanguage": _text(facet.get("programmingLanguage")),
        "stackTrace": _text(facet.get("stackTrace")),
    }


def is_temporary(facets: dict[str, Any]) -> bool:
    """Whether the `datasetType` facet says the dataset only passes data from job to job
    (JOB_OUTPUT, or subtype TEMPORARY)."""
    kind = _facet(facets, "datasetType")
    dataset_type, subtype = kind.get("datasetType"), kind.get("subType")
    return (isinstance(dataset_type, str) and dataset_type.upper() == "JOB_OUTPUT") or (
        isinstance(subtype, str) and subtype.upper() == "TEMPORARY"
    )
