// The lineage explorer: depths, attempted edges, as-of time, column mode, expand in place,
// path between two nodes, collapse child jobs, colours, export.
import { Box, Button, Flex, Heading, Input, Link, NativeSelect, Text } from "@chakra-ui/react";
import { useEffect, useMemo, useState } from "react";

import { ApiError, getJson, lineageNodes, type GraphNode } from "../api";
import { columnCards, traceColumn, wayOf } from "../columnCards";
import { currentMode } from "../colorMode";
import { Loading, Muted, Name, Problem } from "../components/Common";
import { SearchBox } from "../components/SearchBox";
import { LineageGraph, pathBetween, type Placed } from "../components/LineageGraph";
import { exportJson, exportPng, exportSvg } from "../exportGraph";
import { collapseChildren, diffGraphs, mergeGraphs, type GraphDiff } from "../graphModel";
import { COLOR_BY_LABELS, type ColorBy } from "../nodeStatus";
import { href, navigate, type Route } from "../route";

const LARGE = 300;

/** Schema changes shown on nodes, unless the page says since when: those of the last week. */
const RECENT_MS = 7 * 24 * 3600 * 1000;

function pageOf(node: GraphNode): string | null {
  if (node.type === "JOB") return href("job", { ns: node.data.namespace, name: node.data.name });
  if (node.type === "DATASET") return href("dataset", { ns: node.data.namespace, name: node.data.name });
  return href("dataset", { ns: node.data.namespace, name: node.data.dataset ?? "" });
}

/** A job starts with the jobs below it: a DAG or a dbt run's parent has no lineage of its own, its
 * tasks and models have (for any other job this changes nothing). */
const withChildren = (id: string): boolean => id.startsWith("job:");

function Check({ label, checked, onChange }: { label: string; checked: boolean; onChange: (value: boolean) => void }) {
  return (
    <Flex as="label" align="center" gap={1} cursor="pointer">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-label={label} />
      <Text>{label}</Text>
    </Flex>
  );
}

/** The side panel of a comparison: what appeared and went between two times, and whose fields changed. */
function Changes({ diff, graph, from, to }: { diff: GraphDiff; graph: GraphNode[]; from: number; to: number | null }) {
  const byId = new Map(graph.map((n) => [n.id, n]));
  const named = (change: "added" | "removed") =>
    [...diff.nodes].filter(([, c]) => c === change).map(([id]) => byId.get(id)).filter((n): n is GraphNode => n !== undefined);
  const edges = (change: "added" | "removed") => [...diff.edges.values()].filter((c) => c === change).length;
  const reshaped = graph.filter((n) => {
    const at = n.type === "DATASET" && n.data.schemaChangedAt ? Date.parse(n.data.schemaChangedAt) : null;
    return at !== null && at >= from && (to === null || at <= to);
  });
  const list = (title: string, nodes: GraphNode[], testId: string) => (
    <Box data-testid={testId} mb={2}>
      <Text fontWeight="semibold">
        {title} ({nodes.length})
      </Text>
      {nodes.slice(0, 50).map((n) => (
        <Text key={n.id} fontSize="xs" wordBreak="break-all">
          {n.type === "JOB" ? "⚙ " : "▤ "}
          <Link href={pageOf(n) ?? undefined}>
            <Name value={n.type === "DATASET_FIELD" ? (n.data.field ?? "") : n.data.name} />
          </Link>
        </Text>
      ))}
      {nodes.length > 50 && <Muted>and {nodes.length - 50} more</Muted>}
    </Box>
  );
  return (
    <Box fontSize="sm" data-testid="graph-changes">
      <Heading size="sm" mb={2}>
        What changed
      </Heading>
      {list("Added", named("added"), "changes-added")}
      {list("Removed", named("removed"), "changes-removed")}
      <Text mb={2} data-testid="changes-edges">
        Edges: {edges("added")} added, {edges("removed")} removed
      </Text>
      {list("Schema changed", reshaped, "changes-schema")}
    </Box>
  );
}

/** Where a column comes from: each input column and every way the producer said it derives from it. */
function ColumnInputs({ node }: { node: GraphNode }) {
  if (node.type !== "DATASET_FIELD") return null;
  const inputs = node.data.inputFields;
  return (
    <Box mt={3} fontSize="xs" data-testid="column-inputs">
      <Text fontWeight="semibold">{inputs.length ? `Comes from (${inputs.length})` : "No input column known"}</Text>
      {inputs.map((i) => (
        <Box key={`${i.namespace}:${i.dataset}:${i.field}`} mt={1}>
          <Text wordBreak="break-all">
            <Name value={i.dataset} />.<Name value={i.field || "(whole dataset)"} />
          </Text>
          {i.transformations.map((t, n) => (
            <Text key={n} color="fg.muted">
              <Name value={wayOf(t)} />
            </Text>
          ))}
        </Box>
      ))}
    </Box>
  );
}

