"""Tags under /api/v1, as Marquez has them: define a tag, set it on a job, a dataset or a column,
remove it, and list the tags of both kinds (named by `tags` facets, or set by people).

Setting and removing takes an Airflow login allowed to edit assets, never a catalog token: tags
set here say what people decided about the data; producers state theirs in `tags` facets, which
these routes neither change nor remove. Each write answers the job or dataset, as Marquez does.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import Connection

from airflow_ol_catalog.api.auth import Principal, ReadAuth, TaggerAuth, connection_details_withheld, tagger_principal
from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.api.datamodels.marquez import Dataset, Job
from airflow_ol_catalog.api.datamodels.tags import TagDefinition, TagEditing, TagList
from airflow_ol_catalog.api.schemas import Limit, Offset, TagDescription
from airflow_ol_catalog.ingest.tags import add_tag, define_tag, remove_tag, tag_name_problem
from airflow_ol_catalog.lineage import catalog
from airflow_ol_catalog.lineage.source_matches import match_without_connections
from airflow_ol_catalog.lineage.tags import definition_view, list_tags, named_by_facets
from airflow_ol_catalog.store.engine import read_connection, write_transaction

router = APIRouter(prefix="/api/v1", tags=["tags"])

BAD_NAME: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ErrorBody,
        "description": "The tag name is empty, too long, padded, not NFC, or holds NUL or invisible characters "
        "(a name a `tags` facet uses is taken as spelt, unless empty, too long or with NUL).",
    }
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such job, dataset or column (or it is hidden)."}
}
FROM_FACET: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The tag comes from a `tags` facet only; people cannot remove it."}
}


def _who(principal: Principal) -> str:
    """The Airflow user tagging (TaggerAuth admits Airflow logins only, never a token)."""
    if principal.user_name is None:
        raise HTTPException(403, "tags are set by Airflow users, not tokens")
    return principal.user_name


def _checked(conn: Connection, tag: str) -> str:
    """The tag name, or 422 saying what is wrong with it. Names a `tags` facet already uses are
    taken as they are, so that people can describe and set the tags producers chose."""
    problem = tag_name_problem(tag)
    if problem and named_by_facets(conn, tag):
        problem = tag_name_problem(tag, named_by_producer=True)
    if problem:
        shown = tag if len(tag) <= 80 else tag[:80] + "..."
        raise HTTPException(422, f"tag name {shown!r}: {problem}")
    return tag


def _seen_by(principal: Principal, view: dict) -> dict:
    """Datasets name their Airflow Connection only to users allowed to read Connections (as on GET)."""
    reason = connection_details_withheld(principal)
    return view if reason is None else {**view, "dataSource": match_without_connections(view["dataSource"], reason)}


async def _retag(
    principal: Principal, adding: bool, kind: str, namespace: str, name: str, tag: str, field: str | None = None
) -> dict:
    """Set or remove a person's tag, then read the job or dataset back as its own route answers it."""
    read = catalog.get_job if kind == "job" else catalog.get_dataset

    def run():
        with write_transaction() as conn:
            tag_name = _checked(conn, tag)
            removed = False
            if adding:
                add_tag(conn, kind, namespace, name, tag_name, _who(principal), field)
            else:
                removed = remove_tag(conn, kind, namespace, name, tag_name, field)
        with read_connection() as conn:
            return tag_name, removed, read(conn, namespace, name)

    tag_name, removed, view = await anyio.to_thread.run_sync(run)
    if not adding and not removed and _from_facet(view, tag_name, field):
        target = f"column {field!r}" if field is not None else f"this {kind}"
        raise HTTPException(
            409, f"tag {tag_name!r} on {target} comes from a `tags` facet: it changes only with the producer's events"
        )
    return view


def _from_facet(view: dict, tag: str, field: str | None) -> bool:
    """Whether the job's, dataset's or column's tag `tag` is one a `tags` facet names."""
    tagged = next((f for f in view.get("fields") or [] if f.get("name") == field), {}) if field is not None else view
    return any(o["name"] == tag and o["origin"] == "facet" for o in tagged.get("tagOrigins") or [])


