"""The routing transport for openlineage-python (imports only the OpenLineage client and events/)."""

from airflow_ol_catalog.transport.routing import RoutingConfig, RoutingTransport

__all__ = ["RoutingConfig", "RoutingTransport"]
