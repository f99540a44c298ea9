// Node positions from the layout worker (layoutWorker.ts): one worker for the page, each request
// answered by its number.
import type { Box } from "./layeredLayout";

export interface PlacementRequest {
  id: number;
  nodes: { id: string; width: number; height: number }[];
  edges: { id: string; source: string; target: string }[];
}

export type PlacementAnswer = { id: number; positions: [string, Box][] } | { id: number; error: string };

let worker: Worker | null = null;
let asked = 0;
const waiting = new Map<number, { resolve: (positions: Map<string, Box>) => void; reject: (error: Error) => void }>();

function layoutWorker(): Worker {
  if (worker) return worker;
  worker = new Worker(new URL("./layoutWorker.ts", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }: MessageEvent<PlacementAnswer>) => {
    const request = waiting.get(data.id);
    waiting.delete(data.id);
    if ("error" in data) request?.reject(new Error(`laying the graph out failed: ${data.error}`));
    else request?.resolve(new Map(data.positions));
  };
  worker.onerror = (event) => {
    // A worker that failed to load or crashed answers nothing more: fail every request, start afresh next time.
    for (const request of waiting.values()) request.reject(new Error(`laying the graph out failed: ${event.message || "the layout worker did not start or stopped; reload the page"}`));
    waiting.clear();
    worker?.terminate();
    worker = null;
  };
  return worker;
}

/** Where each node goes, left to right in the direction data flows (top-left corners). */
export function place(nodes: PlacementRequest["nodes"], edges: PlacementRequest["edges"]): Promise<Map<string, Box>> {
  const id = ++asked;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    layoutWorker().postMessage({ id, nodes, edges } satisfies PlacementRequest);
  });
}
