# Airflow 3.3 with the catalog provider, its UI built in a first stage (npm is not in Airflow's image).
FROM node:20-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root . /opt/airflow-ol-catalog
COPY --from=ui --chown=airflow:root /src/airflow_ol_catalog/www /opt/airflow-ol-catalog/airflow_ol_catalog/www
RUN pip install --no-cache-dir "/opt/airflow-ol-catalog[postgres]" "apache-airflow-providers-openlineage>=2.0" "apache-airflow-providers-postgres>=6.0"
