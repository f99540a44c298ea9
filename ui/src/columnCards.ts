// Column lineage as dbt and DataHub draw it: a card per dataset with a row per column, column edges
// between rows, each edge styled by how the column derives from its input, each column labelled by
// what happened to it on the way (passed through, renamed, transformed, derived).
import { nodeId, type GraphNode, type Schemas } from "./api";

type ColumnNode = Schemas["ColumnNode"];
type Transformation = Schemas["Transformation"];

/** What became of a column between its inputs and itself. */
export type Evolution = "source" | "passed through" | "renamed" | "transformed" | "derived" | "indirect";

export interface ColumnRow {
  /** The column's node id (`datasetField:NS:DATASET:FIELD`). */
  id: string;
  /** The field's name; "" is the dataset as a whole (what an INDIRECT lineage of the whole dataset points at). */
  field: string;
  fieldType: string | null;
  evolution: Evolution;
  /** Says the evolution in full: from which column, how, and the producer's description. */
  why: string;
  masked: boolean;
  node: GraphNode;
}

export interface Card {
  /** The dataset's node id. */
  id: string;
  namespace: string;
  dataset: string;
  rows: ColumnRow[];
}

export interface ColumnEdge {
  id: string;
  /** The cards (datasets) and rows (columns) the edge joins, in the direction data flows. */
  source: string;
  target: string;
  sourceRow: string;
  targetRow: string;
  /** DIRECT when the value comes from the input (in any of the ways the producer named); INDIRECT when the input only decides which rows or how (a filter, a join, a sort). */
  direct: boolean;
  masked: boolean;
  /** Every way the column comes from this input, as a tooltip says it. */
  title: string;
}

const isColumn = (n: GraphNode): n is ColumnNode => n.type === "DATASET_FIELD";

/** One way a column derives from an input, as people read it: `DIRECT · AGGREGATION: SUM(amount)`. */
export const wayOf = (t: Transformation): string => `${t.type}${t.subtype ? ` · ${t.subtype}` : ""}${t.masking ? " · masked" : ""}${t.description ? `: ${t.description}` : ""}`;

const fieldLabel = (field: string): string => field || "(whole dataset)";

/** Whether the value comes from this input: a DIRECT way, or no way named (lineage before 1-1-0, and
 * Airflow's SQL parser, name the input columns only). */
const carriesValue = (ways: Transformation[]): boolean => ways.length === 0 || ways.some((t) => t.type === "DIRECT");

function evolutionOf(node: ColumnNode): { evolution: Evolution; why: string } {
  const inputs = node.data.inputFields;
  if (!inputs.length) return { evolution: "source", why: "No input column: it starts here (or its producer did not say where it comes from)." };
  const direct = inputs.filter((i) => carriesValue(i.transformations));
  const said = inputs.map((i) => `${i.dataset}.${fieldLabel(i.field)}: ${i.transformations.map(wayOf).join("; ") || "no transformation named"}`).join("\n");
  if (!direct.length) return { evolution: "indirect", why: `Only decided by other columns, none copied into it:\n${said}` };
  const from = direct.map((i) => `${i.dataset}.${fieldLabel(i.field)}`).join(", ");
  if (direct.every((i) => i.transformations.length === 0)) return { evolution: "derived", why: `Comes from ${from}; its producer did not say how\n${said}` };
  const [only] = direct;
  const ways = only.transformations.filter((t) => t.type === "DIRECT");
  const identity = direct.length === 1 && ways.length > 0 && ways.every((t) => t.subtype === "IDENTITY" && !t.masking);
  if (identity && only.field === node.data.field) return { evolution: "passed through", why: `Passed through unchanged from ${only.dataset}.${only.field}\n${said}` };
  if (identity) return { evolution: "renamed", why: `Renamed from ${only.dataset}.${only.field}, value unchanged\n${said}` };
  return { evolution: "transformed", why: `Computed from ${from}\n${said}` };
}

/** The cards and column edges of a /column-lineage answer (other nodes are left out). Rows keep the
 * order of the dataset's columns by name, the whole dataset first. */
export function columnCards(graph: GraphNode[]): { cards: Card[]; edges: ColumnEdge[] } {
  const columns = graph.filter(isColumn);
  const cards = new Map<string, Card>();
  const cardOf = new Map<string, string>();
  for (const node of columns) {
    const id = nodeId("dataset", node.data.namespace, node.data.dataset);
    cardOf.set(node.id, id);
    const card = cards.get(id) ?? { id, namespace: node.data.namespace, dataset: node.data.dataset, rows: [] };
    cards.set(id, card);
    const masked = node.data.inputFields.some((i) => i.transformations.some((t) => t.masking));
    card.rows.push({ id: node.id, field: node.data.field, fieldType: node.data.fieldType, masked, node, ...evolutionOf(node) });
  }
  for (const card of cards.values()) card.rows.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  const byId = new Map(columns.map((n) => [n.id, n]));
  const edges = new Map<string, ColumnEdge>();
  for (const node of columns) {
    for (const e of node.outEdges) {
      const target = byId.get(e.destination);
      if (!target || e.origin === e.destination) continue;
      const input = target.data.inputFields.find((i) => nodeId("dataset", i.namespace, i.dataset) === cardOf.get(e.origin) && i.field === node.data.field);
      const ways = input?.transformations ?? [];
      const id = `${e.origin}->${e.destination}`;
      edges.set(id, {
        id,
        source: cardOf.get(e.origin)!,
        target: cardOf.get(e.destination)!,
        sourceRow: e.origin,
        targetRow: e.destination,
        direct: carriesValue(ways),
        masked: ways.some((t) => t.masking),
        title: `${node.data.dataset}.${fieldLabel(node.data.field)} → ${target.data.dataset}.${fieldLabel(target.data.field)}\n${ways.map(wayOf).join("\n") || "no transformation named"}`,
      });
    }
  }
  return { cards: [...cards.values()], edges: [...edges.values()] };
}

/** A column's lineage both ways: every column it comes from and every column made from it, itself included. */
export function traceColumn(edges: { sourceRow: string; targetRow: string }[], from: string): Set<string> {
  const walk = (next: Map<string, string[]>) => {
    const seen = new Set([from]);
    const queue = [from];
    while (queue.length) {
      for (const n of next.get(queue.pop()!) ?? []) {
        if (seen.has(n)) continue;
        seen.add(n);
        queue.push(n);
      }
    }
    return seen;
  };
  const down = new Map<string, string[]>();
  const up = new Map<string, string[]>();
  for (const e of edges) {
    down.set(e.sourceRow, [...(down.get(e.sourceRow) ?? []), e.targetRow]);
    up.set(e.targetRow, [...(up.get(e.targetRow) ?? []), e.sourceRow]);
  }
  return new Set([...walk(up), ...walk(down)]);
}
