"""One error per kind of thing a request may name that does not exist (or is hidden).

The read and write paths raise them; the API answers each with 404 and its message, in one
place (api/app.py), so no route checks for a missing value itself.
"""

from __future__ import annotations


class NotFound(LookupError):
    """Something a request names does not exist; the message says what, as the caller spelt it."""

    what = "entity"

    def __init__(self, name: str) -> None:
        super().__init__(f"{self.what} {name} not found")


class NamespaceNotFound(NotFound):
    what = "namespace"

    def __init__(self, name: str) -> None:
        super().__init__(repr(name))


class DatasetNotFound(NotFound):
    what = "dataset"

    def __init__(self, namespace: str, name: str) -> None:
        super().__init__(f"{namespace}:{name}")


class DatasetVersionNotFound(NotFound):
    what = "version"

    def __init__(self, namespace: str, name: str, version: str) -> None:
        super().__init__(f"{version!r} of dataset {namespace}:{name}")


class JobNotFound(NotFound):
    what = "job"

    def __init__(self, namespace: str, name: str) -> None:
        super().__init__(f"{namespace}:{name}")


class RunNotFound(NotFound):
    what = "run"

    def __init__(self, run_id: str) -> None:
        super().__init__(repr(run_id))


class NodeNotFound(NotFound):
    """No job, dataset or dataset field matches a node id (read every way it can be read)."""

    what = "node"

    def __init__(self, node_id: str, hint: str = "") -> None:
        super().__init__(repr(node_id[:200]) + (f" ({hint})" if hint else ""))


class TokenNotFound(NotFound):
    what = "active token"

    def __init__(self, name: str) -> None:
        super().__init__(repr(name))


class JobVersionNotFound(NotFound):
    what = "version"

    def __init__(self, namespace: str, name: str, version: str) -> None:
        super().__init__(f"{version!r} of job {namespace}:{name}")


class SourceNotFound(NotFound):
    what = "source"

    def __init__(self, name: str) -> None:
        super().__init__(repr(name))


class AssetNotFound(NotFound):
    """An Airflow Asset id Airflow's database does not hold."""

    what = "Airflow asset"

    def __init__(self, asset_id: int) -> None:
        super().__init__(str(asset_id))


class DagRunNotFound(NotFound):
    """An Airflow DAG run no OpenLineage event in the catalog names."""

    what = "Airflow DAG run"

    def __init__(self, dag_id: str, run_id: str) -> None:
        super().__init__(f"{run_id!r} of DAG {dag_id!r} in the OpenLineage events (none names it)")
