"""Answers of the tag routes: tag definitions, the list of tags, and where a tag on a job, dataset
or column came from. Setting and removing a tag answers the whole job or dataset, as Marquez does."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer


class TagOrigin(Answer):
    """One reason a job, dataset or column carries a tag."""

    name: str
    origin: Literal["facet", "user"] = Field(
        description="`facet`: named by the entity's `tags` facet (set by its producer); `user`: set by a person."
    )
    source: str | None = Field(description="facet: the tag's `source` in the facet (e.g. DBT), when sent.")
    setBy: str | None = Field(description="user: the Airflow user who set it.")
    setAt: str | None = Field(description="user: when it was set.")


class TagDefinition(Answer):
    """A tag people defined (PUT /tags/{tag}, or by setting it)."""

    name: str
    description: str | None
    createdBy: str
    createdAt: str
    updatedBy: str
    updatedAt: str


class Tag(Answer):
    name: str
    description: str | None = Field(description="A person's description, else the sources of the facets that name it.")
    origins: list[Literal["facet", "user"]] = Field(description="Named by `tags` facets, defined by people, or both.")
    usage: dict[str, int] = Field(
        description="How many jobs, runs, datasets and columns (`field`) `tags` facets tag with it."
    )
    userUsage: dict[str, int] = Field(
        description="How many datasets, jobs and columns (`field`) people tagged with it."
    )


class TagList(Answer):
    tags: list[Tag]
    totalCount: int


class TagEditing(Answer):
    """Whether the caller may set and remove tags, so pages offer it only to those who may."""

    allowed: bool
    reason: str | None = Field(description="Why not, when not allowed.")