export function GraphPage({ route }: { route: Route }) {
  const p = route.params;
  const start = p.get("node");
  // Where the starting node's namespace ends, when its id can be read more than one way (the pages
  // that link here know it); without it the id is read as the API reads it.
  const startNs = p.get("ns") ?? undefined;
  const explicitDepth = p.has("up") || p.has("down");
  const up = Number(p.get("up") ?? 2);
  const down = Number(p.get("down") ?? 2);
  const attempted = p.get("attempted") === "true";
  const columns = p.get("columns") === "true";
  const collapse = p.get("collapse") === "true";
  const asOf = p.get("asOf") ?? "";
  // The graph as of that time; a text that is no time is said so, not sent.
  const asOfTime = asOf ? Date.parse(asOf) : null;
  const asOfQuery = asOfTime === null || Number.isNaN(asOfTime) ? null : new Date(asOfTime).toISOString();
  const asOfProblem = asOf && asOfQuery === null ? `asOf ${JSON.stringify(asOf)} is not a date and time` : null;
  const colorBy: ColorBy = (p.get("color") ?? "") in COLOR_BY_LABELS ? (p.get("color") as ColorBy) : "namespace";
  const sinceParam = p.get("since") ?? "";
  const compare = p.get("compare") ?? "";
  // The default is fixed when the page opens: a moving one would lay the graph out again at every render.
  const [openedAt] = useState(() => Date.now());
  // Schema changes since: the time asked for, else the compared time, else a week ago.
  const since = sinceParam ? Date.parse(sinceParam) : compare ? Date.parse(compare) : openedAt - RECENT_MS;
  const set = (changes: Record<string, string | number | boolean | null>) => {
    const next: Record<string, string> = Object.fromEntries(p.entries());
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === false || v === "") delete next[k];
      else next[k] = String(v);
    }
    navigate(href("graph", next), true);
  };

  const [base, setBase] = useState<{ key: string; graph: GraphNode[]; truncated: boolean; reduced: boolean } | null>(null);
  const [extra, setExtra] = useState<GraphNode[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [placed, setPlaced] = useState<Placed | null>(null);
  // Datasets opened to their columns on the graph.
  const [opened, setOpened] = useState<ReadonlySet<string>>(new Set());
  const key = JSON.stringify([start, startNs, up, down, attempted, columns, asOf]);
  // Another graph starts clean: no error, expansions or selection of the previous one (set during render).
  const [cleanFor, setCleanFor] = useState(key);
  if (cleanFor !== key) {
    setCleanFor(key);
    setError(null);
    setExtra([]);
    setSelected([]);
    setOpened(new Set());
  }

  useEffect(() => {
    if (!start || asOfProblem) return;
    let live = true;
    const fetchGraph = (u: number, d: number) =>
      columns
        ? getJson("column-lineage", { query: { nodeId: start, namespace: startNs, depth: Math.max(u, d), withDownstream: d > 0 } }).then((b) => ({ graph: b.graph as GraphNode[], truncated: false }))
        : getJson("lineage", { query: { nodeId: start, namespace: startNs, upDepth: u, downDepth: d, includeAttempted: attempted, asOf: asOfQuery, withChildren: withChildren(start) } }).then((b) => ({
            graph: lineageNodes(b.graph) as GraphNode[],
            truncated: b.truncated,
          }));
    fetchGraph(up, down)
      .then(async (body) => {
        // On a large graph, start with one hop each way unless depths were asked for.
        if (!explicitDepth && body.graph.length > LARGE) return { ...(await fetchGraph(1, 1)), reduced: true };
        return { ...body, reduced: false };
      })
      .then(
        (body) => live && setBase({ key, graph: body.graph, truncated: body.truncated, reduced: body.reduced }),
        (e: Error) => live && setError(e.message),
      );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  // "What changed": the same graph as it stood at the `compare` time (the node may not have existed then).
  const [earlier, setEarlier] = useState<{ key: string; graph: GraphNode[] } | null>(null);
  const compareKey = JSON.stringify([key, compare, base?.reduced]);
  useEffect(() => {
    if (!start || !compare || columns || !base || base.key !== key || Number.isNaN(Date.parse(compare))) return;
    let live = true;
    const [u, d] = base.reduced ? [1, 1] : [up, down];
    getJson("lineage", { query: { nodeId: start, namespace: startNs, upDepth: u, downDepth: d, includeAttempted: attempted, asOf: new Date(compare).toISOString(), withChildren: withChildren(start) } })
      .then(
        (b) => lineageNodes(b.graph) as GraphNode[],
        (e: Error) => (e instanceof ApiError && e.status === 404 ? [] : Promise.reject(e)),
      )
      .then(
        (graph) => live && setEarlier({ key: compareKey, graph }),
        (e: Error) => live && setError(e.message),
      );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [compareKey]);

  const comparing = compare !== "" && !columns;
  const earlierGraph = earlier?.key === compareKey ? earlier.graph : null;
  const diff: GraphDiff | null = useMemo(() => {
    if (!comparing || !base || base.key !== key || !earlierGraph) return null;
    return diffGraphs(earlierGraph, mergeGraphs(base.graph, extra));
  }, [comparing, base, key, earlierGraph, extra]);

  const graph = useMemo(() => {
    if (!base || base.key !== key) return null;
    if (comparing) return diff?.graph ?? null; // both times' nodes, child jobs as they are
    const merged = mergeGraphs(base.graph, extra);
    return collapse && !columns ? collapseChildren(merged) : merged;
  }, [base, extra, collapse, columns, key, comparing, diff]);
  const highlight = useMemo(() => {
    if (!graph) return new Set<string>();
    if (selected.length === 2) return pathBetween(graph, selected[0], selected[1]);
    // A column clicked: its lineage both ways, the other columns dimmed.
    if (columns && selected.length === 1) return traceColumn(columnCards(graph).edges, selected[0]);
    return new Set<string>();
  }, [graph, selected, columns]);
  const chosen = graph?.find((n) => n.id === selected[selected.length - 1]) ?? null;

  const expand = (node: GraphNode) => {
    if (node.type === "DATASET_FIELD") return;
    getJson("lineage", { query: { nodeId: node.id, namespace: node.data.namespace, depth: 1, includeAttempted: attempted, asOf: asOfQuery, withChildren: withChildren(node.id) } }).then(
      (body) => setExtra((old) => mergeGraphs(old, lineageNodes(body.graph))),
      (e: Error) => setError(e.message),
    );
  };

  if (!start) {
    return (
      <Box>
        <Heading size="lg" mb={3}>
          Lineage graph
        </Heading>
        <Text mb={2}>Find a dataset or job to start from:</Text>
        <SearchBox />
      </Box>
    );
  }
  const name = start.replace(/[^a-zA-Z0-9._-]+/g, "_").slice(0, 80);
  return (
    <Box>
      <Flex gap={4} align="center" wrap="wrap" mb={3} fontSize="sm" data-testid="graph-toolbar">
        <Flex align="center" gap={1}>
          <Text>Upstream</Text>
          <Input size="xs" w="4rem" type="number" min={0} max={20} aria-label="Upstream depth" value={up} onChange={(e) => set({ up: e.target.value, down })} />
        </Flex>
        <Flex align="center" gap={1}>
          <Text>Downstream</Text>
          <Input size="xs" w="4rem" type="number" min={0} max={20} aria-label="Downstream depth" value={down} onChange={(e) => set({ down: e.target.value, up })} />
        </Flex>
        <Check label="Columns" checked={columns} onChange={(v) => set({ columns: v })} />
        <Check label="Attempted edges" checked={attempted} onChange={(v) => set({ attempted: v })} />
        <Check label="Collapse child jobs" checked={collapse} onChange={(v) => set({ collapse: v })} />
        <Flex align="center" gap={1}>
          <Text>As of</Text>
          <Input size="xs" w="13rem" type="datetime-local" aria-label="As of" value={asOf} onChange={(e) => set({ asOf: e.target.value })} />
        </Flex>
        <Flex align="center" gap={1}>
          <Text>Changes since</Text>
          <Input size="xs" w="13rem" type="datetime-local" aria-label="Compare with the graph at" value={compare} disabled={columns} onChange={(e) => set({ compare: e.target.value })} />
        </Flex>
        <Flex align="center" gap={1}>
          <Text>Schema changes since</Text>
          <Input size="xs" w="13rem" type="datetime-local" aria-label="Schema changes since" value={sinceParam} onChange={(e) => set({ since: e.target.value })} />
          {!sinceParam && <Text color="fg.muted">{compare ? "(empty: the compared time)" : "(empty: a week ago)"}</Text>}
        </Flex>
        <NativeSelect.Root size="xs" w="12rem">
          <NativeSelect.Field aria-label="Colour by" value={colorBy} onChange={(e) => set({ color: e.target.value })}>
            {Object.entries(COLOR_BY_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </NativeSelect.Field>
        </NativeSelect.Root>
        <Flex gap={1}>
          <Button size="xs" variant="outline" disabled={!placed} onClick={() => placed && exportPng(placed, name, currentMode() === "dark")}>
            PNG
          </Button>
          <Button size="xs" variant="outline" disabled={!placed} onClick={() => placed && exportSvg(placed, name, currentMode() === "dark")}>
            SVG
          </Button>
          <Button size="xs" variant="outline" disabled={!placed} onClick={() => placed && exportJson(placed, name)}>
            JSON
          </Button>
        </Flex>
      </Flex>
      {(asOfProblem ?? error) && <Problem message={asOfProblem ?? error ?? ""} />}
      {base?.reduced && <Muted>A large graph: showing one hop each way. Set the depths to see more, or expand nodes.</Muted>}
      {base?.truncated && <Muted> The graph was cut at the size limit.</Muted>}
      <Flex gap={3}>
        <Box flex="1" minW={0}>
          {graph ? (
            <LineageGraph
              graph={graph}
              colorBy={colorBy}
              since={Number.isNaN(since) ? null : since}
              diff={diff}
              highlight={highlight}
              start={start}
              onPlaced={setPlaced}
              onNodeClick={(node, additive) => setSelected((old) => (additive && old.length ? [old[old.length - 1], node.id] : [node.id]))}
              onNodeDoubleClick={expand}
              expanded={opened}
              onToggleColumns={(dataset) =>
                setOpened((old) => {
                  const next = new Set(old);
                  if (!next.delete(dataset)) next.add(dataset);
                  return next;
                })
              }
              onRow={(column, additive) => {
                // A column of a card traces; a column of a dataset opened on the table graph opens its column lineage.
                if (columns) setSelected((old) => (additive && old.length ? [old[old.length - 1], column] : [column]));
                else set({ node: column, ns: null, columns: true }); // a column's id reads one way only (api.ts fieldNodeId)
              }}
              onNodeOpen={(node) => {
                const page = pageOf(node);
                if (page) navigate(page);
              }}
            />
          ) : (
            !error && !asOfProblem && <Loading what="the graph" />
          )}
        </Box>
        <Box w="18rem" flexShrink={0} borderWidth="1px" rounded="md" p={3} data-testid="node-panel">
          {chosen ? (
            <Box>
              <Text fontSize="xs" color="fg.muted">
                {chosen.type === "JOB" ? "Job" : chosen.type === "DATASET" ? "Dataset" : "Column"} · <Name value={chosen.data.namespace} />
              </Text>
              <Heading size="sm" wordBreak="break-all" mb={2}>
                {chosen.type === "DATASET_FIELD" ? (
                  <>
                    <Name value={chosen.data.dataset ?? ""} />.<Name value={chosen.data.field ?? ""} />
                  </>
                ) : (
                  <Name value={chosen.data.name} />
                )}
              </Heading>
              <Flex direction="column" gap={2}>
                {pageOf(chosen) && <Link href={pageOf(chosen)!}>Open its page</Link>}
                {chosen.type !== "DATASET_FIELD" && (
                  <Button size="xs" onClick={() => expand(chosen)}>
                    Expand one hop
                  </Button>
                )}
                <Button size="xs" variant="outline" onClick={() => set({ node: chosen.id, ns: chosen.data.namespace })}>
                  Start from here
                </Button>
              </Flex>
              {chosen.type === "DATASET_FIELD" && <ColumnInputs node={chosen} />}
              {selected.length === 2 && (
                <Text mt={3} fontSize="xs">
                  {highlight.size ? `Path of ${highlight.size} nodes highlighted.` : "No path joins the two selected nodes."}
                </Text>
              )}
            </Box>
          ) : diff ? (
            <Changes diff={diff} graph={graph ?? []} from={Date.parse(compare)} to={asOf ? Date.parse(asOf) : null} />
          ) : (
            <Muted>
              {columns
                ? "Click a column to trace its lineage both ways (the other columns dim); shift-click a second column to highlight the path between them. Solid edges carry the value (DIRECT), dashed ones only decide rows (INDIRECT), orange ones mask it; hover an edge for how. From the keyboard: Tab to a column, Enter to trace it."
                : "Click a node to see it; shift-click a second node to highlight the path between them; double-click to expand; ▸ opens a dataset's columns. From the keyboard: Tab to a node, Enter to select it (Shift+Enter for the path), E to expand, O to open its page."}
            </Muted>
          )}
        </Box>
      </Flex>
    </Box>
  );
}
