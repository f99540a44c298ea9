// Two runs side by side: how a run differs from another (usually its job's run before it).
import { Box, Flex, Heading, NativeSelect, Table, Text } from "@chakra-ui/react";
import type { ReactNode } from "react";

import type { Schemas } from "../api";
import { DatasetLink, JobLink, JsonView, Loading, Muted, Name, Problem, RunLink, Section, StateBadge } from "../components/Common";
import { duration, when } from "../format";
import { href, navigate, type Route } from "../route";
import { useApi } from "../useApi";

type Comparison = Schemas["RunComparison"];
type Figures = Schemas["RunFigures"] | null;

/** "+25 %", "−20 %", or nothing when either side is missing or zero. */
function change(before: number | null | undefined, after: number | null | undefined): string {
  if (before === null || before === undefined || after === null || after === undefined || before === 0) return "";
  const percent = Math.round(((after - before) / before) * 100);
  return percent === 0 ? "same" : `${percent > 0 ? "+" : "−"}${Math.abs(percent)} %`;
}

const number = (value: number | null | undefined): string => (value === null || value === undefined ? "—" : value.toLocaleString("en"));

function Side({ title, side, testId }: { title: string; side: Comparison["inputs"]; testId: string }) {
  const rows: [string, Comparison["inputs"]["added"], string][] = [
    ["only this run", side.added, "added"],
    ["only the other run", side.removed, "removed"],
    ["both", side.kept, "kept"],
  ];
  return (
    <Section title={title}>
      <Box data-testid={testId} fontSize="sm">
        {rows.map(([label, refs, kind]) =>
          refs.length ? (
            <Flex key={kind} gap={2} wrap="wrap" mb={1} data-testid={`${testId}-${kind}`}>
              <Text fontWeight="semibold" color={kind === "added" ? "green.fg" : kind === "removed" ? "red.fg" : "fg.muted"}>
                {label}:
              </Text>
              {refs.map((d) => (
                <DatasetLink key={`${d.namespace}\u0000${d.name}`} namespace={d.namespace} name={d.name} />
              ))}
            </Flex>
          ) : null,
        )}
        {!side.added.length && !side.removed.length && !side.kept.length && <Muted>None.</Muted>}
      </Box>
    </Section>
  );
}

function Measured({ measurements }: { measurements: Comparison["measurements"] }) {
  const cells = (figures: Figures) => [number(figures?.rowCount), number(figures?.bytes), number(figures?.fileCount)];
  return (
    <Section title="Rows, bytes and files measured">
      {measurements.length === 0 ? (
        <Muted>Neither run sent statistics of what it read or wrote.</Muted>
      ) : (
        <Table.Root size="sm" data-testid="compared-measurements">
          <Table.Header>
            <Table.Row>
              <Table.ColumnHeader>Dataset</Table.ColumnHeader>
              <Table.ColumnHeader>Side</Table.ColumnHeader>
              <Table.ColumnHeader textAlign="end">Rows, other run</Table.ColumnHeader>
              <Table.ColumnHeader textAlign="end">Rows, this run</Table.ColumnHeader>
              <Table.ColumnHeader textAlign="end">Change</Table.ColumnHeader>
              <Table.ColumnHeader textAlign="end">Bytes, other / this</Table.ColumnHeader>
              <Table.ColumnHeader textAlign="end">Files, other / this</Table.ColumnHeader>
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {measurements.map((m) => {
              const [rowsBefore, bytesBefore, filesBefore] = cells(m.before);
              const [rowsAfter, bytesAfter, filesAfter] = cells(m.after);
              return (
                <Table.Row key={`${m.side}\u0000${m.dataset.namespace}\u0000${m.dataset.name}`}>
                  <Table.Cell>
                    <DatasetLink namespace={m.dataset.namespace} name={m.dataset.name} />
                  </Table.Cell>
                  <Table.Cell>{m.side === "in" ? "read" : "written"}</Table.Cell>
                  <Table.Cell textAlign="end">{rowsBefore}</Table.Cell>
                  <Table.Cell textAlign="end">{rowsAfter}</Table.Cell>
                  <Table.Cell textAlign="end">{change(m.before?.rowCount, m.after?.rowCount)}</Table.Cell>
                  <Table.Cell textAlign="end">
                    {bytesBefore} / {bytesAfter}
                  </Table.Cell>
                  <Table.Cell textAlign="end">
                    {filesBefore} / {filesAfter}
                  </Table.Cell>
                </Table.Row>
              );
            })}
          </Table.Body>
        </Table.Root>
      )}
    </Section>
  );
}

