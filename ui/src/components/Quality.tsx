// A dataset's data quality: the newest test results (dbt-ol, Great Expectations) grouped by column,
// with the run that checked them, and the newest metrics. Every value is rendered as text.
import { Badge, Box, Flex, Table, Text } from "@chakra-ui/react";

import type { DatasetQuality, QualityAssertion } from "../api";
import { when } from "../format";
import { useApi } from "../useApi";
import { JobLink, Muted, Name, RunLink, Section } from "./Common";

const RESULT = {
  passed: { color: "green", mark: "✓" },
  failed: { color: "red", mark: "✗" },
  unknown: { color: "gray", mark: "?" },
} as const;

export const resultOf = (a: QualityAssertion): keyof typeof RESULT => (a.success === true ? "passed" : a.success === false ? "failed" : "unknown");

/** The columns with a failing test, each with the names of its failed tests. */
export function failingColumns(quality: DatasetQuality | null): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const a of quality?.assertions ?? []) {
    if (a.success !== false || a.column === null) continue;
    found.set(a.column, [...(found.get(a.column) ?? []), a.name ?? a.assertion]);
  }
  return found;
}

function describe(a: QualityAssertion): string {
  return [
    a.name,
    a.severity && `severity ${a.severity}`,
    a.expected !== null && `expected ${a.expected}`,
    a.actual !== null && `actual ${a.actual}`,
    a.eventTime && `checked ${when(a.eventTime)}${a.runId ? ` by run ${a.runId}` : ""}`,
  ]
    .filter(Boolean)
    .join(" · ");
}

function AssertionBadge({ a }: { a: QualityAssertion }) {
  const result = resultOf(a);
  return (
    <Badge
      colorPalette={RESULT[result].color}
      variant={result === "failed" ? "solid" : "subtle"}
      title={describe(a) || undefined}
      data-testid="assertion"
      data-result={result}
      maxW="100%"
      whiteSpace="normal"
      wordBreak="break-all"
    >
      {RESULT[result].mark} {a.assertion}
      {result === "failed" && a.actual !== null ? ` (${a.actual})` : ""}
    </Badge>
  );
}

/** Assertions by column, the whole dataset's first; columns in the order their first test came. */
function byColumn(assertions: QualityAssertion[]): [string | null, QualityAssertion[]][] {
  const groups = new Map<string | null, QualityAssertion[]>();
  for (const a of [...assertions.filter((a) => a.column === null), ...assertions.filter((a) => a.column !== null)]) {
    groups.set(a.column, [...(groups.get(a.column) ?? []), a]);
  }
  return [...groups.entries()];
}

function Metrics({ metrics }: { metrics: NonNullable<DatasetQuality["metrics"]> }) {
  const columns = Object.entries(metrics.columnMetrics);
  const totals = [
    metrics.rowCount !== null && `${metrics.rowCount.toLocaleString()} rows`,
    metrics.bytes !== null && `${metrics.bytes.toLocaleString()} bytes`,
    metrics.fileCount !== null && `${metrics.fileCount.toLocaleString()} files`,
  ].filter(Boolean);
  return (
    <Box mt={3} data-testid="quality-metrics">
      <Text fontSize="sm" mb={1}>
        Metrics: {totals.length ? totals.join(" · ") : "no totals"} <Muted>· measured {when(metrics.eventTime)}</Muted>
      </Text>
      {columns.length > 0 && (
        <Table.Root size="sm" variant="line" maxW="40rem">
          <Table.Header>
            <Table.Row>
              {["Column", "Nulls", "Distinct", "Min", "Max"].map((h) => (
                <Table.ColumnHeader key={h}>{h}</Table.ColumnHeader>
              ))}
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {columns.map(([column, m]) => (
              <Table.Row key={column}>
                <Table.Cell fontFamily="mono">
                  <Name value={column} />
                </Table.Cell>
                {["nullCount", "distinctCount", "min", "max"].map((k) => (
                  <Table.Cell key={k}>{m[k] === undefined ? "—" : m[k].toLocaleString()}</Table.Cell>
                ))}
              </Table.Row>
            ))}
          </Table.Body>
        </Table.Root>
      )}
    </Box>
  );
}

