"""docker-compose.yml and the Dockerfile, checked as files (no Docker engine runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from airflow_ol_catalog.transport.config import parse_settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)


def production_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Production", 1)[1].split("\n## ", 1)[0]


def test_every_service_and_variable_the_readme_names_exists():
    text = production_section()
    services = set(re.findall(r"`(airflow-[a-z-]+|postgres)`", text))
    assert services >= {"airflow-init", "airflow-apiserver", "airflow-scheduler"} and services <= set(
        COMPOSE["services"]
    )
    variables = set(re.findall(r"`(AIRFLOW__[A-Z_]+)`", text))
    environment = COMPOSE["services"]["airflow-apiserver"]["environment"]
    assert variables and variables <= set(environment)
    assert set(re.findall(r"volume `([a-z-]+)`", text)) <= set(COMPOSE["volumes"])


def test_airflow_services_share_the_image_the_database_and_a_healthcheck():
    for name in AIRFLOW_SERVICES:
        service = COMPOSE["services"][name]
        assert service["image"] == "airflow-ol-catalog:latest" and service["build"] == "."
        assert service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
            "postgresql+psycopg2://airflow:airflow@postgres:5432/"
        )
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        if name != "airflow-init":
            assert service["healthcheck"]["test"], name
    assert COMPOSE["services"]["airflow-apiserver"]["healthcheck"]["test"][-1].endswith("/ol-catalog/health")
    assert COMPOSE["services"]["postgres"]["healthcheck"]["test"][1] == "pg_isready"


def test_the_transport_is_configured_as_the_integration_tests_configure_it():
    environment = COMPOSE["services"]["airflow-scheduler"]["environment"]
    transport = json.loads(environment["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    settings = parse_settings(transport)  # valid, with every check the transport makes at start-up
    catalog = settings.destinations["catalog"]
    # as tests/test_transport_airflow.py: the catalog shorthand, its token from ol_catalog_default, a spool
    assert transport["type"] == "airflow_ol_catalog.transport.RoutingTransport"
    assert (
        catalog.catalog_conn_id == "ol_catalog_default" and catalog.transport["endpoint"] == "ol-catalog/api/v1/lineage"
    )
    assert (
        settings.spool.directory == "/opt/airflow/ol-spool"
        and "ol-spool:/opt/airflow/ol-spool" in COMPOSE["services"]["airflow-scheduler"]["volumes"]
    )
    assert environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    init = "\n".join(COMPOSE["services"]["airflow-init"]["command"])
    assert (
        "airflow db migrate" in init
        and "tokens create" in init
        and "--admin" in init
        and "connections add ol_catalog_default" in init
    )


def test_the_image_is_airflow_3_3_with_this_package_and_its_ui():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.\d+", dockerfile, re.M)
    assert "npm run build" in dockerfile and "airflow_ol_catalog/www" in dockerfile
    assert 'pip install --no-cache-dir "/opt/airflow-ol-catalog[postgres]"' in dockerfile
