# syntax=docker/dockerfile:1
# Airflow 3.3 with the catalog provider installed from its wheel, built here as a release is built:
# the UI with Node.js in a first stage (npm is not in Airflow's image), then `python -m build`,
# whose build hook finds the pages built from these very sources (it compares their digest).
FROM node:20-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY . .
COPY --from=ui /src/airflow_ol_catalog/www airflow_ol_catalog/www
RUN pip install --no-cache-dir "build>=1.2" && python -m build --wheel --outdir /dist .

FROM apache/airflow:3.3.2-python3.11
# The wheel is mounted for the install only (no layer keeps it). Airflow is pinned to the image's own
# version, as Airflow's image documentation asks of added packages.
RUN --mount=type=bind,from=wheel,source=/dist,target=/tmp/dist \
    pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        "$(ls /tmp/dist/airflow_ol_catalog-*.whl)[postgres]" \
        "apache-airflow-providers-openlineage>=2.0" "apache-airflow-providers-postgres>=6.0"
