// The lineage graph: a layered left-to-right layout (ELK) drawn with React Flow.
import { Box } from "@chakra-ui/react";
import {
  Background,
  BaseEdge,
  ControlButton,
  Controls,
  getBezierPath,
  Handle,
  MiniMap,
  Panel,
  Position,
  ReactFlow,
  ReactFlowProvider,
  getViewportForBounds,
  useReactFlow,
  useStore,
  useStoreApi,
  type Edge,
  type EdgeProps,
  type Node,
  type NodeHandle,
  type NodeProps,
  type Viewport,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMode } from "../colorMode";
import "./lineage-graph.css";
import { createContext, useContext, useEffect, useMemo, useRef, useState } from "react";

import { fieldNodeId, nodeId, type GraphNode } from "../api";
import { columnCards, type Evolution } from "../columnCards";
import type { Change, GraphDiff } from "../graphModel";
import { place } from "../placement";
import { plainName } from "../names";
import { colorKeyOf, legendOf, paletteOf, statusOf, CHANGE_COLORS, COLOR_BY_LABELS, MASKED_COLOR, type ColorBy, type Legend, type StatusPart } from "../nodeStatus";
import { Name, Problem } from "./Common";

export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 62;
/** A column's row on a card. */
export const ROW_HEIGHT = 22;
/** A column-lineage card above its rows: the dataset's name and namespace. */
const CARD_HEADER = 44;
/** A dataset opened to its columns shows this many, then says how many more. */
const MAX_ROWS = 50;

/** One column on a card. */
export interface RowView {
  /** The column's node id (`datasetField:NS:DATASET:FIELD`). */
  id: string;
  /** "" is the dataset as a whole. */
  field: string;
  fieldType: string | null;
  /** What became of it on the way from its inputs (column lineage only). */
  evolution: Evolution | null;
  /** The row's tooltip: how it was derived, or the column's description. */
  why: string;
  masked: boolean;
  /** On the traced column's lineage, or off it (dimmed); neither when nothing is traced. */
  lit: boolean;
  dimmed: boolean;
  start: boolean;
}

export interface NodeData extends Record<string, unknown> {
  node: GraphNode;
  label: string;
  sublabel: string;
  /** A job's latest run; a dataset's last write, failed checks, schema change, owner. */
  status: StatusPart[];
  color: string;
  highlighted: boolean;
  dimmed: boolean;
  start: boolean;
  /** Set when the graph shows what changed between two times. */
  change: Change | null;
  /** The card's column rows (a column-lineage card, or a dataset opened to its columns); null: none shown. */
  rows: RowView[] | null;
  /** Columns past MAX_ROWS, not drawn. */
  moreRows: number;
  /** Where the rows start, from the top of the node. */
  rowTop: number;
  /** Rows carry their own edge handles: column edges join rows, not cards. */
  rowHandles: boolean;
  /** A dataset's number of known columns, which it can be opened to (0: none, or not a dataset). */
  columns: number;
}

export interface Placed {
  nodes: Node<NodeData>[];
  edges: Edge[];
  legend: Legend;
}

function labelOf(node: GraphNode): [string, string] {
  if (node.type === "DATASET_FIELD") return [node.data.field || "(whole dataset)", `${node.data.namespace} ${node.data.dataset ?? ""}`];
  return [node.data.name, node.data.namespace];
}

interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** A job's run waits for the other's (jobDependencies): drawn dashed, apart from data flow. */
  control: boolean;
  /** Node id of the temporary dataset a job -> job edge stands for (the API leaves it out of the graph). */
  via: string | null;
}

function edgesOf(graph: GraphNode[]): GraphEdge[] {
  const present = new Set(graph.map((n) => n.id));
  const seen = new Map<string, GraphEdge>();
  for (const node of graph) {
    for (const e of node.outEdges) {
      if (present.has(e.destination) && e.origin !== e.destination) {
        const id = `${e.origin}->${e.destination}`;
        const control = "relation" in e && e.relation === "control";
        const via = "via" in e && e.via ? e.via : null;
        seen.set(id, { id, source: e.origin, target: e.destination, control, via });
      }
    }
  }
  return [...seen.values()];
}

