// Airflow's Assets beside the catalog's datasets: on a dataset page, the Asset that names it (with
// the tasks producing it, the DAGs scheduled on it and its latest asset events); on the data
// sources page, Assets naming no dataset and datasets no Asset names.
import { Box, Flex, Link, Text } from "@chakra-ui/react";
import { useState } from "react";

import type { components } from "../generated/openapi";
import { when } from "../format";
import { airflowPage, baseUrl } from "../route";
import { useApi } from "../useApi";
import { DataTable, DatasetLink, JobLink, Muted, Name, Pager, Problem, RunLink, Section } from "./Common";

type AirflowAsset = components["schemas"]["AirflowAsset"];
type AssetEvent = components["schemas"]["AirflowAssetEvent"];

/** Airflow's own page of an Asset, a DAG or a task of a DAG. */
export function assetPage(id: number): string {
  return `${baseUrl()}assets/${id}`;
}

function dagPage(dagId: string, taskId?: string): string {
  return `${baseUrl()}dags/${encodeURIComponent(dagId)}${taskId ? `/tasks/${encodeURIComponent(taskId)}` : ""}`;
}

function AirflowLink({ to, children, testId }: { to: string; children: React.ReactNode; testId?: string }) {
  return (
    <Link href={to} target="_top" color="fg.info" data-testid={testId}>
      {children}
    </Link>
  );
}

function EventSource({ event }: { event: AssetEvent }) {
  if (event.sourceDagId && event.sourceRunId) {
    const page = airflowPage({ dagId: event.sourceDagId, dagRunId: event.sourceRunId, taskId: event.sourceTaskId, mapIndex: event.sourceMapIndex });
    return (
      <AirflowLink to={page}>
        <Name value={[event.sourceDagId, event.sourceTaskId].filter(Boolean).join(" › ")} />
      </AirflowLink>
    );
  }
  return <Muted>Airflow's API</Muted>;
}

function AssetDetails({ asset, events }: { asset: AirflowAsset; events: AssetEvent[] }) {
  return (
    <Box data-testid="airflow-asset" mb={3}>
      <Flex gap={2} align="baseline" wrap="wrap">
        <AirflowLink to={assetPage(asset.id)} testId="airflow-asset-link">
          <Name value={asset.name} />
        </AirflowLink>
        <Muted>
          <Name value={asset.uri} />
          {!asset.active && " · no longer declared by any DAG"}
        </Muted>
      </Flex>
      <Text fontSize="sm" mt={1}>
        Produced by{" "}
        {asset.producers.length === 0 ? (
          <Muted>no task (only events made through Airflow's API or other producers)</Muted>
        ) : (
          asset.producers.map((p, i) => (
            <span key={`${p.dagId}.${p.taskId}`}>
              {i > 0 && ", "}
              <AirflowLink to={dagPage(p.dagId, p.taskId)}>
                <Name value={`${p.dagId} › ${p.taskId}`} />
              </AirflowLink>
            </span>
          ))
        )}
      </Text>
      <Text fontSize="sm">
        Schedules{" "}
        {asset.consumers.length === 0 ? (
          <Muted>no DAG</Muted>
        ) : (
          asset.consumers.map((dagId, i) => (
            <span key={dagId}>
              {i > 0 && ", "}
              <AirflowLink to={dagPage(dagId)} testId="airflow-asset-consumer">
                <Name value={dagId} />
              </AirflowLink>
            </span>
          ))
        )}
      </Text>
      {events.length > 0 && (
        <Box mt={2}>
          <DataTable
            rows={events}
            rowKey={(e) => String(e.id)}
            empty="No asset events yet."
            columns={[
              { header: "Asset event", cell: (e) => when(e.timestamp) },
              { header: "From", cell: (e) => <EventSource event={e} /> },
              {
                header: "Run that wrote the data",
                cell: (e) =>
                  e.producingRun ? (
                    <>
                      <JobLink namespace={e.producingRun.job.namespace} name={e.producingRun.job.name} /> <RunLink runId={e.producingRun.runId} />
                    </>
                  ) : (
                    <Muted>not named</Muted>
                  ),
              },
              { header: "Partition", cell: (e) => (e.partitionKey ? <Name value={e.partitionKey} /> : <Muted>none</Muted>) },
            ]}
          />
        </Box>
      )}
    </Box>
  );
}

/** The dataset page's section: nothing when no Asset names the dataset. */
export function DatasetAssetsSection({ namespace, name }: { namespace: string; name: string }) {
  const found = useApi("namespaces/{namespace}/datasets/{dataset}/airflow-assets", { path: { namespace, dataset: name } });
  if (found.error) return <Problem message={found.error} />;
  if (!found.data || found.data.assets.length === 0) return null;
  return (
    <Section title={found.data.assets.length === 1 ? "Airflow Asset" : "Airflow Assets"}>
      {found.data.assets.map((asset) => (
        <AssetDetails key={asset.id} asset={asset} events={asset.latestEvents} />
      ))}
    </Section>
  );
}

const PAGE = 50;

/** The data sources page's sections: Assets naming no dataset, datasets no Asset names. */
export function UnlinkedAssets() {
  const [assetOffset, setAssetOffset] = useState(0);
  const [datasetOffset, setDatasetOffset] = useState(0);
  const assets = useApi("airflow/assets", { query: { linked: false, limit: PAGE, offset: assetOffset } });
  const datasets = useApi("airflow/datasets-without-asset", { query: { limit: PAGE, offset: datasetOffset } });
  return (
    <>
      <Section title="Airflow Assets naming no dataset in the catalog">
        {assets.error && <Problem message={assets.error} />}
        {assets.data && (
          <Box data-testid="assets-without-dataset">
            <DataTable
              rows={assets.data.assets}
              rowKey={(a) => String(a.id)}
              empty="Every Asset names a dataset the catalog knows."
              columns={[
                {
                  header: "Asset",
                  cell: (a) => (
                    <AirflowLink to={assetPage(a.id)}>
                      <Name value={a.name} />
                    </AirflowLink>
                  ),
                },
                { header: "URI", cell: (a) => <Name value={a.uri} /> },
                {
                  header: "OpenLineage name",
                  cell: (a) =>
                    a.openLineage ? (
                      <>
                        <Name value={a.openLineage.namespace} /> <Name value={a.openLineage.name} />
                      </>
                    ) : (
                      <Muted>none: no installed provider converts its scheme</Muted>
                    ),
                },
              ]}
            />
            <Pager offset={assetOffset} limit={PAGE} total={assets.data.totalCount} onChange={setAssetOffset} />
          </Box>
        )}
      </Section>
      <Section title="Datasets no Airflow Asset names">
        {datasets.error && <Problem message={datasets.error} />}
        {datasets.data && (
          <Box data-testid="datasets-without-asset">
            <Text fontSize="sm" mb={2} color="fg.muted">
              Datasets of namespaces Airflow can describe as Assets (schemes {datasets.data.schemes.join(", ") || "none installed"}) that no Asset names. Declaring one as a task's outlet, or scheduling a DAG on it, links it here.
            </Text>
            <DataTable
              rows={datasets.data.datasets}
              rowKey={(d) => `${d.namespace}\u0000${d.name}`}
              empty="Every such dataset has its Asset."
              columns={[
                { header: "Dataset", cell: (d) => <DatasetLink namespace={d.namespace} name={d.name} /> },
                { header: "Namespace", cell: (d) => <Name value={d.namespace} /> },
              ]}
            />
            <Pager offset={datasetOffset} limit={PAGE} total={datasets.data.totalCount} onChange={setDatasetOffset} />
          </Box>
        )}
      </Section>
    </>
  );
}
