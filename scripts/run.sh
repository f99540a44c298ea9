#!/usr/bin/env bash
# Installs the catalog and runs it on the embedded default: Airflow on SQLite in ./.local/airflow,
# the sample events loaded. Prints the URL, the login and an ingest token. Ctrl+C stops it.
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"

PORT="${PORT:-8080}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.local/airflow}"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://localhost:$PORT/"
mkdir -p "$AIRFLOW_HOME" "$ROOT/dags"

setup_venv ""
build_ui
AIRFLOW="$VENV/bin/airflow"
echo "==> airflow db migrate ($AIRFLOW_HOME)"
"$AIRFLOW" db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/migrate.log"; exit 1; }

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

# The maintenance DAGs (dags/) reach the catalog through this Connection, with an admin token.
MAINTENANCE_TOKEN="$("$AIRFLOW" ol-catalog tokens create --name "maintenance-$(date +%Y%m%d-%H%M%S)" --admin | tail -1)"
"$AIRFLOW" connections delete ol_catalog_default >/dev/null 2>&1 || true
"$AIRFLOW" connections add ol_catalog_default --conn-type http --conn-host "http://localhost:$PORT" \
    --conn-password "$MAINTENANCE_TOKEN" >/dev/null

echo "==> loading the sample events (examples/)"
"$AIRFLOW" ol-catalog send "$ROOT/examples" --namespace examples --url "http://localhost:$PORT/" --token "$TOKEN" | tail -1

PASSWORD="$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' \
    "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated")"
cat <<INFO

  Airflow UI:      http://localhost:$PORT/   (Browse -> Lineage)
  Login:           admin / $PASSWORD
  Ingest endpoint: http://localhost:$PORT/ol-catalog/api/v1/lineage
  API reference:   http://localhost:$PORT/ol-catalog/docs
  Token:           $TOKEN

  Send an event:   curl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
                     --data @event.json http://localhost:$PORT/ol-catalog/api/v1/lineage
  Logs:            $AIRFLOW_HOME/*.log        Stop: Ctrl+C

  In a second terminal, the catalog's commands (airflow ol-catalog --help) work after:
    source "$VENV/bin/activate"
    export AIRFLOW_HOME="$AIRFLOW_HOME"
    airflow ol-catalog namespaces list
    airflow ol-catalog send DIRECTORY --url http://localhost:$PORT/ --token $TOKEN
INFO
wait