function shortestPath(edges: { source: string; target: string }[], from: string, to: string, directed: boolean): string[] | null {
  const next = new Map<string, string[]>();
  const link = (a: string, b: string) => next.set(a, [...(next.get(a) ?? []), b]);
  for (const e of edges) {
    link(e.source, e.target);
    if (!directed) link(e.target, e.source);
  }
  const cameFrom = new Map<string, string>([[from, from]]);
  const queue = [from];
  while (queue.length) {
    const at = queue.shift()!;
    if (at === to) {
      const path = [to];
      while (path[0] !== from) path.unshift(cameFrom.get(path[0])!);
      return path;
    }
    for (const n of next.get(at) ?? []) {
      if (!cameFrom.has(n)) {
        cameFrom.set(n, at);
        queue.push(n);
      }
    }
  }
  return null;
}

/** The nodes on the shortest path between two nodes: along the data flow either way, else ignoring direction. */
export function pathBetween(graph: GraphNode[], from: string, to: string): Set<string> {
  const edges = edgesOf(graph);
  const path = shortestPath(edges, from, to, true) ?? shortestPath(edges, to, from, true) ?? shortestPath(edges, from, to, false);
  return new Set(path ?? []);
}

/** How nodes are drawn: coloured by what, and since when a schema change is news. */
export interface Look {
  colorBy: ColorBy;
  /** Epoch ms: schema changes from then on are shown; null: none are. */
  since: number | null;
  /** What changed between two times, marked on nodes and edges; null: no comparison. */
  diff: GraphDiff | null;
  /** Datasets drawn opened to their columns. */
  expanded: ReadonlySet<string>;
}

/** Where a node's handles are, as the stylesheet puts them: 8 px dots centred on the node's inner
 * left and right edges (its left border is 6 px, the others 1 px), or on each row's. Given up front,
 * React Flow need not draw every node once to measure them: with `onlyRenderVisibleElements` a
 * 5,000-node graph then draws only what is in view. Drawn nodes are measured, and that replaces these. */
function handlesOf(width: number, height: number, rowTop: number | null, rows: number): NodeHandle[] {
  const dot = (type: "source" | "target", x: number, y: number, id?: string): NodeHandle => ({
    type,
    position: type === "target" ? Position.Left : Position.Right,
    x: x - 4,
    y: y - 4,
    width: 8,
    height: 8,
    id,
  });
  if (rowTop === null) return [dot("target", 6, height / 2), dot("source", width - 1, height / 2)];
  return Array.from({ length: rows }, (_, i) => {
    const middle = 1 + rowTop + i * ROW_HEIGHT + 1 + (ROW_HEIGHT - 1) / 2; // under the row's 1 px top border
    return [dot("target", 6, middle, `in-${i}`), dot("source", width - 1, middle, `out-${i}`)];
  }).flat();
}

const sizeOf = (n: Node<NodeData>) => ({ id: n.id, width: n.width ?? NODE_WIDTH, height: n.height ?? NODE_HEIGHT });

/** The graph laid out for React Flow: a node per job and dataset, or a card per dataset with a row
 * per column when the graph is of columns; placed by the layout worker. */
export async function layout(graph: GraphNode[], look: Look, highlight: Set<string>, start: string | null): Promise<Placed> {
  performance.mark("ol-layout-start");
  const drawn = graph.some((n) => n.type === "DATASET_FIELD") ? columnGraph(graph, look, highlight, start) : tableGraph(graph, look, highlight, start);
  const position = await place(drawn.nodes.map(sizeOf), drawn.layoutEdges);
  performance.measure("ol-layout", "ol-layout-start");
  for (const n of drawn.nodes) n.position = position.get(n.id) ?? { x: 0, y: 0 };
  return { nodes: drawn.nodes, edges: drawn.edges, legend: drawn.legend };
}

interface Drawn extends Placed {
  /** The edges between nodes, for the layout (column edges count once per pair of cards). */
  layoutEdges: { id: string; source: string; target: string }[];
}

