"""An OpenLineage lineage catalog that lives inside Apache Airflow."""

__version__ = "0.1.0"
