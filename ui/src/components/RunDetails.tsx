// What a run's facets say beyond its state, as the API interprets them: the tree of runs it belongs
// to, the tests it executed, lineage its producer could not extract, its parameters and its engine.
// Every value is rendered as text.
import { Badge, Box, Flex, Table, Text } from "@chakra-ui/react";

import type { Run, Schemas } from "../api";
import { duration, when } from "../format";
import { useApi } from "../useApi";
import { JobLink, Muted, Name, PlainText, Problem, RunLink, Section, StateBadge } from "./Common";

type TreeRun = Schemas["TreeRun"];
type RunTest = Schemas["RunTest"];

const STATUS: Record<string, string> = { pass: "green", fail: "red", skip: "gray", error: "red", warn: "orange" };

/** Failures first (blocking ones before warnings), then the rest in the order sent. */
export function testsInOrder(tests: RunTest[]): RunTest[] {
  const rank = (t: RunTest) => (t.status?.toLowerCase() === "fail" ? (t.severity?.toLowerCase() === "warn" ? 1 : 0) : 2);
  return tests.map((t, i) => [t, i] as const).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([t]) => t);
}

export function RunTests({ tests }: { tests: RunTest[] }) {
  const failed = tests.filter((t) => t.status?.toLowerCase() === "fail").length;
  return (
    <Section title={`Tests (${tests.length}${failed ? `, ${failed} failed` : ""})`}>
      <Table.Root size="sm" variant="line" data-testid="run-tests">
        <Table.Header>
          <Table.Row>
            {["Test", "Result", "Severity", "Kind", "Expected", "Actual"].map((h) => (
              <Table.ColumnHeader key={h}>{h}</Table.ColumnHeader>
            ))}
          </Table.Row>
        </Table.Header>
        <Table.Body>
          {testsInOrder(tests).map((t, i) => (
            <Table.Row key={`${t.name}-${i}`} data-testid="run-test" data-status={t.status ?? ""}>
              <Table.Cell fontFamily="mono" title={t.description ?? undefined}>
                <Name value={t.name} />
                {t.content && (
                  <Box mt={1} fontFamily="body">
                    <details>
                      <summary>
                        <Muted>{t.contentType ?? "content"}</Muted>
                      </summary>
                      <PlainText text={t.content} maxHeight="12rem" />
                    </details>
                  </Box>
                )}
              </Table.Cell>
              <Table.Cell>
                <Badge colorPalette={STATUS[t.status?.toLowerCase() ?? ""] ?? "gray"} variant={t.status?.toLowerCase() === "fail" ? "solid" : "subtle"}>
                  {t.status ?? "unknown"}
                </Badge>
              </Table.Cell>
              <Table.Cell>{t.severity ?? "—"}</Table.Cell>
              <Table.Cell>{t.type ?? "—"}</Table.Cell>
              <Table.Cell>{t.expected ?? "—"}</Table.Cell>
              <Table.Cell>{t.actual ?? "—"}</Table.Cell>
            </Table.Row>
          ))}
        </Table.Body>
      </Table.Root>
    </Section>
  );
}

export function ExtractionErrors({ found }: { found: NonNullable<Run["extractionError"]> }) {
  const counted = found.failedTasks !== null && found.totalTasks !== null ? ` (${found.failedTasks} of ${found.totalTasks} tasks failed)` : "";
  return (
    <Section title="Lineage incomplete">
      <Box role="status" p={3} rounded="md" bg="bg.warning" color="fg.warning" mb={2} data-testid="extraction-error">
        The producer could not extract all of this run's lineage{counted}: datasets or columns it read or wrote may be missing.
      </Box>
      {found.errors.map((e, i) => (
        <Box key={i} mb={2}>
          <Text>{e.errorMessage}</Text>
          {e.task && (
            <Muted>
              on task {e.taskNumber !== null ? `#${e.taskNumber} ` : ""}
              <Name value={e.task} />
            </Muted>
          )}
          {e.stackTrace && <PlainText text={e.stackTrace} maxHeight="12rem" />}
        </Box>
      ))}
    </Section>
  );
}

export function RunParameters({ run }: { run: Run }) {
  const engine = run.engine;
  return (
    <Section title="Parameters">
      {engine && (
        <Text mb={2} data-testid="run-engine">
          Engine: {engine.name ?? "unknown"} {engine.version ?? ""}
          {engine.openlineageAdapterVersion && <Muted> · OpenLineage integration {engine.openlineageAdapterVersion}</Muted>}
        </Text>
      )}
      {run.parameters.length > 0 && (
        <Table.Root size="sm" variant="line" maxW="48rem" data-testid="run-parameters">
          <Table.Body>
            {run.parameters.map((p) => (
              <Table.Row key={p.key}>
                <Table.Cell fontFamily="mono" title={p.description ?? undefined}>
                  <Name value={p.name ?? p.key} />
                </Table.Cell>
                <Table.Cell fontFamily="mono">{p.value === null ? <Muted>no value</Muted> : <Name value={p.value} />}</Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table.Root>
      )}
    </Section>
  );
}

const runKey = (job: { namespace: string; name: string }, runId: string) => `${job.namespace}\u0000${job.name}\u0000${runId}`;

/** Runs in tree order: each run followed by its children, oldest start first. */
export function treeRows(runs: TreeRun[]): { run: TreeRun; depth: number }[] {
  const children = new Map<string | null, TreeRun[]>();
  for (const r of runs) {
    const parent = r.parentRunId !== null && r.parentJob ? runKey(r.parentJob, r.parentRunId) : null;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const rows: { run: TreeRun; depth: number }[] = [];
  const seen = new Set<TreeRun>();
  const visit = (r: TreeRun, depth: number) => {
    if (seen.has(r)) return;
    seen.add(r);
    rows.push({ run: r, depth });
    for (const child of children.get(runKey(r.job, r.runId)) ?? []) visit(child, depth + 1);
  };
  for (const r of children.get(null) ?? []) visit(r, 0);
  for (const r of runs) visit(r, 0); // anything the walk from the top did not reach
  return rows;
}

export function RunTree({ runId, namespace, job }: { runId: string; namespace: string; job: string }) {
  const tree = useApi("jobs/runs/{run_id}/tree", { path: { run_id: runId }, query: { limit: 500, namespace, job } });
  if (tree.error) return <Problem message={tree.error} />;
  if (!tree.data || tree.data.runs.length < 2) return null;
  const { runs, truncated } = tree.data;
  return (
    <Section title={`Run tree (${runs.length} runs${truncated ? ", more not shown" : ""})`}>
      <Box data-testid="run-tree">
        {treeRows(runs).map(({ run, depth }) => (
          <Flex key={runKey(run.job, run.runId)} gap={2} align="center" pl={`${depth * 1.25}rem`} py={0.5} data-testid="tree-run" data-current={run.runId === runId || undefined} fontWeight={run.runId === runId ? "semibold" : undefined}>
            <StateBadge state={run.placeholder ? "NEW" : run.state} />
            <JobLink namespace={run.job.namespace} name={run.job.name} />
            <RunLink runId={run.runId} job={run.job} />
            <Muted>
              {run.placeholder ? "known only as a parent" : `${when(run.startedAt)} · ${duration(run.durationMs)}`}
            </Muted>
          </Flex>
        ))}
      </Box>
    </Section>
  );
}