function tableGraph(graph: GraphNode[], look: Look, highlight: Set<string>, start: string | null): Drawn {
  const edges = edgesOf(graph);
  const now = Date.now();
  const palette = paletteOf(graph, look.colorBy, now);
  const nodes: Node<NodeData>[] = graph.map((n) => {
    const [label, sublabel] = labelOf(n);
    const status = statusOf(n, now, look.since);
    const kind = n.type === "JOB" ? "Job" : n.type === "DATASET" ? "Dataset" : "Column";
    const fields = n.type === "DATASET" ? n.data.fields.filter((f) => f.name) : [];
    const rows: RowView[] | null = look.expanded.has(n.id) && n.type === "DATASET" ? fields.slice(0, MAX_ROWS).map((f) => ({ id: fieldNodeId(n.data.namespace, n.data.name, f.name!), field: f.name!, fieldType: f.type, evolution: null, why: f.description ?? "", masked: false, lit: false, dimmed: false, start: false })) : null;
    const moreRows = rows ? fields.length - rows.length : 0;
    const height = NODE_HEIGHT + (rows ? (rows.length + (moreRows ? 1 : 0)) * ROW_HEIGHT + 4 : 0);
    return {
      id: n.id,
      type: "lineage",
      // What a screen reader says on the focused node, and the keys it answers to (Flow's onKeyDown).
      ariaLabel: `${kind} ${plainName(label)} in ${plainName(sublabel)}${status.length ? `: ${status.map((p) => plainName(p.title)).join(", ")}` : ""}. ${NODE_KEYS}`,
      position: { x: 0, y: 0 },
      width: NODE_WIDTH,
      height,
      handles: handlesOf(NODE_WIDTH, height, null, 0),
      data: {
        node: n,
        label,
        sublabel,
        status,
        color: colorKeyOf(n, look.colorBy, now, palette).color,
        highlighted: highlight.has(n.id),
        dimmed: highlight.size > 0 && !highlight.has(n.id),
        start: n.id === start,
        change: look.diff?.nodes.get(n.id) ?? null,
        rows,
        moreRows,
        rowTop: NODE_HEIGHT,
        rowHandles: false,
        columns: fields.length,
      },
    };
  });
  const named = new Map(nodes.map((n) => [n.id, plainName(n.data.label)]));
  const flowEdges: Edge[] = edges.map((e) => {
    const lit = highlight.has(e.source) && highlight.has(e.target);
    const change = look.diff?.edges.get(e.id);
    const label = e.control ? "triggers" : e.via ? `via ${plainName(e.via.slice(e.via.lastIndexOf(":") + 1))}` : undefined;
    return {
      id: e.id,
      source: e.source,
      target: e.target,
      // React Flow would say "Edge from" and the node ids, whose names it reads out as sent
      ariaLabel: `${named.get(e.source) ?? "a node"} to ${named.get(e.target) ?? "a node"}${label ? `, ${label}` : ""}`,
      animated: lit,
      label: change ? `${change}${label ? ` · ${label}` : ""}` : label,
      className: change ? `olc-edge-${change}` : undefined,
      style: {
        strokeWidth: lit || change ? 2.5 : 1.2,
        opacity: highlight.size && !lit ? 0.25 : 1,
        strokeDasharray: e.control || change === "removed" ? "6 4" : undefined,
        stroke: change === "added" ? CHANGE_COLORS.added : change === "removed" ? CHANGE_COLORS.removed : undefined,
      },
    };
  });
  const legend = legendOf(graph, look.colorBy, now, palette);
  if (look.diff) {
    const counts = [...look.diff.nodes.values(), ...look.diff.edges.values()];
    legend.changes = { added: counts.filter((c) => c === "added").length, removed: counts.filter((c) => c === "removed").length };
  }
  return { nodes, edges: flowEdges, legend, layoutEdges: edges };
}