export function QualitySection({ quality }: { quality: DatasetQuality }) {
  const { summary, checkedBy } = quality;
  // Each test shows its newest result: with one job per test (dbt's structured logs) they come from several runs.
  const runs = new Set(quality.assertions.map((a) => a.runId)).size;
  return (
    <Box data-testid="quality">
      <Flex gap={2} align="center" wrap="wrap" mb={2} fontSize="sm">
        <Badge colorPalette="green">{summary.passed} passed</Badge>
        <Badge colorPalette="red" variant={summary.failed ? "solid" : "subtle"}>
          {summary.failed} failed
        </Badge>
        {summary.unknown > 0 && <Badge colorPalette="gray">{summary.unknown} without a result</Badge>}
        {checkedBy && (
          <Muted>
            {runs > 1 ? "newest check" : "checked"} {when(checkedBy.eventTime)}
            {checkedBy.runId && (
              <>
                {" "}
                by run{" "}
                <RunLink runId={checkedBy.runId} testId="quality-run" />
              </>
            )}
            {checkedBy.job && (
              <>
                {" "}
                of <JobLink namespace={checkedBy.job.namespace} name={checkedBy.job.name} />
              </>
            )}
            {runs > 1 && <> · results of {runs} runs (each test's own in its tooltip)</>}
          </Muted>
        )}
      </Flex>
      {quality.assertions.length > 0 ? (
        <Table.Root size="sm" variant="line">
          <Table.Body>
            {byColumn(quality.assertions).map(([column, tests]) => (
              <Table.Row key={column ?? ""} data-testid="quality-column">
                <Table.Cell fontFamily="mono" w="16rem">
                  {column === null ? <Muted>whole dataset</Muted> : <Name value={column} />}
                </Table.Cell>
                <Table.Cell>
                  <Flex gap={1} wrap="wrap">
                    {tests.map((a, i) => (
                      <AssertionBadge key={i} a={a} />
                    ))}
                  </Flex>
                </Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table.Root>
      ) : (
        quality.checkedBy && <Muted>The newest test results hold no test that could be read.</Muted>
      )}
      {quality.problems.length > 0 && (
        <Text color="fg.warning" fontSize="xs" mt={2} data-testid="quality-problems">
          Parts of the newest test results could not be read: {quality.problems.join("; ")}
        </Text>
      )}
      {quality.metrics && <Metrics metrics={quality.metrics} />}
    </Box>
  );
}

/** The newest runs that tested the dataset and said which tests they executed (TestRunFacet). */
export function TestRunsSection({ namespace, name }: { namespace: string; name: string }) {
  const found = useApi("namespaces/{namespace}/datasets/{dataset}/test-runs", { path: { namespace, dataset: name }, query: { limit: 20 } });
  const runs = found.data?.runs ?? [];
  if (runs.length === 0) return null;
  return (
    <Section title="Test runs">
      <Table.Root size="sm" variant="line" data-testid="test-runs">
        <Table.Body>
          {runs.map((r) => {
            const failed = r.tests.filter((t) => t.status?.toLowerCase() === "fail");
            return (
              <Table.Row key={`${r.job.namespace}\u0000${r.job.name}\u0000${r.runId}`} data-testid="test-run" data-failed={failed.length || undefined}>
                <Table.Cell whiteSpace="nowrap">{when(r.eventTime)}</Table.Cell>
                <Table.Cell>
                  <JobLink namespace={r.job.namespace} name={r.job.name} />
                </Table.Cell>
                <Table.Cell>
                  <RunLink runId={r.runId} />
                </Table.Cell>
                <Table.Cell>
                  <Badge colorPalette={failed.length ? "red" : "green"} variant={failed.length ? "solid" : "subtle"}>
                    {failed.length ? `${failed.length} of ${r.tests.length} failed` : `${r.tests.length} passed`}
                  </Badge>{" "}
                  {failed.map((t) => (
                    <Muted key={t.name}>
                      <Name value={t.name} />
                      {t.severity ? ` (${t.severity})` : ""}{" "}
                    </Muted>
                  ))}
                </Table.Cell>
              </Table.Row>
            );
          })}
        </Table.Body>
      </Table.Root>
    </Section>
  );
}
