"""The catalog's FastAPI application, mounted by the plugin at /ol-catalog."""

# The routers' `name` and `unescaped_name` path convertors must be registered before any router is built.
from airflow_ol_catalog.api import paths  # noqa: F401
