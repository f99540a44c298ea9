// What a graph node tells at a glance: a job's latest run, a dataset's freshness, owner, failed
// checks and schema change; and the colour keys the explorer's "Colour by" picks from.
import type { Dataset, GraphNode, Job } from "./api";
import { integrationOf } from "./api";
import { colorOf, hueColor, hueOf } from "./format";

/** A dataset is late when the time since its last write passes this many of its usual write intervals (the legend says "twice"). */
export const LATE_AFTER_INTERVALS = 2;

export type Freshness = "fresh" | "late" | "irregular" | "never";

export const FRESHNESS_LABELS: Record<Freshness, string> = {
  fresh: "on time",
  late: "late (over twice its usual interval)",
  irregular: "too few writes to tell",
  never: "never written",
};

/** Colours with a meaning (run states, freshness): Chakra's, as values (exported SVG and PNG have no
 * stylesheet), readable on light and dark backgrounds alike. */
const PALETTE = {
  green: "#22c55e",
  red: "#ef4444",
  orange: "#fb923c",
  blue: "#3b82f6",
  gray: "#a1a1aa",
} as const;

export const STATE_COLORS: Record<string, string> = {
  COMPLETED: PALETTE.green,
  FAILED: PALETTE.red,
  ABORTED: PALETTE.orange,
  RUNNING: PALETTE.blue,
  NEW: PALETTE.gray,
};

export const FRESHNESS_COLORS: Record<Freshness, string> = {
  fresh: PALETTE.green,
  late: PALETTE.red,
  irregular: PALETTE.orange,
  never: PALETTE.gray,
};

/** Nodes the chosen colouring says nothing about (a dataset when colouring by run state). */
export const NEUTRAL = "#d4d4d8";

export function freshnessOf(dataset: Dataset, now: number): Freshness {
  if (!dataset.lastModifiedAt) return "never";
  if (!dataset.writeIntervalSeconds) return "irregular";
  const since = now - Date.parse(dataset.lastModifiedAt);
  return since > LATE_AFTER_INTERVALS * dataset.writeIntervalSeconds * 1000 ? "late" : "fresh";
}

/** "45 s", "12 min", "3 h", "5 d": a span rounded to its largest unit. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** An owner URN as people say it: `team:data` -> `data`, `user:jdoe` -> `jdoe`. */
export const ownerName = (urn: string): string => urn.slice(urn.indexOf(":") + 1) || urn;

export interface StatusPart {
  text: string;
  /** What the part means in full, for the tooltip and screen readers. */
  title: string;
  tone?: "bad" | "warn" | "good";
}

function jobStatus(job: Job): StatusPart[] {
  if (job.placeholder) return [{ text: "known as a parent only", title: "Known only as the parent of other jobs' runs" }];
  const run = job.latestRun;
  if (!run) return [{ text: "no run yet", title: "No run of this job was seen" }];
  const tone = run.state === "FAILED" ? "bad" : run.state === "ABORTED" ? "warn" : run.state === "COMPLETED" ? "good" : undefined;
  const parts: StatusPart[] = [{ text: run.state, title: `Latest run ${run.state}`, tone }];
  if (run.durationMs !== null && run.durationMs !== undefined) parts.push({ text: span(run.durationMs), title: `The latest run took ${span(run.durationMs)}` });
  return parts;
}

function datasetStatus(dataset: Dataset, now: number, since: number | null): StatusPart[] {
  const freshness = freshnessOf(dataset, now);
  const parts: StatusPart[] = [];
  if (dataset.lastModifiedAt) {
    const ago = span(now - Date.parse(dataset.lastModifiedAt));
    const usual = dataset.writeIntervalSeconds ? `, usually every ${span(dataset.writeIntervalSeconds * 1000)}` : "";
    parts.push({ text: freshness === "late" ? `late: ${ago} ago` : `${ago} ago`, title: `Last written ${ago} ago${usual}`, tone: freshness === "late" ? "bad" : undefined });
  } else {
    parts.push({ text: "never written", title: "No completed run wrote it" });
  }
  const failed = dataset.quality?.summary.failed ?? 0;
  if (failed) parts.push({ text: `${failed} failed`, title: `${failed} data-quality ${failed === 1 ? "check" : "checks"} failed`, tone: "bad" });
  if (dataset.schemaChangedAt && since !== null && Date.parse(dataset.schemaChangedAt) >= since) {
    parts.push({ text: "schema changed", title: `Its fields changed ${span(now - Date.parse(dataset.schemaChangedAt))} ago`, tone: "warn" });
  }
  if (dataset.owners.length) parts.push({ text: ownerName(dataset.owners[0].name), title: `Owned by ${dataset.owners.map((o) => o.name).join(", ")}` });
  return parts;
}

/** The node's status line: a job's latest run; a dataset's last write, failed checks, schema change and owner. */
export function statusOf(node: GraphNode, now: number, since: number | null): StatusPart[] {
  if (node.type === "JOB") return jobStatus(node.data);
  if (node.type === "DATASET") return datasetStatus(node.data, now, since);
  return [];
}

export type ColorBy = "namespace" | "integration" | "state" | "freshness" | "owner";