/** What a column edge's tooltip says, and how it is drawn. */
export interface ColumnEdgeData extends Record<string, unknown> {
  title: string;
  direct: boolean;
  masked: boolean;
  lit: boolean;
  dimmed: boolean;
}

/** Column lineage: a card per dataset, a row per column, an edge from row to row; `highlight` holds
 * the columns of a traced column's lineage (the rest is dimmed). */
function columnGraph(graph: GraphNode[], look: Look, highlight: Set<string>, start: string | null): Drawn {
  const { cards, edges } = columnCards(graph);
  const now = Date.now();
  const palette = paletteOf(cards.map((c) => c.rows[0].node), look.colorBy, now);
  const rowIndex = new Map(cards.flatMap((card) => card.rows.map((row, i) => [row.id, i] as const)));
  const nodes: Node<NodeData>[] = cards.map((card) => {
    const first = card.rows[0].node;
    const rows: RowView[] = card.rows.map((row) => ({ id: row.id, field: row.field, fieldType: row.fieldType, evolution: row.evolution, why: row.why, masked: row.masked, lit: highlight.has(row.id), dimmed: highlight.size > 0 && !highlight.has(row.id), start: row.id === start }));
    return {
      id: card.id,
      type: "lineage",
      ariaLabel: `Dataset ${plainName(card.dataset)} in ${plainName(card.namespace)}, ${rows.length} column${rows.length === 1 ? "" : "s"} in this lineage: Tab to a column, Enter to trace it. O: open the dataset's page.`,
      position: { x: 0, y: 0 },
      width: NODE_WIDTH,
      height: CARD_HEADER + rows.length * ROW_HEIGHT + 4,
      handles: handlesOf(NODE_WIDTH, CARD_HEADER + rows.length * ROW_HEIGHT + 4, CARD_HEADER, rows.length),
      data: {
        node: first,
        label: card.dataset,
        sublabel: card.namespace,
        status: [],
        color: colorKeyOf(first, look.colorBy, now, palette).color,
        highlighted: false,
        dimmed: highlight.size > 0 && !rows.some((r) => r.lit),
        start: card.id === start || rows.some((r) => r.start),
        change: null,
        rows,
        moreRows: 0,
        rowTop: CARD_HEADER,
        rowHandles: true,
        columns: rows.length,
      },
    };
  });
  const flowEdges: Edge<ColumnEdgeData>[] = edges.map((e) => {
    const lit = highlight.has(e.sourceRow) && highlight.has(e.targetRow);
    return {
      id: e.id,
      type: "column",
      source: e.source,
      target: e.target,
      ariaLabel: plainName(e.title),
      sourceHandle: `out-${rowIndex.get(e.sourceRow)}`,
      targetHandle: `in-${rowIndex.get(e.targetRow)}`,
      className: e.direct ? "olc-column-edge" : "olc-column-edge olc-edge-indirect",
      data: { title: e.title, direct: e.direct, masked: e.masked, lit, dimmed: highlight.size > 0 && !lit },
    };
  });
  const pairs = new Map(edges.filter((e) => e.source !== e.target).map((e) => [`${e.source}->${e.target}`, { id: `${e.source}->${e.target}`, source: e.source, target: e.target }]));
  return { nodes, edges: flowEdges, legend: legendOf(cards.map((c) => c.rows[0].node), look.colorBy, now, palette), layoutEdges: [...pairs.values()] };
}

/** A column edge: solid when the value comes from the input (DIRECT), dashed when the input only
 * decides which rows or how (INDIRECT: filters, joins, sorts), orange when masked; its tooltip
 * names every way the producer sent. */
function ColumnEdgeLine({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, markerEnd, data }: EdgeProps<Edge<ColumnEdgeData>>) {
  const [path] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const style = {
    strokeWidth: data?.lit ? 2.5 : 1.4,
    strokeDasharray: data?.direct ? undefined : "5 4",
    stroke: data?.masked ? MASKED_COLOR : undefined,
    opacity: data?.dimmed ? 0.2 : 1,
  };
  return (
    <g data-kind={data?.direct ? "DIRECT" : "INDIRECT"} data-masked={data?.masked} data-lit={data?.lit}>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} interactionWidth={0} />
      <path d={path} fill="none" stroke="transparent" strokeWidth={12} className="olc-edge-hover">
        <title>{plainName(data?.title ?? "")}</title>
      </path>
    </g>
  );
}

