"""docker-compose.yml and the Dockerfile, checked as files (no Docker engine runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
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


def test_the_image_is_airflow_3_3_with_the_wheel_of_this_package_and_its_ui():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = dict(re.findall(r"^FROM (\S+) AS (\w+)$", dockerfile, re.M))
    assert stages == {"node:20-bookworm-slim": "ui", "python:3.11-slim-bookworm": "wheel"}
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.match(r"apache/airflow:3\.3\.\d+-python3\.11\n", final)
    # the UI built first, then the wheel as a release is built; the image installs the wheel, not the sources
    assert (
        "npm run build" in dockerfile
        and "COPY --from=ui /src/airflow_ol_catalog/www airflow_ol_catalog/www" in dockerfile
    )
    assert "python -m build --wheel --outdir /dist ." in dockerfile
    assert "RUN --mount=type=bind,from=wheel,source=/dist,target=/tmp/dist" in final and "COPY" not in final
    assert '"$(ls /tmp/dist/airflow_ol_catalog-*.whl)[postgres]"' in final
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in final
    # what the build needs is sent to Docker; what a checkout may hold besides is not
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "ui/node_modules", "airflow_ol_catalog/www", ".git"} <= set(ignored)
    assert not {"ui", "hatch_build.py", "pyproject.toml", "README.md"} & set(ignored)


def test_the_maintenance_dags_come_from_the_packages_own_bundle_as_the_readme_configures_it(monkeypatch):
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    setting = COMPOSE["x-airflow"]["environment"]["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"]
    readme = (ROOT / "README.md").read_text().split("## Maintenance DAGs", 1)[1]
    assert f"export AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST='{setting}'" in readme
    bundles = {b["name"]: b for b in json.loads(setting)}
    assert bundles["dags-folder"]["classpath"] == "airflow.dag_processing.bundles.local.LocalDagBundle"
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", setting)
    bundle = DagBundlesManager().get_bundle("ol-catalog-maintenance")  # as Airflow's components make it
    assert sorted(p.name for p in bundle.path.glob("*.py")) == [
        "ol_catalog_extract_metadata.py",
        "ol_catalog_reconcile.py",
        "ol_catalog_replay.py",
        "ol_catalog_retention.py",
    ]
    assert not list(ROOT.glob("dags/*.py"))  # one copy of the DAG files: the package's
    assert all("./dags" not in volume for volume in COMPOSE["x-airflow"]["volumes"])


def test_the_init_lets_every_role_that_reads_assets_see_the_pages_after_migrating():
    init = "\n".join(COMPOSE["services"]["airflow-init"]["command"])
    assert init.index("airflow db migrate") < init.index("airflow ol-catalog roles sync")


def test_the_maintenance_bundle_refuses_a_path_of_its_own():
    """Its DAGs are the installed package's: a `path` in the setting is a mistake, said as such
    (Airflow logs it and goes on with the other bundles)."""
    from airflow_ol_catalog.maintenance.bundle import MaintenanceDagBundle

    with pytest.raises(TypeError, match=r"MaintenanceDagBundle takes no `path`: its DAGs are the installed package's"):
        MaintenanceDagBundle(name="ol-catalog-maintenance", path="/elsewhere")


def test_the_variables_the_readme_says_to_set_reach_the_containers_that_read_them():
    """The init's command reads ADMIN_PASSWORD in its container (`$$`): without it in the service's
    environment the admin password was always `admin`, whatever the operator set. Each variable the
    README tells to set is passed on, and the init keeps every variable of the other services."""
    text = production_section()
    told = set(re.findall(r"`((?:AIRFLOW|ADMIN)_[A-Z_]+)` in the environment", text)) | set(
        re.findall(r"Set `([A-Z_]+)`, `([A-Z_]+)` and `([A-Z_]+)`", text)[0]
    )
    assert {"ADMIN_PASSWORD", "AIRFLOW_SECRET_KEY", "AIRFLOW_JWT_SECRET"} <= told
    raw = (ROOT / "docker-compose.yml").read_text()
    for variable in told:
        assert "${" + variable + ":-" in raw, variable  # taken from the operator's environment or .env
    init = COMPOSE["services"]["airflow-init"]
    assert init["environment"]["ADMIN_PASSWORD"] == "${ADMIN_PASSWORD:-admin}"
    assert "$${ADMIN_PASSWORD" in init["command"][1]
    assert set(COMPOSE["services"]["airflow-apiserver"]["environment"]) < set(init["environment"])