export const COLOR_BY_LABELS: Record<ColorBy, string> = {
  namespace: "Colour by namespace",
  integration: "Colour by integration",
  state: "Colour by run state",
  freshness: "Colour by freshness",
  owner: "Colour by owner",
};

/** Colourings whose colours come from the keys' names (`colorOf`), not from fixed meanings. */
const NAMED_COLORINGS: ReadonlySet<ColorBy> = new Set(["namespace", "integration", "owner"]);

/** Colours of one graph's keys, for a colouring by name: each key keeps its own hue (`hueOf`), unless
 * a more common key of the graph has one too close to tell apart; then it takes the middle of the
 * widest arc of hues left. Empty for the other colourings. */
export function paletteOf(nodes: GraphNode[], colorBy: ColorBy, now: number): Map<string, string> {
  const palette = new Map<string, string>();
  if (!NAMED_COLORINGS.has(colorBy)) return palette;
  const counts = new Map<string, number>();
  for (const n of nodes) {
    const { key } = colorKeyOf(n, colorBy, now);
    if (key !== null && !(colorBy === "owner" && key === "no owner")) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const keys = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || a.localeCompare(b));
  const gap = Math.min(24, 180 / Math.max(keys.length, 1));
  const taken: number[] = [];
  for (const key of keys) {
    let hue = hueOf(key);
    if (taken.some((t) => Math.min(Math.abs(t - hue), 360 - Math.abs(t - hue)) < gap)) hue = widestArcMiddle(taken);
    taken.push(hue);
    palette.set(key, hueColor(hue));
  }
  return palette;
}

/** The middle of the widest arc between these hues (0..359), rounded. */
function widestArcMiddle(hues: number[]): number {
  const sorted = [...hues].sort((a, b) => a - b);
  let best = { width: -1, middle: 0 };
  sorted.forEach((hue, i) => {
    const next = i + 1 < sorted.length ? sorted[i + 1] : sorted[0] + 360;
    if (next - hue > best.width) best = { width: next - hue, middle: Math.round(hue + (next - hue) / 2) % 360 };
  });
  return best.middle;
}

/** A node's colour key (shown in the legend) and colour, for one colouring; null key: nothing to say.
 * `palette`: the graph's colours by name (`paletteOf`), where a key's own would be too close to another's. */
export function colorKeyOf(node: GraphNode, colorBy: ColorBy, now: number, palette?: Map<string, string>): { key: string | null; color: string } {
  const named = (key: string) => palette?.get(key) ?? colorOf(key);
  switch (colorBy) {
    case "state": {
      if (node.type !== "JOB" || node.data.placeholder) return { key: null, color: NEUTRAL };
      const state = node.data.latestRun?.state ?? "NEW";
      return { key: state, color: STATE_COLORS[state] ?? PALETTE.gray };
    }
    case "freshness": {
      if (node.type !== "DATASET") return { key: null, color: NEUTRAL };
      const freshness = freshnessOf(node.data, now);
      return { key: freshness, color: FRESHNESS_COLORS[freshness] };
    }
    case "owner": {
      const owners = node.type === "DATASET_FIELD" ? [] : node.data.owners;
      const owner = owners.length ? ownerName(owners[0].name) : null;
      return { key: owner ?? "no owner", color: owner ? named(owner) : NEUTRAL };
    }
    case "integration": {
      const key = integrationOf(node) ?? (node.type === "JOB" ? "unknown" : node.data.namespace);
      return { key, color: named(key) };
    }
    default:
      return { key: node.data.namespace, color: named(node.data.namespace) };
  }
}

export interface LegendEntry {
  key: string;
  label: string;
  color: string;
  count: number;
}

export interface Legend {
  colorBy: ColorBy;
  entries: LegendEntry[];
  /** Keys left out past the limit. */
  more: number;
  /** Nodes and edges added and removed, when the graph compares two times. */
  changes?: { added: number; removed: number };
}

/** How a comparison of two times marks what appeared and what went. */
export const CHANGE_COLORS = { added: PALETTE.green, removed: PALETTE.red } as const;

/** A column edge whose transformation masks the value (a hash, a redaction). */
export const MASKED_COLOR = PALETTE.orange;

/** The legend of a colouring: each key with its colour and how many nodes have it, most first (the
 * fixed meanings of states and freshness in their own order); at most `limit` entries. */
export function legendOf(nodes: GraphNode[], colorBy: ColorBy, now: number, palette?: Map<string, string>, limit = 8): Legend {
  const counts = new Map<string, LegendEntry>();
  for (const n of nodes) {
    const { key, color } = colorKeyOf(n, colorBy, now, palette);
    if (key === null) continue;
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { key, label: colorBy === "freshness" ? FRESHNESS_LABELS[key as Freshness] : key, color, count: 1 });
  }
  const fixed = colorBy === "state" ? Object.keys(STATE_COLORS) : colorBy === "freshness" ? Object.keys(FRESHNESS_COLORS) : null;
  const entries = [...counts.values()].sort(fixed ? (a, b) => fixed.indexOf(a.key) - fixed.indexOf(b.key) : (a, b) => b.count - a.count || a.key.localeCompare(b.key));
  return { colorBy, entries: entries.slice(0, limit), more: Math.max(0, entries.length - limit) };
}
