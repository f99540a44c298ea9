import type { components, paths } from "./generated/openapi";

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

/** The read API's GET routes, as the OpenAPI document names them below /api/v1/ (e.g. "namespaces/{namespace}/jobs/{job}"). */
export type GetRoute = { [P in keyof paths]: P extends `/api/v1/${infer R}` ? (paths[P] extends { get: object } ? R : never) : never }[keyof paths];

type GetOperation<R extends GetRoute> = paths[`/api/v1/${R}`]["get"];

/** What GET `R` answers, as its response model says. */
export type Answer<R extends GetRoute> = GetOperation<R> extends { responses: { 200: { content: { "application/json": infer Body } } } } ? Body : never;

/** The path and query parameters GET `R` takes, as the document declares them. */
export type ApiRequest<R extends GetRoute> = Pick<GetOperation<R>["parameters"], "path" | "query">;

/** GET routes that need no parameter: their request may be left out. */
export type PlainRoute = {
  [P in keyof paths]: P extends `/api/v1/${infer R}` ? (paths[P] extends { get: { parameters: infer X } } ? (Record<string, never> extends Pick<X, keyof X & ("path" | "query")> ? R : never) : never) : never;
}[keyof paths];

/** Query parameters as a URL takes them; empty, null and undefined ones are left out. */
export type Query = Record<string, string | number | boolean | string[] | undefined | null>;

type Params = { path?: Record<string, string>; query?: Query };

/** The URL of a route, relative to the page: `{name}` segments filled from `path` (each one path segment), the query from `query`. */
export function apiUrl(route: string, { path = {}, query = {} }: Params = {}): string {
  const filled = route.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (path[name] === undefined) throw new Error(`${route}: no value for {${name}}`);
    // an empty segment would reach another route (`jobs/` is the list of jobs)
    if (path[name] === "") throw new Error(`This link gives an empty ${name}; it needs one to show anything.`);
    return seg(path[name]);
  });
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined && one !== null && one !== "") params.append(key, String(one));
  }
  const search = params.toString();
  return `../api/v1/${filled}${search ? `?${search}` : ""}`;
}

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json", ...CATALOG_REQUEST_HEADERS } });
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
  return response.json();
}

/** GET a read-API route; its answer has the type of the route's model in the OpenAPI document. */
export function getJson<R extends PlainRoute>(route: R): Promise<Answer<R>>;
export function getJson<R extends GetRoute>(route: R, request: ApiRequest<R>): Promise<Answer<R>>;
export function getJson(route: GetRoute, request?: object): Promise<unknown> {
  try {
    return fetchJson(apiUrl(route, request as Params));
  } catch (error) {
    return Promise.reject(error); // a link the page cannot ask about: the page says so
  }
}

/** A path segment of the read API: namespaces and names may hold "/" and ":". */
export const seg = (value: string): string => encodeURIComponent(value);

export const nodeId = (kind: "job" | "dataset", namespace: string, name: string): string => `${kind}:${namespace}:${name}`;

/** A node of known namespace and name, as the graph routes take it: the id, and where its namespace
 * ends (an id such as `dataset:pg://h:5432:db.t` can be read more than one way). */
export type NodeQuery = { nodeId: string; namespace: string };
export const nodeQuery = (kind: "job" | "dataset", namespace: string, name: string): NodeQuery => ({ nodeId: nodeId(kind, namespace, name), namespace });

const escapedPart = (part: string): string => part.replaceAll("%", "%25").replaceAll(":", "%3A");

/** The node id of a dataset's column, as the API writes it: plain, or, when a colon in the dataset's
 * name or the field would let the text name another dataset's column, escaped (kind `datasetField%`,
 * no colon in the namespace or the name), which reads as this column alone. */
export const fieldNodeId = (namespace: string, dataset: string, field: string): string =>
  dataset.includes(":") || field.includes(":")
    ? `datasetField%:${escapedPart(namespace)}:${escapedPart(dataset)}:${field}`
    : `datasetField:${namespace}:${dataset}:${field}`;

// --- the answers' shapes, from the OpenAPI document (ui/openapi.json -> src/generated/openapi.ts) ---

export type Schemas = components["schemas"];
export type Ref = Schemas["NodeRef"];
export type Dataset = Schemas["Dataset"];
export type Field = Schemas["DatasetField"];
export type DatasetVersion = Schemas["DatasetVersion"];
export type Run = Schemas["Run"];
export type Job = Schemas["Job"];
export type Namespace = Schemas["Namespace"];
export type SearchResult = Schemas["SearchResult"];
export type TagOrigin = Schemas["TagOrigin"];
/** One OpenLineage event as the event log keeps it (the document gives events as open objects). */
export type RawEvent = Schemas["EventsPage"]["events"][number];

/** A node of /lineage: its `data` is the job or the dataset as their own routes answer them. */
export type LineageNode = (Omit<Schemas["JobNode"], "data"> & { data: Job }) | (Omit<Schemas["DatasetNode"], "data"> & { data: Dataset });

/** A node of /lineage or of /column-lineage. */
export type GraphNode = LineageNode | Schemas["ColumnNode"];

/** A dataset's newest test results and metrics (null when none were sent). */
export type DatasetQuality = Schemas["DatasetQuality"];
export type QualityAssertion = Schemas["Assertion"];

/** The nodes of a /lineage answer, each node's `data` read as the Job or Dataset model. The graph models
 * declare `data` as an open object whose description says it is that model, so this is where it is taken at its word. */
export const lineageNodes = (graph: Answer<"lineage">["graph"]): LineageNode[] => graph as LineageNode[];

/** The node id of a job node's parent job, if it has one. */
export const parentOf = (node: GraphNode): string | null => (node.type === "JOB" && node.data.parentJob ? nodeId("job", node.data.parentJob.namespace, node.data.parentJob.name) : null);

/** A job's integration (SPARK, AIRFLOW, DBT, ...), whatever case its producer wrote it in. */
export const integrationOf = (node: GraphNode): string | null => (node.type === "JOB" && node.data.integration ? node.data.integration.toUpperCase() : null);
