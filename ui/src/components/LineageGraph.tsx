// The lineage graph: a layered left-to-right layout (ELK) drawn with React Flow.
import { Box, Flex, Text } from "@chakra-ui/react";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import ELK from "elkjs/lib/elk.bundled.js";
import { useEffect, useMemo, useState } from "react";

import type { GraphNode } from "../api";
import { colorOf } from "../format";

const elk = new ELK();
export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 48;

export type ColorBy = "namespace" | "integration";

export interface NodeData extends Record<string, unknown> {
  node: GraphNode;
  label: string;
  sublabel: string;
  color: string;
  highlighted: boolean;
  dimmed: boolean;
  start: boolean;
}

export interface Placed {
  nodes: Node<NodeData>[];
  edges: Edge[];
}

function labelOf(node: GraphNode): [string, string] {
  if (node.type === "DATASET_FIELD") return [node.data.field || "(whole dataset)", `${node.data.namespace} ${node.data.dataset ?? ""}`];
  return [node.data.name, node.data.namespace];
}

function edgesOf(graph: GraphNode[]): { id: string; source: string; target: string }[] {
  const present = new Set(graph.map((n) => n.id));
  const seen = new Map<string, { id: string; source: string; target: string }>();
  for (const node of graph) {
    for (const e of node.outEdges) {
      if (present.has(e.destination) && e.origin !== e.destination) {
        const id = `${e.origin}->${e.destination}`;
        seen.set(id, { id, source: e.origin, target: e.destination });
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

export async function layout(graph: GraphNode[], colorBy: ColorBy, highlight: Set<string>, start: string | null): Promise<Placed> {
  const edges = edgesOf(graph);
  const placed = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.spacing.nodeNode": "18",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
    },
    children: graph.map((n) => ({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const position = new Map((placed.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
  const nodes: Node<NodeData>[] = graph.map((n) => {
    const [label, sublabel] = labelOf(n);
    const key = colorBy === "integration" ? (n.data.integration ?? (n.type === "JOB" ? "unknown" : n.data.namespace)) : n.data.namespace;
    return {
      id: n.id,
      type: "lineage",
      position: position.get(n.id) ?? { x: 0, y: 0 },
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      data: {
        node: n,
        label,
        sublabel,
        color: colorOf(String(key)),
        highlighted: highlight.has(n.id),
        dimmed: highlight.size > 0 && !highlight.has(n.id),
        start: n.id === start,
      },
    };
  });
  const flowEdges: Edge[] = edges.map((e) => {
    const lit = highlight.has(e.source) && highlight.has(e.target);
    return {
      id: e.id,
      source: e.source,
      target: e.target,
      animated: lit,
      style: { strokeWidth: lit ? 2.5 : 1.2, opacity: highlight.size && !lit ? 0.25 : 1 },
    };
  });
  return { nodes, edges: flowEdges };
}

function LineageNode({ data, selected }: NodeProps<Node<NodeData>>) {
  const kind = data.node.type === "JOB" ? "job" : data.node.type === "DATASET" ? "dataset" : "field";
  return (
    <Box
      data-node-id={data.node.id}
      data-kind={kind}
      w={`${NODE_WIDTH}px`}
      h={`${NODE_HEIGHT}px`}
      px={2}
      py={1}
      bg="bg.panel"
      borderWidth={selected || data.start ? "2px" : "1px"}
      borderColor={selected ? "fg.info" : data.start ? "fg" : "border"}
      borderLeftWidth="6px"
      borderLeftColor={data.color}
      rounded={kind === "job" ? "md" : "full"}
      opacity={data.dimmed ? 0.35 : 1}
      boxShadow={data.highlighted ? "0 0 0 3px var(--chakra-colors-yellow-400)" : undefined}
      overflow="hidden"
    >
      <Handle type="target" position={Position.Left} />
      <Flex direction="column" lineHeight="1.2">
        <Text fontSize="xs" fontWeight="semibold" truncate title={data.label}>
          {kind === "job" ? "⚙ " : kind === "dataset" ? "▤ " : "• "}
          {data.label}
          {data.node.data.placeholder ? " (not seen yet)" : ""}
        </Text>
        <Text fontSize="2xs" color="fg.muted" truncate title={data.sublabel}>
          {data.sublabel}
        </Text>
      </Flex>
      <Handle type="source" position={Position.Right} />
    </Box>
  );
}

const nodeTypes = { lineage: LineageNode };

export interface GraphViewProps {
  graph: GraphNode[];
  colorBy: ColorBy;
  highlight: Set<string>;
  start: string | null;
  onNodeClick?: (node: GraphNode, additive: boolean) => void;
  onNodeDoubleClick?: (node: GraphNode) => void;
  onPlaced?: (placed: Placed) => void;
  height?: string;
}

function Flow({ graph, colorBy, highlight, start, onNodeClick, onNodeDoubleClick, onPlaced }: GraphViewProps) {
  const [placed, setPlaced] = useState<Placed>({ nodes: [], edges: [] });
  const flow = useReactFlow();
  const key = useMemo(() => graph.map((n) => n.id).join("|"), [graph]);
  useEffect(() => {
    let live = true;
    layout(graph, colorBy, highlight, start).then((result) => {
      if (!live) return;
      setPlaced(result);
      onPlaced?.(result);
      window.requestAnimationFrame(() => flow.fitView({ padding: 0.15, duration: 0, maxZoom: 1 }));
    });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, colorBy, highlight, start]);
  return (
    <ReactFlow
      nodes={placed.nodes}
      edges={placed.edges}
      nodeTypes={nodeTypes}
      nodesConnectable={false}
      onlyRenderVisibleElements
      minZoom={0.05}
      fitView
      fitViewOptions={{ maxZoom: 1, padding: 0.15 }}
      onNodeClick={(event, node) => onNodeClick?.(node.data.node, event.shiftKey || event.metaKey || event.ctrlKey)}
      onNodeDoubleClick={(_, node) => onNodeDoubleClick?.(node.data.node)}
      proOptions={{ hideAttribution: true }}
    >
      <Background />
      <Controls showInteractive={false} />
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