// Below this zoom labels are unreadable: nodes are drawn as coloured boxes, which keeps
// thousand-node graphs quick to draw. Zooming in brings the labels back.
const LABEL_ZOOM = 0.3;

/** What rows and the open-columns toggle do, given to the nodes by the graph's props. */
interface RowActions {
  onRow?: (column: string, additive: boolean) => void;
  onToggleColumns?: (dataset: string) => void;
}
const RowActionsContext = createContext<RowActions>({});

function Rows({ data }: { data: NodeData }) {
  const { onRow } = useContext(RowActionsContext);
  if (!data.rows) return null;
  return (
    <ul className="olc-rows" style={{ top: data.rowTop }}>
      {data.rows.map((row, i) => (
        <li key={row.id} className="olc-row" data-row-id={row.id} data-lit={row.lit} data-dimmed={row.dimmed} data-start={row.start}>
          {data.rowHandles && <Handle type="target" position={Position.Left} id={`in-${i}`} />}
          <button
            type="button"
            className="olc-row-button nodrag"
            title={plainName([row.field || "(whole dataset)", row.fieldType, row.why].filter(Boolean).join("\n"))}
            // The visible text first, in its order (what a speech user says to click it), then what it does.
            aria-label={`${[row.field || "(whole dataset)", row.fieldType, row.masked ? "masked" : null, row.evolution && row.evolution !== "source" ? row.evolution : null].filter(Boolean).map((t) => plainName(t!)).join(" ")}: ${data.rowHandles ? "trace this column's lineage" : "open this column's lineage"}`}
            onClick={(event) => {
              event.stopPropagation(); // a row is not its card: React Flow's node click stays out of it
              onRow?.(row.id, event.shiftKey || event.metaKey || event.ctrlKey);
            }}
          >
            {/* Spaces between the parts: the flex gap shows them apart, the spaces make the text read apart. */}
            <span className="olc-row-name">
              <Name value={row.field || "(whole dataset)"} />
            </span>{" "}
            {row.fieldType && (
              <span className="olc-row-type">
                <Name value={row.fieldType} />
              </span>
            )}{" "}
            {row.masked && (
              <span className="olc-row-tag" data-tag="masked">
                masked
              </span>
            )}{" "}
            {row.evolution && row.evolution !== "source" && (
              <span className="olc-row-tag" data-tag={row.evolution}>
                {row.evolution}
              </span>
            )}
          </button>
          {data.rowHandles && <Handle type="source" position={Position.Right} id={`out-${i}`} />}
        </li>
      ))}
      {data.moreRows > 0 && <li className="olc-row olc-row-more">and {data.moreRows} more columns</li>}
    </ul>
  );
}

