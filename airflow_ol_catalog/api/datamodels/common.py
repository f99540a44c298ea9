"""What every answer shares: the base of every response model, and the error body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    """Base of every response model. A field the model does not declare is an error, not silently
    dropped: a route that answers more than its model says fails its tests instead of drifting
    from the OpenAPI document."""

    model_config = ConfigDict(extra="forbid")


class Problem(Answer):
    path: str = Field(description="Where in the event, e.g. `run.runId` or `inputs[0].name`; `$` is the whole event.")
    message: str


class ErrorBody(Answer):
    detail: str
    errors: list[Problem] | None = None
