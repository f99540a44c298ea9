"""The logic behind the maintenance DAGs (`maintenance/dags`, shipped as a DAG bundle by `bundle.py`):
importable and testable without a scheduler."""
