// Lays graphs out off the main thread: the page stays responsive while ELK (small graphs) or the
// linear layered layout (big ones) places the nodes. Asked and answered by placement.ts.
import ELK from "elkjs/lib/elk.bundled.js";

import { layeredLayout, type Box } from "./layeredLayout";
import type { PlacementAnswer, PlacementRequest } from "./placement";

// Past this size ELK takes seconds; the layered layout takes milliseconds.
const FAST_LAYOUT_NODES = 400;

const elk = new ELK();

async function place({ nodes, edges }: PlacementRequest): Promise<Map<string, Box>> {
  if (nodes.length > FAST_LAYOUT_NODES) {
    const heights = new Map(nodes.map((n) => [n.id, n.height]));
    return layeredLayout(
      nodes.map((n) => n.id),
      edges,
      Math.max(...nodes.map((n) => n.width)),
      (id) => heights.get(id)!,
    );
  }
  const placed = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.spacing.nodeNode": "18",
      // React Flow draws the edges, so ELK's cheapest routing will do.
      "elk.edgeRouting": "POLYLINE",
      "elk.layered.thoroughness": nodes.length > 200 ? "1" : "7",
    },
    children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  return new Map((placed.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
}

const worker = self as unknown as { onmessage: ((event: MessageEvent<PlacementRequest>) => void) | null; postMessage: (answer: PlacementAnswer) => void };
worker.onmessage = ({ data }) => {
  place(data).then(
    (positions) => worker.postMessage({ id: data.id, positions: [...positions] }),
    (error: unknown) => worker.postMessage({ id: data.id, error: String(error) }),
  );
};
