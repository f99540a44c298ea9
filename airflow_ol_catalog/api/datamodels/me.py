"""Who is calling: what the UI asks first, to show or hide the admin pages."""

from __future__ import annotations

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer


class Me(Answer):
    name: str = Field(description="`user:NAME` for an Airflow login, `token:NAME` for a catalog token.")
    admin: bool = Field(description="True when the caller may use the admin API.")
