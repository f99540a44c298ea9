// Airflow's Assets beside the catalog's datasets: on a dataset page, the Asset that names it (with
// the tasks producing it, the DAGs scheduled on it and its latest asset events); on the data
// sources page, Assets naming no dataset and datasets no Asset names.
import { Badge, Box, Button, Code, Flex, Link, Text } from "@chakra-ui/react";
import { useState } from "react";

import type { components } from "../generated/openapi";
import { when } from "../format";
import { sendJson } from "../postJson";
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
                      <JobLink namespace={e.producingRun.job.namespace} name={e.producingRun.job.name} /> <RunLink runId={e.producingRun.runId} job={e.producingRun.job} />
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

type CatalogWrite = components["schemas"]["CatalogWrite"];
type AssetTrigger = components["schemas"]["AssetTrigger"];

const WRITE_STATES: Record<CatalogWrite["state"], { label: string; palette: string }> = {
  pending: { label: "waiting", palette: "gray" },
  emitting: { label: "being made", palette: "blue" },
  created: { label: "asset event made", palette: "green" },
  no_asset: { label: "no asset event", palette: "orange" },
  declared: { label: "announced by Airflow (the task's outlet)", palette: "green" },
};

/** Marking a dataset: its writes, by any producer, make asset events of the Assets naming it. */
function Triggering({ namespace, name, watchedBy, exactTrigger, onChange }: { namespace: string; name: string; watchedBy: AssetTrigger[]; exactTrigger: number | null; onChange: () => void }) {
  const allowed = useApi("airflow/asset-triggers/allowed");
  const [problem, setProblem] = useState<string | null>(null);
  const own = watchedBy.find((t) => t.id === exactTrigger) ?? null;
  const act = (work: Promise<unknown>) =>
    work.then(
      () => {
        setProblem(null);
        onChange();
      },
      (error: Error) => setProblem(error.message),
    );
  return (
    <Box mb={2} data-testid="asset-triggering">
      <Text fontSize="sm">
        {watchedBy.length > 0 ? (
          <>
            Writes by any producer (Spark, dbt, a script) make asset events, so DAGs scheduled on its Asset run: marked by{" "}
            {watchedBy.map((t, i) => (
              <span key={t.id}>
                {i > 0 && ", "}
                <Code>
                  <Name value={`${t.namespace} / ${t.name}`} />
                </Code>{" "}
                <Muted>({t.createdBy.replace(/^user:/, "")})</Muted>
              </span>
            ))}
            .
          </>
        ) : (
          <Muted>Only Airflow's own tasks make its asset events; writes other producers report do not.</Muted>
        )}
      </Text>
      {allowed.data?.allowed && (
        <Flex gap={2} mt={1}>
          {own ? (
            <Button size="xs" variant="outline" onClick={() => act(sendJson("DELETE", `airflow/asset-triggers/${own.id}`))}>
              Stop triggering Airflow on writes
            </Button>
          ) : (
            <Button size="xs" colorPalette="blue" onClick={() => act(sendJson("POST", "airflow/asset-triggers", { namespace, name, exact: true }))}>
              Trigger Airflow on every write
            </Button>
          )}
        </Flex>
      )}
      {problem && <Problem message={problem} />}
    </Box>
  );
}

function CatalogWrites({ writes }: { writes: CatalogWrite[] }) {
  if (writes.length === 0) return null;
  return (
    <Box mt={2} data-testid="catalog-writes">
      <Text fontWeight="semibold" fontSize="sm" mb={1}>
        Writes that triggered Airflow
      </Text>
      <DataTable
        rows={writes}
        rowKey={(w) => w.runId}
        empty=""
        columns={[
          { header: "Written", cell: (w) => when(w.eventTime) },
          {
            header: "By",
            cell: (w) => (
              <>
                <JobLink namespace={w.job.namespace} name={w.job.name} /> <RunLink runId={w.runId} job={w.job} />
              </>
            ),
          },
          { header: "Partition", cell: (w) => (w.partitionKey ? <Name value={w.partitionKey} /> : <Muted>none</Muted>) },
          {
            header: "Airflow",
            cell: (w) => (
              <Badge colorPalette={WRITE_STATES[w.state].palette} title={w.assetEventIds.length ? `asset events ${w.assetEventIds.join(", ")}` : undefined}>
                {WRITE_STATES[w.state].label}
              </Badge>
            ),
          },
        ]}
      />
    </Box>
  );
}

/** The dataset page's section: the Assets naming the dataset, and whether its writes trigger Airflow
 * (nothing when no Asset names it and it is not marked). */
export function DatasetAssetsSection({ namespace, name }: { namespace: string; name: string }) {
  const found = useApi("namespaces/{namespace}/datasets/{dataset}/airflow-assets", { path: { namespace, dataset: name } });
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return null;
  const { assets, watchedBy, exactTrigger, catalogWrites } = found.data;
  if (assets.length === 0 && watchedBy.length === 0 && catalogWrites.length === 0) return null;
  return (
    <Section title={assets.length > 1 ? "Airflow Assets" : "Airflow Asset"}>
      {assets.length === 0 && <Muted>No Airflow Asset names this dataset: writes to it trigger nothing until one does.</Muted>}
      {assets.map((asset) => (
        <AssetDetails key={asset.id} asset={asset} events={asset.latestEvents} />
      ))}
      <Triggering namespace={namespace} name={name} watchedBy={watchedBy} exactTrigger={exactTrigger ?? null} onChange={found.reload} />
      <CatalogWrites writes={catalogWrites} />
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
