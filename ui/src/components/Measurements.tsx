// A dataset's measurements over time: rows (and bytes) written and read per run, from the
// statistics and data-quality metrics facets its runs sent, with the partitions each run touched.
// Charts are SVG with labelled axes; every value is rendered as text.
import { Box, SimpleGrid, Table, Text } from "@chakra-ui/react";

import type { Schemas } from "../api";
import { when } from "../format";
import { useApi } from "../useApi";
import { ValueAxis } from "./Charts";
import { JobLink, Loading, Muted, Name, Problem, RunLink, Section } from "./Common";

type Point = Schemas["Measurement"];

const W = 640;
const H = 180;
const PAD = { left: 84, right: 12, top: 10, bottom: 36 };

function day(iso: string): string {
  return iso.slice(0, 10);
}

/** One series against time: a line through the points, the y axis from zero, the first and last dates on the x axis. */
export function TimeSeries({ points, label, unit }: { points: { at: string; value: number; title: string }[]; label: string; unit: string }) {
  if (points.length === 0) return null;
  const times = points.map((p) => Date.parse(p.at));
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const top = Math.max(...points.map((p) => p.value), 1);
  const x = (t: number) => PAD.left + (t1 === t0 ? (W - PAD.left - PAD.right) / 2 : ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right));
  const y = (v: number) => PAD.top + (1 - v / top) * (H - PAD.top - PAD.bottom);
  return (
    <Box data-testid="time-series" data-label={label}>
      <Text fontSize="sm" fontWeight="semibold">
        {label}
      </Text>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={`${label} over time`}>
        <ValueAxis top={top} y={y} left={PAD.left} right={W - PAD.right} bottom={H - PAD.bottom} unit={unit} />
        <text x={PAD.left} y={H - PAD.bottom + 16} fontSize="11" fill="currentColor">
          {day(points[0].at)}
        </text>
        {t1 !== t0 && (
          <text x={W - PAD.right} y={H - PAD.bottom + 16} fontSize="11" fill="currentColor" textAnchor="end">
            {day(points[points.length - 1].at)}
          </text>
        )}
        <text x={(W + PAD.left) / 2} y={H - 4} fontSize="11" fill="currentColor" textAnchor="middle">
          event time (UTC)
        </text>
        <polyline points={points.map((p, i) => `${x(times[i])},${y(p.value)}`).join(" ")} fill="none" stroke="var(--chakra-colors-blue-500)" strokeWidth={2} />
        {points.map((p, i) => (
          <circle key={i} cx={x(times[i])} cy={y(p.value)} r={3.5} fill="var(--chakra-colors-blue-500)">
            <title>{p.title}</title>
          </circle>
        ))}
      </svg>
    </Box>
  );
}

function series(points: Point[], side: "in" | "out", key: "rowCount" | "bytes") {
  return points
    .filter((p) => p.side === side && typeof p[key] === "number")
    .map((p) => ({ at: p.eventTime, value: p[key] as number, title: `${when(p.eventTime)}: ${(p[key] as number).toLocaleString()} · run ${p.runId}` }));
}

export function MeasurementsTab({ namespace, name }: { namespace: string; name: string }) {
  const found = useApi("namespaces/{namespace}/datasets/{dataset}/measurements", {
    path: { namespace, dataset: name },
    query: { runs: 200 },
  });
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="measurements" />;
  const { points, runs, truncated } = found.data;
  if (points.length === 0) {
    return <Muted>None of this dataset's {runs} runs sent statistics, data-quality metrics or the partitions it touched.</Muted>;
  }
  const charts = [
    { label: "Rows written", unit: "rows", data: series(points, "out", "rowCount") },
    { label: "Bytes written", unit: "bytes", data: series(points, "out", "bytes") },
    { label: "Rows read", unit: "rows", data: series(points, "in", "rowCount") },
  ].filter((c) => c.data.length > 0);
  return (
    <Box data-testid="measurements">
      <Muted>
        From the statistics and metrics facets of the dataset's newest {runs} runs{truncated ? " (older runs not read)" : ""}.
      </Muted>
      <SimpleGrid columns={{ base: 1, lg: 2 }} gap={6} my={4}>
        {charts.map((c) => (
          <TimeSeries key={c.label} points={c.data} label={c.label} unit={c.unit} />
        ))}
      </SimpleGrid>
      <Section title="Per run">
        <Table.Root size="sm" variant="line" data-testid="measurement-rows">
          <Table.Header>
            <Table.Row>
              {["When", "Run", "Job", "", "Rows", "Bytes", "Files", "Partitions or condition"].map((h, i) => (
                <Table.ColumnHeader key={i}>{h}</Table.ColumnHeader>
              ))}
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {[...points].reverse().map((p, i) => (
              <Table.Row key={i}>
                <Table.Cell whiteSpace="nowrap">{when(p.eventTime)}</Table.Cell>
                <Table.Cell>
                  <RunLink runId={p.runId} />
                </Table.Cell>
                <Table.Cell>
                  <JobLink namespace={p.job.namespace} name={p.job.name} />
                </Table.Cell>
                <Table.Cell>{p.side === "out" ? "wrote" : "read"}</Table.Cell>
                <Table.Cell>{p.rowCount?.toLocaleString() ?? "—"}</Table.Cell>
                <Table.Cell>{p.bytes?.toLocaleString() ?? "—"}</Table.Cell>
                <Table.Cell>{p.fileCount?.toLocaleString() ?? "—"}</Table.Cell>
                <Table.Cell fontFamily="mono" fontSize="xs">
                  {p.subset ? <Name value={p.subset} /> : "—"}
                </Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table.Root>
      </Section>
    </Box>
  );
}