function LineageNode({ data }: NodeProps<Node<NodeData>>) {
  const kind = data.rowHandles ? "card" : data.node.type === "JOB" ? "job" : data.node.type === "DATASET" ? "dataset" : "field";
  const labelled = useStore((s) => s.transform[2] >= LABEL_ZOOM);
  const { onToggleColumns } = useContext(RowActionsContext);
  if (!labelled) {
    return (
      <div className="olc-node" data-node-id={data.node.id} data-kind={kind} data-start={data.start} data-highlighted={data.highlighted} data-dimmed={data.dimmed} style={{ borderLeftColor: data.color }} title={plainName(data.label)}>
        <Handle type="target" position={Position.Left} />
        <Handle type="source" position={Position.Right} />
      </div>
    );
  }
  const id = data.rowHandles ? null : data.node.id;
  return (
    <div
      className="olc-node"
      data-node-id={id ?? undefined}
      data-card-id={data.rowHandles ? nodeId("dataset", data.node.data.namespace, data.label) : undefined}
      data-kind={kind}
      data-start={data.start}
      data-highlighted={data.highlighted}
      data-dimmed={data.dimmed}
      data-change={data.change ?? undefined}
      style={{ borderLeftColor: data.color }}
    >
      {!data.rowHandles && <Handle type="target" position={Position.Left} />}
      <div className="olc-node-label" title={plainName(data.label)}>
        {kind === "job" ? "⚙ " : kind === "field" ? "• " : "▤ "}
        <Name value={data.label} />
      </div>
      <div className="olc-node-sublabel" title={plainName(data.sublabel)}>
        <Name value={data.sublabel} />
      </div>
      {data.status.length > 0 && (
        <div className="olc-node-status">
          {data.status.map((part, i) => (
            <span key={i} className="olc-node-part" data-tone={part.tone} title={plainName(part.title)}>
              {i > 0 && " · "}
              <Name value={part.text} />
            </span>
          ))}
        </div>
      )}
      {id && data.columns > 0 && onToggleColumns && (
        <button
          type="button"
          className="olc-columns-toggle nodrag"
          aria-expanded={data.rows !== null}
          aria-label={`${data.rows ? "Close" : "Open"} the ${data.columns} columns of ${plainName(data.label)}`}
          onClick={(event) => {
            event.stopPropagation();
            onToggleColumns(id);
          }}
        >
          {data.rows ? "▾" : "▸"} {data.columns}
        </button>
      )}
      <Rows data={data} />
      {!data.rowHandles && <Handle type="source" position={Position.Right} />}
    </div>
  );
}

const nodeTypes = { lineage: LineageNode };
const edgeTypes = { column: ColumnEdgeLine };

function GraphLegend({ legend: { colorBy, entries, more, changes } }: { legend: Legend }) {
  return (
    <Panel position="top-left" className="olc-legend" aria-label="Legend">
      <div className="olc-legend-title">{COLOR_BY_LABELS[colorBy].replace("Colour by", "Coloured by")}</div>
      <ul>
        {entries.map((e) => (
          <li key={e.key} title={plainName(e.key)}>
            <span className="olc-swatch" style={{ background: e.color }} aria-hidden />
            <Name value={e.label} /> <span className="olc-legend-count">{e.count}</span>
          </li>
        ))}
        {more > 0 && <li className="olc-legend-count">and {more} more</li>}
        <li>
          <span className="olc-shape" data-kind="job" aria-hidden /> job <span className="olc-shape" data-kind="dataset" aria-hidden /> dataset
        </li>
        {changes && (
          <li data-testid="legend-changes">
            <span className="olc-swatch" style={{ background: CHANGE_COLORS.added }} aria-hidden />
            added {changes.added} <span className="olc-swatch" style={{ background: CHANGE_COLORS.removed, marginLeft: 6 }} aria-hidden />
            removed {changes.removed}
          </li>
        )}
      </ul>
    </Panel>
  );
}

export interface GraphViewProps {
  graph: GraphNode[];
  colorBy: ColorBy;
  /** Nodes and edges added or removed between two times, marked on the graph. */
  diff?: GraphDiff | null;
  /** Epoch ms from which a dataset's schema change is shown on its node; null: none. */
  since?: number | null;
  highlight: Set<string>;
  start: string | null;
  onNodeClick?: (node: GraphNode, additive: boolean) => void;
  onNodeDoubleClick?: (node: GraphNode) => void;
  /** Open the node's own page (the O key on a focused node). */
  onNodeOpen?: (node: GraphNode) => void;
  /** Datasets drawn opened to their columns; toggled from their cards when `onToggleColumns` is given. */
  expanded?: ReadonlySet<string>;
  onToggleColumns?: (dataset: string) => void;
  /** A column row clicked (or Enter on it): its node id, and whether shift (or ctrl, cmd) was held. */
  onRow?: (column: string, additive: boolean) => void;
  onPlaced?: (placed: Placed) => void;
  height?: string;
}

/** The keys a focused node answers to (Tab moves between nodes). */
const NODE_KEYS = "Enter: select, Shift+Enter: path from the selected node, E: expand, O: open its page.";

