// Pure operations on lineage graphs (Marquez shape): merge, collapse child jobs.
import { integrationOf, parentOf, type GraphNode, type Job } from "./api";

type EdgeRef = { origin: string; destination: string };

function uniqueEdges(edges: EdgeRef[]): EdgeRef[] {
  const seen = new Map(edges.map((e) => [`${e.origin}\u0000${e.destination}`, e]));
  return [...seen.values()];
}

/** Union of graphs: nodes by id, their edge lists merged. */
export function mergeGraphs(...graphs: GraphNode[][]): GraphNode[] {
  const nodes = new Map<string, GraphNode>();
  for (const graph of graphs) {
    for (const n of graph) {
      const old = nodes.get(n.id);
      nodes.set(
        n.id,
        old
          ? // One id is one node: the same kind, so the same shape of data.
            ({ ...old, data: { ...n.data, ...old.data }, inEdges: uniqueEdges([...old.inEdges, ...n.inEdges]), outEdges: uniqueEdges([...old.outEdges, ...n.outEdges]) } as GraphNode)
          : n,
      );
    }
  }
  return [...nodes.values()];
}

/** Child jobs drawn as their parent job: a DAG's tasks as the DAG, a Spark application's jobs as the application. */
export function collapseChildren(graph: GraphNode[]): GraphNode[] {
  const into = new Map<string, string>();
  const added = new Map<string, GraphNode>();
  const present = new Set(graph.map((n) => n.id));
  for (const n of graph) {
    const parent = parentOf(n);
    if (parent && n.type === "JOB" && n.data.parentJob) {
      into.set(n.id, parent);
      if (!present.has(parent) && !added.has(parent)) {
        added.set(parent, { id: parent, type: "JOB", data: { ...n.data.parentJob, parentJob: null, integration: integrationOf(n) } as Job, inEdges: [], outEdges: [] });
      }
    }
  }
  const target = (id: string) => into.get(id) ?? id;
  const remap = (edges: EdgeRef[]) => edges.map((e) => ({ origin: target(e.origin), destination: target(e.destination) })).filter((e) => e.origin !== e.destination);
  const nodes = new Map<string, GraphNode>();
  for (const n of [...graph, ...added.values()]) {
    const id = target(n.id);
    const base = nodes.get(id) ?? (id === n.id ? n : (graph.find((g) => g.id === id) ?? added.get(id)!));
    nodes.set(id, {
      ...base,
      inEdges: uniqueEdges([...(nodes.get(id)?.inEdges ?? []), ...remap(n.inEdges)]),
      outEdges: uniqueEdges([...(nodes.get(id)?.outEdges ?? []), ...remap(n.outEdges)]),
    });
  }
  return [...nodes.values()];
}

export type Change = "added" | "removed";

export interface GraphDiff {
  /** Both graphs in one: what either had. */
  graph: GraphNode[];
  /** Nodes and edges (`origin->destination`) only one of the two graphs had; the others are in both. */
  nodes: Map<string, Change>;
  edges: Map<string, Change>;
}

const edgeKeys = (graph: GraphNode[]): Set<string> => new Set(graph.flatMap((n) => n.outEdges.map((e) => `${e.origin}->${e.destination}`)));

/** What changed from `before` to `after`: the union of both, each node and edge marked added or removed
 * when only one of them had it. */
export function diffGraphs(before: GraphNode[], after: GraphNode[]): GraphDiff {
  const was = new Set(before.map((n) => n.id));
  const is = new Set(after.map((n) => n.id));
  const [wasEdges, isEdges] = [edgeKeys(before), edgeKeys(after)];
  const nodes = new Map<string, Change>();
  for (const id of is) if (!was.has(id)) nodes.set(id, "added");
  for (const id of was) if (!is.has(id)) nodes.set(id, "removed");
  const edges = new Map<string, Change>();
  for (const key of isEdges) if (!wasEdges.has(key)) edges.set(key, "added");
  for (const key of wasEdges) if (!isEdges.has(key)) edges.set(key, "removed");
  return { graph: mergeGraphs(after, before), nodes, edges };
}
