"""The maintenance DAGs that come with the package, as a DAG bundle.

Add it to `[dag_processor] dag_bundle_config_list` by class path; it needs no path, so the same
setting works wherever the package is installed (a virtualenv, an image, a Helm chart's values)::

    {"name": "ol-catalog-maintenance", "classpath": "airflow_ol_catalog.maintenance.bundle.MaintenanceDagBundle", "kwargs": {}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.dag_processing.bundles.local import LocalDagBundle

# The DAG files: thin, their logic in this package's maintenance modules.
DAGS_FOLDER = Path(__file__).resolve().parent / "dags"


class MaintenanceDagBundle(LocalDagBundle):
    """A local bundle whose folder is the installed package's `maintenance/dags`."""

    def __init__(self, **kwargs: Any) -> None:
        if "path" in kwargs:
            raise TypeError("MaintenanceDagBundle takes no `path`: its DAGs are the installed package's")
        super().__init__(path=str(DAGS_FOLDER), **kwargs)