@router.get("/tags", summary="Tags of both kinds: named by tags facets, and set by people")
async def tags(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> TagList:
    def run():
        with read_connection() as conn:
            return list_tags(conn, limit, offset)

    found, total = await anyio.to_thread.run_sync(run)
    return TagList.model_validate({"tags": found, "totalCount": total})


@router.get("/tags/editing", summary="Whether the caller may set and remove tags")
async def tag_editing(request: Request, _: ReadAuth) -> TagEditing:
    try:
        await tagger_principal(request)
    except HTTPException as refused:
        return TagEditing(allowed=False, reason=str(refused.detail))
    return TagEditing(allowed=True, reason=None)


@router.put("/tags/{tag:name}", summary="Define a tag or change its description", responses=BAD_NAME)
async def put_tag(tag: str, principal: TaggerAuth, body: TagDescription | None = None) -> TagDefinition:
    description = body.description if body else None

    def run():
        with write_transaction() as conn:
            return definition_view(define_tag(conn, _checked(conn, tag), description, _who(principal)))

    return TagDefinition.model_validate(await anyio.to_thread.run_sync(run))


def _dataset_answer(principal: Principal, view: dict) -> Dataset:
    return Dataset.model_validate(_seen_by(principal, view))


FIELD_TAG = "/namespaces/{namespace:name}/datasets/{dataset:name}/fields/{field:name}/tags/{tag:name}"


@router.post(FIELD_TAG, summary="Tag a column of a dataset", responses={**NOT_FOUND, **BAD_NAME})
async def tag_field(namespace: str, dataset: str, field: str, tag: str, principal: TaggerAuth) -> Dataset:
    """The column must be in the dataset's newest schema."""
    return _dataset_answer(principal, await _retag(principal, True, "dataset", namespace, dataset, tag, field))


@router.delete(
    FIELD_TAG, summary="Remove a tag a person set on a column", responses={**NOT_FOUND, **BAD_NAME, **FROM_FACET}
)
async def untag_field(namespace: str, dataset: str, field: str, tag: str, principal: TaggerAuth) -> Dataset:
    return _dataset_answer(principal, await _retag(principal, False, "dataset", namespace, dataset, tag, field))


DATASET_TAG = "/namespaces/{namespace:name}/datasets/{dataset:name}/tags/{tag:name}"


@router.post(DATASET_TAG, summary="Tag a dataset", responses={**NOT_FOUND, **BAD_NAME})
async def tag_dataset(namespace: str, dataset: str, tag: str, principal: TaggerAuth) -> Dataset:
    return _dataset_answer(principal, await _retag(principal, True, "dataset", namespace, dataset, tag))


@router.delete(
    DATASET_TAG, summary="Remove a tag a person set on a dataset", responses={**NOT_FOUND, **BAD_NAME, **FROM_FACET}
)
async def untag_dataset(namespace: str, dataset: str, tag: str, principal: TaggerAuth) -> Dataset:
    """Tags from the dataset's `tags` facet stay: they change only with the producer's events."""
    return _dataset_answer(principal, await _retag(principal, False, "dataset", namespace, dataset, tag))


JOB_TAG = "/namespaces/{namespace:name}/jobs/{job:name}/tags/{tag:name}"


@router.post(JOB_TAG, summary="Tag a job", responses={**NOT_FOUND, **BAD_NAME})
async def tag_job(namespace: str, job: str, tag: str, principal: TaggerAuth) -> Job:
    return Job.model_validate(await _retag(principal, True, "job", namespace, job, tag))


@router.delete(JOB_TAG, summary="Remove a tag a person set on a job", responses={**NOT_FOUND, **BAD_NAME, **FROM_FACET})
async def untag_job(namespace: str, job: str, tag: str, principal: TaggerAuth) -> Job:
    """Tags from the job's `tags` facet stay: they change only with the producer's events."""
    return Job.model_validate(await _retag(principal, False, "job", namespace, job, tag))