/** The smallest zoom a graph opens at, or fits to: node labels stay at 9 px or more on screen. */
export const MIN_READABLE_ZOOM = 0.7;

/** The whole graph when it fits at a readable size; else the focus node (or the middle of the
 * graph) in the centre at the smallest readable zoom, the rest a pan or the minimap away. */
function readableViewport(placed: Placed, start: string | null, width: number, height: number): Viewport {
  const xs = placed.nodes.map((n) => n.position.x);
  const ys = placed.nodes.map((n) => n.position.y);
  const [left, top] = [Math.min(...xs), Math.min(...ys)];
  const right = Math.max(...placed.nodes.map((n) => n.position.x + (n.width ?? NODE_WIDTH)));
  const bottom = Math.max(...placed.nodes.map((n) => n.position.y + (n.height ?? NODE_HEIGHT)));
  const bounds = { x: left, y: top, width: right - left, height: bottom - top };
  const whole = getViewportForBounds(bounds, width, height, 0.05, 1, 0.15);
  if (whole.zoom >= MIN_READABLE_ZOOM) return whole;
  // The start node, or the card holding the start column.
  const at = placed.nodes.find((n) => n.id === start || n.data.start);
  const zoom = MIN_READABLE_ZOOM;
  // A tall card shows its top part: its name and first columns.
  const middle = at
    ? { x: at.position.x + (at.width ?? NODE_WIDTH) / 2, y: at.position.y + Math.min(at.height ?? NODE_HEIGHT, height / zoom) / 2 }
    : { x: bounds.x + bounds.width / 2, y: bounds.y + bounds.height / 2 };
  // Centred on it, but no emptier than it must be: a focus near the graph's edge moves from the
  // centre so the graph fills the pane (and one smaller than the pane along an axis is centred).
  const offset = (centre: number, from: number, size: number, pane: number) => {
    const pad = 0.05 * pane;
    if (size * zoom + 2 * pad <= pane) return pane / 2 - (from + size / 2) * zoom;
    return Math.min(pad - from * zoom, Math.max(pane - pad - (from + size) * zoom, pane / 2 - centre * zoom));
  };
  return { x: offset(middle.x, bounds.x, bounds.width, width), y: offset(middle.y, bounds.y, bounds.height, height), zoom };
}

const NONE: ReadonlySet<string> = new Set();

