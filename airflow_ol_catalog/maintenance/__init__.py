"""The logic behind the maintenance DAGs in dags/: importable and testable without a scheduler."""
