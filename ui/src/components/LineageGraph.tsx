// The lineage graph: a layered left-to-right layout (ELK) drawn with React Flow.
import { Box } from "@chakra-ui/react";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Panel,
  Position,
  ReactFlow,
  ReactFlowProvider,
  getViewportForBounds,
  useReactFlow,
  useStore,
  type Edge,
  type Node,
  type NodeProps,
  type Viewport,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMode } from "../colorMode";
import "./lineage-graph.css";
import { layeredLayout } from "../layeredLayout";
import ELK from "elkjs/lib/elk.bundled.js";
import { useEffect, useMemo, useRef, useState } from "react";

import type { GraphNode } from "../api";
import type { Change, GraphDiff } from "../graphModel";
import { plainName } from "../names";
import { colorKeyOf, legendOf, statusOf, CHANGE_COLORS, COLOR_BY_LABELS, type ColorBy, type Legend, type StatusPart } from "../nodeStatus";
import { Name } from "./Common";

const elk = new ELK();
export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 62;

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

// Past this size ELK takes seconds; the fast layered layout takes milliseconds.
const FAST_LAYOUT_NODES = 400;

async function elkLayout(graph: GraphNode[], edges: { id: string; source: string; target: string }[]): Promise<Map<string, { x: number; y: number }>> {
  const placed = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.spacing.nodeNode": "18",
      // React Flow draws the edges, so ELK's cheapest routing will do.
      "elk.edgeRouting": "POLYLINE",
      "elk.layered.thoroughness": graph.length > 200 ? "1" : "7",
    },
    children: graph.map((n) => ({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  return new Map((placed.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
}

/** How nodes are drawn: coloured by what, and since when a schema change is news. */
export interface Look {
  colorBy: ColorBy;
  /** Epoch ms: schema changes from then on are shown; null: none are. */
  since: number | null;
  /** What changed between two times, marked on nodes and edges; null: no comparison. */
  diff: GraphDiff | null;
}

export async function layout(graph: GraphNode[], look: Look, highlight: Set<string>, start: string | null): Promise<Placed> {
  const edges = edgesOf(graph);
  performance.mark("ol-layout-start");
  const position = graph.length > FAST_LAYOUT_NODES ? layeredLayout(graph.map((n) => n.id), edges, NODE_WIDTH, NODE_HEIGHT) : await elkLayout(graph, edges);
  performance.measure("ol-layout", "ol-layout-start");
  const now = Date.now();
  const nodes: Node<NodeData>[] = graph.map((n) => {
    const [label, sublabel] = labelOf(n);
    const status = statusOf(n, now, look.since);
    const kind = n.type === "JOB" ? "Job" : n.type === "DATASET" ? "Dataset" : "Column";
    return {
      id: n.id,
      type: "lineage",
      // What a screen reader says on the focused node, and the keys it answers to (Flow's onKeyDown).
      ariaLabel: `${kind} ${plainName(label)} in ${plainName(sublabel)}${status.length ? `: ${status.map((p) => plainName(p.title)).join(", ")}` : ""}. ${NODE_KEYS}`,
      position: position.get(n.id) ?? { x: 0, y: 0 },
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      data: {
        node: n,
        label,
        sublabel,
        status,
        color: colorKeyOf(n, look.colorBy, now).color,
        highlighted: highlight.has(n.id),
        dimmed: highlight.size > 0 && !highlight.has(n.id),
        start: n.id === start,
        change: look.diff?.nodes.get(n.id) ?? null,
      },
    };
  });
  const flowEdges: Edge[] = edges.map((e) => {
    const lit = highlight.has(e.source) && highlight.has(e.target);
    const change = look.diff?.edges.get(e.id);
    const label = e.control ? "triggers" : e.via ? `via ${plainName(e.via.slice(e.via.lastIndexOf(":") + 1))}` : undefined;
    return {
      id: e.id,
      source: e.source,
      target: e.target,
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
  const legend = legendOf(graph, look.colorBy, now);
  if (look.diff) {
    const counts = [...look.diff.nodes.values(), ...look.diff.edges.values()];
    legend.changes = { added: counts.filter((c) => c === "added").length, removed: counts.filter((c) => c === "removed").length };
  }
  return { nodes, edges: flowEdges, legend };
}

// Below this zoom labels are unreadable: nodes are drawn as coloured boxes, which keeps
// thousand-node graphs quick to draw. Zooming in brings the labels back.
const LABEL_ZOOM = 0.3;

function LineageNode({ data }: NodeProps<Node<NodeData>>) {
  const kind = data.node.type === "JOB" ? "job" : data.node.type === "DATASET" ? "dataset" : "field";
  const labelled = useStore((s) => s.transform[2] >= LABEL_ZOOM);
  if (!labelled) {
    return (
      <div className="olc-node" data-node-id={data.node.id} data-kind={kind} data-start={data.start} data-highlighted={data.highlighted} data-dimmed={data.dimmed} style={{ borderLeftColor: data.color }} title={plainName(data.label)}>
        <Handle type="target" position={Position.Left} />
        <Handle type="source" position={Position.Right} />
      </div>
    );
  }
  return (
    <div
      className="olc-node"
      data-node-id={data.node.id}
      data-kind={kind}
      data-start={data.start}
      data-highlighted={data.highlighted}
      data-dimmed={data.dimmed}
      data-change={data.change ?? undefined}
      style={{ borderLeftColor: data.color }}
    >
      <Handle type="target" position={Position.Left} />
      <div className="olc-node-label" title={plainName(data.label)}>
        {kind === "job" ? "⚙ " : kind === "dataset" ? "▤ " : "• "}
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
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

const nodeTypes = { lineage: LineageNode };

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
  onPlaced?: (placed: Placed) => void;
  height?: string;
}

/** The keys a focused node answers to (Tab moves between nodes). */
const NODE_KEYS = "Enter: select, Shift+Enter: path from the selected node, E: expand, O: open its page.";

/** The smallest zoom a graph opens at, or fits to: node labels stay at 9 px or more on screen. */
export const MIN_READABLE_ZOOM = 0.7;
const FIT = { padding: 0.15, minZoom: MIN_READABLE_ZOOM, maxZoom: 1 };

/** The whole graph when it fits at a readable size; else the focus node (or the middle of the
 * graph) in the centre at the smallest readable zoom, the rest a pan or the minimap away. */
function readableViewport(placed: Placed, bounds: { x: number; y: number; width: number; height: number }, start: string | null, width: number, height: number): Viewport {
  const whole = getViewportForBounds(bounds, width, height, 0.05, 1, 0.15);
  if (whole.zoom >= MIN_READABLE_ZOOM) return whole;
  const focus = placed.nodes.find((n) => n.id === start)?.position ?? { x: bounds.x + bounds.width / 2 - NODE_WIDTH / 2, y: bounds.y + bounds.height / 2 - NODE_HEIGHT / 2 };
  const zoom = MIN_READABLE_ZOOM;
  return { x: width / 2 - (focus.x + NODE_WIDTH / 2) * zoom, y: height / 2 - (focus.y + NODE_HEIGHT / 2) * zoom, zoom };
}

function Flow({ graph, colorBy, since = null, diff = null, highlight, start, onNodeClick, onNodeDoubleClick, onNodeOpen, onPlaced }: GraphViewProps) {
  const [placed, setPlaced] = useState<Placed>({ nodes: [], edges: [], legend: { colorBy, entries: [], more: 0 } });
  const flow = useReactFlow();
  const mode = useMode(); // the controls and the minimap follow light and dark mode
  const paneWidth = useStore((s) => s.width);
  const paneHeight = useStore((s) => s.height);
  const fitted = useRef(false);
  const key = useMemo(() => graph.map((n) => n.id).join("|"), [graph]);
  useEffect(() => {
    let live = true;
    layout(graph, { colorBy, since, diff }, highlight, start).then((result) => {
      if (!live) return;
      // Fit before the first render: React Flow then draws the nodes once, already in view.
      if (result.nodes.length && paneWidth && paneHeight) {
        const xs = result.nodes.map((n) => n.position.x);
        const ys = result.nodes.map((n) => n.position.y);
        const bounds = { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs) + NODE_WIDTH, height: Math.max(...ys) - Math.min(...ys) + NODE_HEIGHT };
        flow.setViewport(readableViewport(result, bounds, start, paneWidth, paneHeight));
      }
      fitted.current = Boolean(result.nodes.length && paneWidth && paneHeight);
      setPlaced(result);
      onPlaced?.(result);
    });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, colorBy, since, diff, highlight, start]);
  useEffect(() => {
    if (placed.nodes.length === 0) return;
    window.requestAnimationFrame(() => {
      // Fitted before the render already, unless the pane had no size yet: a second fit
      // would redraw every node for nothing.
      if (!fitted.current) flow.fitView({ ...FIT, duration: 0 });
      // For bench/ui.py and the browser's performance panel: laid out, rendered and fitted.
      window.requestAnimationFrame(() => performance.mark("ol-graph-settled", { detail: { nodes: placed.nodes.length } }));
    });
  }, [placed, flow]);
  return (
    <ReactFlow
      colorMode={mode}
      nodes={placed.nodes}
      edges={placed.edges}
      nodeTypes={nodeTypes}
      nodesConnectable={false}
      onlyRenderVisibleElements
      minZoom={0.05}
      fitView
      fitViewOptions={FIT}
      onNodeClick={(event, node) => onNodeClick?.(node.data.node, event.shiftKey || event.metaKey || event.ctrlKey)}
      onNodeDoubleClick={(_, node) => onNodeDoubleClick?.(node.data.node)}
      onKeyDown={(event) => {
        // Keys on a focused node do what clicks do: React Flow makes each node a focusable element.
        const id = (event.target as HTMLElement).closest?.(".react-flow__node")?.getAttribute("data-id");
        const node = id ? placed.nodes.find((n) => n.id === id)?.data.node : undefined;
        if (!node) return;
        const key = event.key.toLowerCase();
        if (key === "enter") onNodeClick?.(node, event.shiftKey);
        else if (key === "e") onNodeDoubleClick?.(node);
        else if (key === "o") onNodeOpen?.(node);
        else return;
        event.preventDefault();
      }}
      proOptions={{ hideAttribution: true }}
    >
      <Background />
      {placed.nodes.length > 0 && <GraphLegend legend={placed.legend} />}
      <Controls showInteractive={false} fitViewOptions={FIT} />
      <MiniMap pannable zoomable nodeColor={(n) => (n.data as NodeData).color} />
    </ReactFlow>
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
