#!/usr/bin/env bash
# Installs the catalog and runs it on the embedded default: Airflow on SQLite in ./.local/airflow,
# the sample events loaded, Airflow's OpenLineage provider sending its own events to the catalog
# through the routing transport, and the demo DAGs (examples/dags) run once. Prints the URL, the
# login and an ingest token. Ctrl+C stops it.
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"

PORT="${PORT:-8080}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.local/airflow}"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://localhost:$PORT/"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:$PORT/execution/"
# Two DAG bundles: the maintenance DAGs that come with the package, and the demo DAGs.
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/examples/dags"
export AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST='[
  {"name": "ol-catalog-maintenance", "classpath": "airflow_ol_catalog.maintenance.bundle.MaintenanceDagBundle", "kwargs": {}},
  {"name": "demo", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {"path": "'"$ROOT/examples/dags"'"}}]'
# Airflow's OpenLineage provider sends every DAG's events to this catalog through the routing
# transport (the token is the ol_catalog_default Connection's password; the spool keeps events
# while the catalog is down).
export AIRFLOW__OPENLINEAGE__NAMESPACE=airflow-demo
export AIRFLOW__OPENLINEAGE__TRANSPORT='{"type": "airflow_ol_catalog.transport.RoutingTransport", "destinations": {"catalog": {"type": "catalog", "conn_id": "ol_catalog_default"}}, "spool": {"dir": "'"$AIRFLOW_HOME/ol-spool"'"}}'
mkdir -p "$AIRFLOW_HOME/demo"

build_ui  # first: the editable install's build hook then finds the pages built
setup_venv "demo"
AIRFLOW="$VENV/bin/airflow"
echo "==> airflow db migrate ($AIRFLOW_HOME)"
"$AIRFLOW" db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/migrate.log"; exit 1; }
# The roles' access to the catalog's pages: FabAuthManager's roles need it; the simple auth manager
# used here needs nothing, and the command says so.
"$AIRFLOW" ol-catalog roles sync 2>"$AIRFLOW_HOME/roles-sync.log" | sed 's/^/    /' ||
    { tail -20 "$AIRFLOW_HOME/roles-sync.log"; exit 1; }

pids=()
stop() { for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done; }
trap stop EXIT
trap 'exit 0' INT TERM
for component in api-server scheduler dag-processor; do
    setsid "$AIRFLOW" "$component" >"$AIRFLOW_HOME/$component.log" 2>&1 &
    pids+=($!)
done

echo "==> waiting for the api-server on port $PORT"
for _ in $(seq 1 120); do
    "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "http://localhost:$PORT/ol-catalog/health" 2>/dev/null && break
    kill -0 "${pids[0]}" 2>/dev/null || { tail -30 "$AIRFLOW_HOME/api-server.log"; exit 1; }
    sleep 0.5
done

# A token is shown only when it is created: make a new one on every start.
TOKEN="$("$AIRFLOW" ol-catalog tokens create --name "quickstart-$(date +%Y%m%d-%H%M%S)" --read | tail -1)"

# The maintenance DAGs reach the catalog through this Connection, with an admin token.
MAINTENANCE_TOKEN="$("$AIRFLOW" ol-catalog tokens create --name "maintenance-$(date +%Y%m%d-%H%M%S)" --admin | tail -1)"
"$AIRFLOW" connections delete ol_catalog_default >/dev/null 2>&1 || true
"$AIRFLOW" connections add ol_catalog_default --conn-type http --conn-host "http://localhost:$PORT" \
    --conn-password "$MAINTENANCE_TOKEN" >/dev/null

# The demo DAGs' SQLite database (examples/dags/demo_shop.py).
"$AIRFLOW" connections delete demo_shop >/dev/null 2>&1 || true
"$AIRFLOW" connections add demo_shop --conn-type sqlite --conn-host "$AIRFLOW_HOME/demo/shop.db" >/dev/null

echo "==> loading the sample events (examples/)"
"$AIRFLOW" ol-catalog send "$ROOT/examples" --namespace examples --url "http://localhost:$PORT/" --token "$TOKEN" | tail -1

PASSWORD="$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' \
    "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated")"

echo "==> running the demo DAGs once (demo_shop_etl, then demo_shop_report on its Asset)"
"$VENV/bin/python" "$ROOT/scripts/run_demo_dags.py" "http://localhost:$PORT/" admin "$PASSWORD" ||
    echo "    (the demo DAGs did not finish: see $AIRFLOW_HOME/scheduler.log)"
# single-quoted for the shell (a quote in the home's path closed and reopened)
TRANSPORT_EXPORT="export AIRFLOW__OPENLINEAGE__TRANSPORT='${AIRFLOW__OPENLINEAGE__TRANSPORT//\'/\'\\\'\'}'"
cat <<INFO

  Airflow UI:      http://localhost:$PORT/   (Browse -> Lineage)
  Demo lineage:    http://localhost:$PORT/dags/demo_shop_etl   (its Lineage tab; a task's OpenLineage tab)
  Login:           admin / $PASSWORD
  Ingest endpoint: http://localhost:$PORT/ol-catalog/api/v1/lineage
  API reference:   http://localhost:$PORT/ol-catalog/docs
  Token:           $TOKEN

  Send an event:   curl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
                     --data @event.json http://localhost:$PORT/ol-catalog/api/v1/lineage
  Logs:            $AIRFLOW_HOME/*.log        Stop: Ctrl+C

  In a second terminal, the catalog's commands (airflow ol-catalog --help) work after:
    source "$VENV/bin/activate"
    export AIRFLOW_HOME="$AIRFLOW_HOME" AIRFLOW__API__BASE_URL="$AIRFLOW__API__BASE_URL"
    $TRANSPORT_EXPORT
    airflow ol-catalog namespaces list
    airflow ol-catalog spool status
    airflow ol-catalog send DIRECTORY --url http://localhost:$PORT/ --token $TOKEN
INFO
wait
