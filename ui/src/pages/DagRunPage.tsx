// The "Lineage" tab of a DAG run: its task runs and the Spark, dbt or other runs they started, on
// one timeline with their states, durations, inputs and outputs; the runs whose writes triggered
// it (asset events) and the DAG runs its writes triggered.
import { Box, Flex, Link, Table, Text } from "@chakra-ui/react";

import { DatasetLink, JobLink, Loading, Muted, Name, Problem, RunLink, Section, StateBadge } from "../components/Common";
import type { components } from "../generated/openapi";
import { duration, when } from "../format";
import { airflowPage, type Route } from "../route";
import { useApi } from "../useApi";

type TraceRun = components["schemas"]["TraceRun"];

const STATE_COLORS: Record<string, string> = {
  COMPLETED: "var(--chakra-colors-green-500)",
  FAILED: "var(--chakra-colors-red-500)",
  ABORTED: "var(--chakra-colors-orange-500)",
  RUNNING: "var(--chakra-colors-blue-500)",
};

/** A run's bar on the timeline: where it starts and how long it took, within the trace's span. */
function Bar({ run, from, span }: { run: TraceRun; from: number; span: number }) {
  if (!run.startedAt) return <Muted>not started</Muted>;
  const start = Date.parse(run.startedAt) - from;
  const end = run.endedAt ? Date.parse(run.endedAt) - from : span;
  const left = span > 0 ? (100 * start) / span : 0;
  const width = span > 0 ? Math.max((100 * (end - start)) / span, 0.8) : 100;
  return (
    <Box position="relative" h="0.9rem" minW="12rem" bg="bg.muted" rounded="sm" title={`${when(run.startedAt)} → ${run.endedAt ? when(run.endedAt) : "running"}`}>
      <Box position="absolute" top={0} bottom={0} left={`${left}%`} width={`${Math.min(width, 100 - left)}%`} rounded="sm" style={{ background: STATE_COLORS[run.state] ?? "var(--chakra-colors-gray-500)" }} />
    </Box>
  );
}

function depthOf(run: TraceRun, byId: Map<string, TraceRun>): number {
  let depth = 0;
  for (let at = run.parentRunId; at && depth < 20; at = byId.get(at)?.parentRunId ?? null) depth += 1;
  return depth;
}

/** The runs as a tree, each run followed by the runs below it, siblings in the trace's order: the
 * indentation then reads as nesting, also when a task's run started at the same moment as its DAG run's. */
function treeOrder(runs: TraceRun[], byId: Map<string, TraceRun>): TraceRun[] {
  const children = new Map<string | null, TraceRun[]>();
  for (const r of runs) {
    const parent = r.parentRunId !== null && byId.has(r.parentRunId) && r.parentRunId !== r.runId ? r.parentRunId : null;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const ordered: TraceRun[] = [];
  const seen = new Set<string>();
  const visit = (r: TraceRun) => {
    if (seen.has(r.runId)) return;
    seen.add(r.runId);
    ordered.push(r);
    for (const child of children.get(r.runId) ?? []) visit(child);
  };
  for (const r of children.get(null) ?? []) visit(r);
  for (const r of runs) visit(r); // runs in a loop of parents, which no root leads to
  return ordered;
}

export function DagRunPage({ route }: { route: Route }) {
  const [dagId = "", dagRunId = ""] = route.parts;
  const found = useApi("airflow/dag-runs/{dag_id}/{dag_run_id}/trace", { path: { dag_id: dagId, dag_run_id: dagRunId } });
  if (found.error) {
    return (
      <Box p={2} data-testid="no-trace">
        <Text>The catalog has no OpenLineage events of this DAG run yet.</Text>
        <Muted>{found.error}</Muted>
      </Box>
    );
  }
  if (!found.data) return <Loading what="the DAG run's trace" />;
  const t = found.data;
  const byId = new Map(t.runs.map((r) => [r.runId, r]));
  const starts = t.runs.filter((r) => r.startedAt).map((r) => Date.parse(r.startedAt as string));
  const ends = t.runs.map((r) => (r.endedAt ? Date.parse(r.endedAt) : 0)); // a running run reaches the end
  const from = starts.length ? Math.min(...starts) : 0;
  const span = starts.length ? Math.max(...ends, ...starts) - from : 0;
  return (
    <Box p={1}>
      {t.upstream.length > 0 && (
        <Section title="Triggered by">
          <Box data-testid="trace-upstream">
            {t.upstream.map((u, i) => (
              <Text key={i} fontSize="sm">
                <JobLink namespace={u.job.namespace} name={u.job.name} /> {u.runId && <RunLink runId={u.runId} job={u.job} />} {u.dependencyType && <Muted>{u.dependencyType.toLowerCase().replace(/_/g, " ")}</Muted>}
              </Text>
            ))}
          </Box>
        </Section>
      )}
      <Section title="Runs">
        {t.truncated && <Problem message="More runs than shown: the trace was cut." />}
        <Box overflowX="auto">
        <Table.Root size="sm" data-testid="trace-runs">
          <Table.Header>
            <Table.Row>
              <Table.ColumnHeader>Job</Table.ColumnHeader>
              <Table.ColumnHeader>State</Table.ColumnHeader>
              <Table.ColumnHeader>Timeline</Table.ColumnHeader>
              <Table.ColumnHeader>Duration</Table.ColumnHeader>
              <Table.ColumnHeader>Read</Table.ColumnHeader>
              <Table.ColumnHeader>Wrote</Table.ColumnHeader>
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {treeOrder(t.runs, byId).map((r) => (
              <Table.Row key={r.runId} data-testid="trace-run">
                <Table.Cell>
                  <Box pl={`${depthOf(r, byId) * 1.2}rem`}>
                    <JobLink namespace={r.job.namespace} name={r.job.name} /> <RunLink runId={r.runId} job={r.job} />
                  </Box>
                </Table.Cell>
                <Table.Cell>
                  <StateBadge state={r.state} />
                </Table.Cell>
                <Table.Cell>
                  <Bar run={r} from={from} span={span} />
                </Table.Cell>
                <Table.Cell>{duration(r.durationMs)}</Table.Cell>
                <Table.Cell>
                  {r.inputs.map((d) => (
                    <Box key={`${d.namespace}\u0000${d.name}`}>
                      <DatasetLink namespace={d.namespace} name={d.name} />
                    </Box>
                  ))}
                </Table.Cell>
                <Table.Cell>
                  {r.outputs.map((d) => (
                    <Box key={`${d.namespace}\u0000${d.name}`}>
                      <DatasetLink namespace={d.namespace} name={d.name} />
                    </Box>
                  ))}
                </Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table.Root>
        </Box>
      </Section>
      {t.downstream.length > 0 && (
        <Section title="Triggered">
          <Box data-testid="trace-downstream">
            {t.downstream.map((d) => (
              <Flex key={d.runId} gap={2} align="center" fontSize="sm" wrap="wrap">
                <StateBadge state={d.state} />
                {d.airflow ? (
                  <Link href={airflowPage({ ...d.airflow, taskId: null, mapIndex: null })} target="_top" color="fg.info">
                    <Name value={`${d.airflow.dagId} › ${d.airflow.dagRunId}`} />
                  </Link>
                ) : (
                  <JobLink namespace={d.job.namespace} name={d.job.name} />
                )}
                <RunLink runId={d.runId} />
                <Muted>
                  started {when(d.startedAt)}, after {d.after.map((a) => byId.get(a)?.job.name ?? a).join(", ")}
                </Muted>
              </Flex>
            ))}
          </Box>
        </Section>
      )}
    </Box>
  );
}