function Flow({ graph, colorBy, since = null, diff = null, expanded = NONE, highlight, start, onNodeClick, onNodeDoubleClick, onNodeOpen, onToggleColumns, onRow, onPlaced }: GraphViewProps) {
  const [placed, setPlaced] = useState<Placed>({ nodes: [], edges: [], legend: { colorBy, entries: [], more: 0 } });
  const flow = useReactFlow();
  const mode = useMode(); // the controls and the minimap follow light and dark mode
  const store = useStoreApi();
  const paneWidth = useStore((s) => s.width);
  const paneHeight = useStore((s) => s.height);
  const fitted = useRef(false);
  const [failure, setFailure] = useState<string | null>(null);
  const key = useMemo(() => graph.map((n) => n.id).join("|"), [graph]);
  useEffect(() => {
    let live = true;
    layout(graph, { colorBy, since, diff, expanded }, highlight, start).then((result) => {
      if (!live) return;
      // Placed before the first render when the pane has its size: React Flow then draws only the
      // nodes in view, once. (React Flow's own fit would only see the nodes it has drawn.)
      const { width, height } = store.getState();
      fitted.current = Boolean(result.nodes.length && width && height);
      if (fitted.current) flow.setViewport(readableViewport(result, start, width, height));
      setFailure(null);
      setPlaced(result);
      onPlaced?.(result);
    }, (error: unknown) => {
      // A graph that cannot be laid out says so instead of staying empty.
      if (live) setFailure(error instanceof Error ? error.message : String(error));
    });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, colorBy, since, diff, expanded, highlight, start]);
  const settled = useRef<Placed | null>(null);
  useEffect(() => {
    if (placed.nodes.length === 0 || settled.current === placed) return;
    if (!fitted.current) {
      if (!paneWidth || !paneHeight) return; // placed once the pane has its size
      flow.setViewport(readableViewport(placed, start, paneWidth, paneHeight));
      fitted.current = true;
    }
    settled.current = placed;
    // For bench/ui.py and the browser's performance panel: laid out, rendered and in view.
    window.requestAnimationFrame(() =>
      window.requestAnimationFrame(() => performance.mark("ol-graph-settled", { detail: { nodes: placed.nodes.length } })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [placed, paneWidth, paneHeight, flow]);
  // The nodes get stable functions that call the newest props: new ones at every render of the
  // page would redraw every node.
  const latest = useRef({ onRow, onToggleColumns });
  useEffect(() => {
    latest.current = { onRow, onToggleColumns };
  });
  const toggles = Boolean(onToggleColumns);
  const actions = useMemo<RowActions>(
    () => ({
      onRow: (column, additive) => latest.current.onRow?.(column, additive),
      onToggleColumns: toggles ? (dataset) => latest.current.onToggleColumns?.(dataset) : undefined,
    }),
    [toggles],
  );
  if (failure) return <Problem message={failure} />;
  return (
    <RowActionsContext.Provider value={actions}>
    <ReactFlow
      colorMode={mode}
      nodes={placed.nodes}
      edges={placed.edges}
      nodeTypes={nodeTypes}
      edgeTypes={edgeTypes}
      nodesConnectable={false}
      onlyRenderVisibleElements
      minZoom={0.05}
      // A column card's header is no column: its rows are what is clicked.
      onNodeClick={(event, node) => !node.data.rowHandles && onNodeClick?.(node.data.node, event.shiftKey || event.metaKey || event.ctrlKey)}
      onNodeDoubleClick={(_, node) => onNodeDoubleClick?.(node.data.node)}
      onKeyDown={(event) => {
        // Keys on a focused node do what clicks do: React Flow makes each node a focusable element.
        // A column row or a card's toggle is a button of its own: its keys are its own.
        if ((event.target as HTMLElement).closest?.("button")) return;
        const id = (event.target as HTMLElement).closest?.(".react-flow__node")?.getAttribute("data-id");
        const data = id ? placed.nodes.find((n) => n.id === id)?.data : undefined;
        if (!data) return;
        const node = data.node;
        const key = event.key.toLowerCase();
        if (key === "enter" && !data.rowHandles) onNodeClick?.(node, event.shiftKey);
        else if (key === "e") onNodeDoubleClick?.(node);
        else if (key === "o") onNodeOpen?.(node);
        else return;
        event.preventDefault();
      }}
      proOptions={{ hideAttribution: true }}
    >
      <Background />
      {placed.nodes.length > 0 && <GraphLegend legend={placed.legend} />}
      <Controls showInteractive={false} showFitView={false}>
        {/* React Flow's own fit counts only the nodes it has drawn, and waits for the rest to be
            measured: ours fits what was laid out, at once, never below the readable size. */}
        <ControlButton
          className="react-flow__controls-fitview"
          title="Fit view"
          aria-label="Fit view"
          onClick={() => placed.nodes.length && paneWidth && paneHeight && flow.setViewport(readableViewport(placed, start, paneWidth, paneHeight))}
        >
          <svg viewBox="0 0 32 32" aria-hidden="true">
            <path d="M3 12V3h9M20 3h9v9M29 20v9h-9M12 29H3v-9" fill="none" stroke="currentColor" strokeWidth="4" />
          </svg>
        </ControlButton>
      </Controls>
      <MiniMap pannable zoomable nodeColor={(n) => (n.data as NodeData).color} />
    </ReactFlow>
    </RowActionsContext.Provider>
  );
}

export function LineageGraph(props: GraphViewProps) {
  return (
    <Box h={props.height ?? "70vh"} borderWidth="1px" rounded="md" data-testid="lineage-graph" className="lineage-graph">
      <ReactFlowProvider>
        <Flow {...props} />
      </ReactFlowProvider>
    </Box>
  );
}
