// The catalog's read API, relative to the page (<base>/ol-catalog/ui/ -> <base>/ol-catalog/api/v1/).
// The Airflow login cookie goes along with every same-origin request.

/** Sent with every request of the catalog's pages: the API takes a state-changing request signed in
 * by the login cookie only with it (another origin cannot add it without a CORS preflight). */
export const CATALOG_REQUEST_HEADERS = { "X-OL-Catalog-Request": "ui" } as const;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return `../api/v1/${path}${search ? `?${search}` : ""}`;
}

export async function getJson<T>(path: string, query: Query = {}): Promise<T> {
  const response = await fetch(apiUrl(path, query), { credentials: "same-origin", headers: { Accept: "application/json", ...CATALOG_REQUEST_HEADERS } });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (typeof body?.detail === "string") message = body.detail;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message);
  }
  return (await response.json()) as T;
}

/** A path segment of the read API: namespaces and names may hold "/" and ":". */
export const seg = (value: string): string => encodeURIComponent(value);

export const nodeId = (kind: "job" | "dataset", namespace: string, name: string): string => `${kind}:${namespace}:${name}`;

// --- response shapes (the parts the pages use) ---

export interface Ref {
  namespace: string;
  name: string;
}

export interface Field {
  name: string;
  type?: string | null;
  tags: string[];
  description?: string | null;
}

export interface Dataset {
  id: Ref;
  name: string;
  namespace: string;
  createdAt: string | null;
  updatedAt: string | null;
  fields: Field[];
  tags: string[];
  description?: string | null;
  currentVersion: string | null;
  lastModifiedAt: string | null;
  facets: Record<string, unknown>;
  aliases: Ref[];
  dataSource: DataSourceMatch | null;
  quality: DatasetQuality | null;
}

/** The run whose event sent a quality facet (null parts: its event was deleted by retention). */
export interface QualitySentBy {
  runId: string | null;
  job: Ref | null;
  eventTime: string | null;
}

/** One test result of the newest `dataQualityAssertions` facet; `success` null when none was sent. */
export interface QualityAssertion {
  assertion: string;
  column: string | null;
  success: boolean | null;
  name: string | null;
  severity: string | null;
  expected: string | null;
  actual: string | null;
  runId: string | null;
  eventTime: string | null;
}

export interface DatasetQuality {
  assertions: QualityAssertion[];
  summary: { passed: number; failed: number; unknown: number };
  checkedBy: QualitySentBy | null;
  metrics: (QualitySentBy & { rowCount: number | null; bytes: number | null; fileCount: number | null; lastUpdated: string | null; columnMetrics: Record<string, Record<string, number>> }) | null;
  problems: string[];
}

/** Connection details the API left out for a caller who may not read Airflow's Connections, and why. */
export interface Withheld {
  fields: string[];
  reason: string;
}

export interface DataSourceMatch {
  status: "matched" | "unmatched" | "ambiguous";
  connId: string | null; // null when withheld
  candidates: string[];
  check: { status: "ok" | "missing" | "drifted" | "error"; evidence: Record<string, unknown>; checkedAt: string | null } | null;
  withheld: Withheld | null;
}

export interface DatasetVersion {
  id: Ref & { version: string };
  version: string; // a UUID, as Marquez gives it
  datasetVersion: string | null; // the producer's own version, when sent
  createdAt: string | null;
  lastSeenAt: string | null;
  fields: Field[];
  createdByRun: Run | null;
}

export interface Run {
  id: string;
  state: string;
  createdAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  jobVersion: Ref & { version: string };
  facets: Record<string, unknown>;
  inputDatasetVersions: { datasetVersionId: Ref & { version: string } }[];
  outputDatasetVersions: { datasetVersionId: Ref & { version: string } }[];
  errorMessage: string | null;
  [key: string]: unknown;
}

export interface Job {
  id: Ref;
  name: string;
  namespace: string;
  type: string;
  createdAt: string | null;
  updatedAt: string | null;
  inputs: Ref[];
  outputs: Ref[];
  location: string | null;
  description: string | null;
  facets: Record<string, unknown>;
  latestRun: Run | null;
  latestRuns: Run[];
  currentVersion: string | null;
  tags: string[];
  parentJob: Ref | null;
  jobType: string | null;
  integration: string | null;
  processingType: string | null;
  placeholder: boolean;
  upstreamTasks: string[];
}

/** A node of /lineage (Marquez's shape: `data` is the whole Job or Dataset as their routes answer
 * them) or of /column-lineage (`data` is the column with its input fields). */
export interface GraphNode {
  id: string;
  type: "JOB" | "DATASET" | "DATASET_FIELD";
  data: {
    namespace: string;
    name: string;
    field?: string; // DATASET_FIELD
    dataset?: string; // DATASET_FIELD
    placeholder?: boolean; // JOB: known only as a parent so far
    parentJob?: Ref | null; // JOB
    integration?: string | null; // JOB, as its jobType facet says it
    [key: string]: unknown;
  };
  inEdges: { origin: string; destination: string }[];
  outEdges: { origin: string; destination: string }[];
}

/** The node id of a job node's parent job, if it has one. */
export const parentOf = (node: GraphNode): string | null => (node.type === "JOB" && node.data.parentJob ? nodeId("job", node.data.parentJob.namespace, node.data.parentJob.name) : null);

/** A job's integration (SPARK, AIRFLOW, DBT, ...), whatever case its producer wrote it in. */
export const integrationOf = (node: GraphNode): string | null => (node.data.integration ? node.data.integration.toUpperCase() : null);

export interface SearchResult {
  type: "DATASET" | "JOB" | "FIELD";
  name: string;
  namespace: string;
  dataset?: string; // FIELD: the dataset the column belongs to
  field?: string;
  updatedAt: string | null;
  nodeId: string;
}

export interface Namespace {
  name: string;
  registered: boolean; // false: known only from the jobs or datasets in it
  description?: string | null;
  integrations?: string[];
  eventCount?: number;
  firstEventAt?: string | null;
  lastEventAt?: string | null;
  [key: string]: unknown;
}

export interface Stats {
  events: number;
  quarantinedEvents: number;
  jobs: number;
  datasets: number;
  runsByState: Record<string, number>;
  eventsPerDay: { day: string; events: number }[];
  eventsPerHour: { hour: string; events: number }[];
  eventsPerNamespace: { namespace: string; events: number; lastEventAt: string | null }[];
  refusedByReason: Record<string, number>;
}

export interface RawEvent {
  eventTime: string;
  eventType?: string;
  [key: string]: unknown;
}