/** One run's value of a facet, or "none" when that run did not send it. */
function FacetValue({ label, value }: { label: string; value: unknown }) {
  return (
    <Box flex="1" minW="20rem">
      <Text fontSize="xs" color="fg.muted">
        {label}
      </Text>
      {value === null || value === undefined ? <Muted>none</Muted> : <JsonView value={value} maxHeight="16rem" />}
    </Box>
  );
}

function Facets({ facets }: { facets: Comparison["facets"] }) {
  return (
    <Section title={`Facets that changed (${facets.length})`}>
      {facets.length === 0 ? (
        <Muted>The runs sent the same run and job facets.</Muted>
      ) : (
        facets.map((f) => (
          <Box key={`${f.kind}\u0000${f.name}`} mb={3} data-testid="changed-facet">
            <Text fontWeight="semibold" mb={1}>
              <Name value={f.name} /> <Muted>({f.kind} facet)</Muted>
            </Text>
            <Flex gap={3} wrap="wrap">
              <FacetValue label="Other run" value={f.before} />
              <FacetValue label="This run" value={f.after} />
            </Flex>
          </Box>
        ))
      )}
    </Section>
  );
}

export function CompareRunsPage({ route }: { route: Route }) {
  const id = route.params.get("run") ?? "";
  const other = route.params.get("with") ?? "";
  const compared = useApi("jobs/runs/{run_id}/compare", id && other ? { path: { run_id: id }, query: { with: other } } : null);
  const job = compared.data?.run.jobVersion;
  const runs = useApi("namespaces/{namespace}/jobs/{job}/runs", job ? { path: { namespace: job.namespace, job: job.name }, query: { limit: 50 } } : null);
  if (!id || !other) return <Problem message="Choose two runs: run=…&with=…" />;
  if (compared.error) return <Problem message={compared.error} />;
  if (!compared.data) return <Loading what="the comparison" />;
  const { run, other: before } = compared.data;
  const durationChange = change(before.durationMs, run.durationMs);
  const rows: [string, ReactNode, ReactNode][] = [
    ["Run", <RunLink runId={before.id} />, <RunLink runId={run.id} />],
    ["Job", <JobLink namespace={before.jobVersion.namespace} name={before.jobVersion.name} />, <JobLink namespace={run.jobVersion.namespace} name={run.jobVersion.name} />],
    ["State", <StateBadge state={before.state} />, <StateBadge state={run.state} />],
    ["Started", when(before.startedAt), when(run.startedAt)],
    ["Ended", when(before.endedAt), when(run.endedAt)],
    ["Duration", duration(before.durationMs), durationChange ? `${duration(run.durationMs)} (${durationChange})` : duration(run.durationMs)],
  ];
  return (
    <Box>
      <Heading size="lg" mb={3}>
        Run compared with another
      </Heading>
      <Table.Root size="sm" mb={4} data-testid="compared-runs" maxW="60rem">
        <Table.Header>
          <Table.Row>
            <Table.ColumnHeader />
            <Table.ColumnHeader>Other run</Table.ColumnHeader>
            <Table.ColumnHeader>This run</Table.ColumnHeader>
          </Table.Row>
        </Table.Header>
        <Table.Body>
          {rows.map(([label, a, b]) => (
            <Table.Row key={label} data-testid={`compared-${label.toLowerCase()}`}>
              <Table.Cell>{label}</Table.Cell>
              <Table.Cell>{a}</Table.Cell>
              <Table.Cell>{b}</Table.Cell>
            </Table.Row>
          ))}
        </Table.Body>
      </Table.Root>
      {runs.data && (
        <Flex align="center" gap={2} mb={4} fontSize="sm">
          <Text>Compare this run with</Text>
          <NativeSelect.Root size="xs" w="28rem">
          <NativeSelect.Field aria-label="Compare with the run" value={other} onChange={(e) => navigate(href("compare", { run: id, with: e.target.value }))}>
            {!runs.data.runs.some((r) => r.id === other) && <option value={other}>{other}</option>}
            {runs.data.runs.map((r) => (
              <option key={r.id} value={r.id}>
                {`${when(r.startedAt)} · ${r.state} · ${r.id}`}
              </option>
            ))}
          </NativeSelect.Field>
          </NativeSelect.Root>
        </Flex>
      )}
      <Side title="Inputs" side={compared.data.inputs} testId="compared-inputs" />
      <Side title="Outputs" side={compared.data.outputs} testId="compared-outputs" />
      <Measured measurements={compared.data.measurements} />
      <Facets facets={compared.data.facets} />
    </Box>
  );
}
