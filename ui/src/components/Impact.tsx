// The Impact tab: everything downstream of a dataset or one of its columns, as a table people act
// on (who owns each impacted dataset, the jobs on the way and how their newest runs went), and as CSV.
import { Box, Button, Flex, NativeSelect, Text } from "@chakra-ui/react";
import { Fragment, useMemo, useState } from "react";

import { fieldNodeId, nodeId, nodeQuery, type Dataset, type Schemas } from "../api";
import { download } from "../exportGraph";
import { when } from "../format";
import { useApi } from "../useApi";
import { DataTable, DatasetLink, JobLink, Loading, Muted, Name, Problem, StateBadge } from "./Common";

type Report = Schemas["Impact"];
type Impacted = Schemas["Impacted"];

function Owners({ owners }: { owners: Schemas["Owner"][] }) {
  if (owners.length === 0) return <Muted>none</Muted>;
  return (
    <>
      {owners.map((o, i) => (
        <Text key={i} fontSize="xs" title={o.type ?? undefined}>
          <Name value={o.name} />
        </Text>
      ))}
    </>
  );
}

/** A job on a path: its link and how its newest run went. */
function PathJob({ id, report }: { id: string; report: Report }) {
  const job = report.jobs[id];
  if (!job) return <Name value={id} />;
  const run = job.latestRun;
  return (
    <span>
      <JobLink namespace={job.namespace} name={job.name} />{" "}
      {run ? (
        <span title={`newest run ${run.runId}, started ${when(run.startedAt)}`}>
          <StateBadge state={run.state} />
        </span>
      ) : (
        <Muted>no runs</Muted>
      )}
    </span>
  );
}

function label(item: Pick<Impacted, "name" | "field">): string {
  return item.field === null ? item.name : `${item.name}.${item.field}`;
}

/** The steps from the node before `item` to it: the job between, and itself. */
function hop(item: Impacted): string[] {
  return item.via !== null ? [item.via, item.id] : [item.id];
}

/** Whether rows' paths are followed through `previous` and `via` rather than read from the answer:
 * when it left them out (a chain's paths grow with the square of its length), and for columns,
 * whose paths in the answer hold no jobs. */
const followed = (report: Report): boolean => report.pathsOmitted || report.impacted.some((i) => i.field !== null);

/** A row's whole path and the jobs on it: as the answer gives them, or followed back (`followed`).
 * For one row at a time (a path opened, no more): the table folds paths without them. */
function wholePath(item: Impacted, report: Report, byId: Map<string, Impacted>): { path: string[]; jobs: string[] } {
  if (!followed(report)) return { path: item.path, jobs: item.jobs };
  const path: string[] = [];
  const jobs: string[] = [];
  // At most every impacted node once: an answer whose `previous` went round would not end otherwise.
  for (let at: Impacted | undefined = item, hops = 0; at && hops <= report.impacted.length; at = byId.get(at.previous), hops++) {
    path.push(...hop(at).reverse());
    if (at.via !== null) jobs.push(at.via);
    if (at.previous === report.nodeId) break;
  }
  path.push(report.nodeId);
  return { path: path.reverse(), jobs: jobs.reverse() };
}

// A longer path shows its first and last steps, and the rest on request.
const SHOWN_STEPS = 4;

interface Head {
  steps: string[]; // the path's first steps, SHOWN_STEPS and one more at most
  length: number; // how many steps the whole path has
}

/** Every row's head of path and length, each from its `previous`'s (rows come nearest first):
 * linear in the rows, where following each whole path back was quadratic. */
function headsOf(report: Report): Map<string, Head> {
  const heads = new Map<string, Head>([[report.nodeId, { steps: [report.nodeId], length: 1 }]]);
  for (const item of report.impacted) {
    const before = heads.get(item.previous);
    if (!before) continue;
    const steps = hop(item);
    heads.set(item.id, {
      steps: before.steps.length > SHOWN_STEPS ? before.steps : [...before.steps, ...steps].slice(0, SHOWN_STEPS + 1),
      length: before.length + steps.length,
    });
  }
  return heads;
}

/** A path's first and last SHOWN_STEPS steps, and how many lie between; all of it when short. */
function foldedPath(item: Impacted, report: Report, byId: Map<string, Impacted>, heads: Map<string, Head>): { shown: (string | null)[]; hidden: number } {
  if (!followed(report)) {
    const hidden = item.path.length - 2 * SHOWN_STEPS;
    return hidden > 1 ? { shown: [...item.path.slice(0, SHOWN_STEPS), null, ...item.path.slice(-SHOWN_STEPS)], hidden } : { shown: item.path, hidden: 0 };
  }
  const head = heads.get(item.id);
  if (!head || head.length - 2 * SHOWN_STEPS <= 1) return { shown: wholePath(item, report, byId).path, hidden: 0 };
  const last: string[] = [];
  for (let at: Impacted | undefined = item; at && last.length < SHOWN_STEPS; at = byId.get(at.previous)) last.unshift(...hop(at));
  return { shown: [...head.steps.slice(0, SHOWN_STEPS), null, ...last.slice(-SHOWN_STEPS)], hidden: head.length - 2 * SHOWN_STEPS };
}

/** The path from the start: datasets (or columns) and the jobs between them. */
function Path({ item, report, byId, heads, start }: { item: Impacted; report: Report; byId: Map<string, Impacted>; heads: Map<string, Head>; start: string }) {
  const [open, setOpen] = useState(false);
  const { shown, hidden } = open ? { shown: wholePath(item, report, byId).path, hidden: 0 } : foldedPath(item, report, byId, heads);
  return (
    <Text fontSize="xs" as="div">
      {shown.map((step, i) => {
        if (step === null) {
          return (
            <Fragment key={i}>
              {" → "}
              <Button size="2xs" variant="outline" onClick={() => setOpen(true)}>
                {hidden} more steps
              </Button>
            </Fragment>
          );
        }
        const hop = byId.get(step);
        return (
          <Fragment key={i}>
            {i > 0 && " → "}
            {report.jobs[step] ? (
              <PathJob id={step} report={report} />
            ) : hop ? (
              <>
                <DatasetLink namespace={hop.namespace} name={hop.name} />
                {hop.field !== null && (
                  <>
                    .<Name value={hop.field} />
                  </>
                )}
              </>
            ) : (
              <Name value={step === report.nodeId ? start : step} />
            )}
          </Fragment>
        );
      })}
    </Text>
  );
}

/** A CSV cell: quoted, and a leading = + - @ made inert, so no spreadsheet runs a name as a formula. */
function cell(value: string | number): string {
  const text = String(value);
  const inert = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${inert.replaceAll('"', '""')}"`;
}

export function impactCsv(report: Report, start: string): string {
  const byId = new Map(report.impacted.map((i) => [i.id, i])); // thousands of rows, each with its path
  const name = (id: string) => {
    const job = report.jobs[id];
    if (job) return `${job.name} (${job.latestRun?.state ?? "no runs"})`;
    const hop = byId.get(id);
    return hop ? label(hop) : id === report.nodeId ? start : id;
  };
  // Whole paths, as the answer gives them; when it left them out, each row's step before it, so
  // that the file grows with the rows as the answer does (whole paths of a chain 5,000 long are
  // more text than a browser makes one string of).
  const omitted = report.pathsOmitted;
  const header = ["depth", "namespace", "dataset", "field", "owners", ...(omitted ? ["reached from", "through job"] : ["jobs on the path", "path"])];
  const rows = report.impacted.map((item) => [
    item.depth,
    item.namespace,
    item.name,
    item.field ?? "",
    item.owners.map((o) => o.name).join("; "),
    ...(omitted ? [name(item.previous), item.via === null ? "" : name(item.via)] : [item.jobs.map(name).join("; "), item.path.map(name).join(" -> ")]),
  ]);
  return [header, ...rows].map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

/** The dataset's columns: its schema's, then those only its column lineage names (a dataset that
 * sent no schema, whose columns other datasets' column lineage reads). */
function useColumns(ds: Dataset): string[] {
  const lineage = useApi("column-lineage", { query: { ...nodeQuery("dataset", ds.namespace, ds.name), depth: 1, withDownstream: true } });
  return useMemo(() => {
    const names = ds.fields.flatMap((f) => (f.name === null ? [] : [f.name]));
    const known = new Set(names);
    const traced = (lineage.data?.graph ?? []).flatMap((n) => (n.data.namespace === ds.namespace && n.data.dataset === ds.name && n.data.field && !known.has(n.data.field) ? [n.data.field] : []));
    return [...names, ...[...new Set(traced)].sort()];
  }, [ds, lineage.data]);
}

/** `field`: the column whose impact is shown ("" for the whole dataset), kept in the page's address by `onField`. */
export function Impact({ ds, field, onField }: { ds: Dataset; field: string; onField: (field: string) => void }) {
  const columns = useColumns(ds);
  const start = field ? fieldNodeId(ds.namespace, ds.name, field) : nodeId("dataset", ds.namespace, ds.name);
  const report = useApi("impact", { query: { nodeId: start, namespace: ds.namespace } });
  const startLabel = field ? `${ds.name}.${field}` : ds.name;
  return (
    <Box>
      <Flex gap={3} align="center" mb={3} wrap="wrap">
        <NativeSelect.Root size="sm" w="16rem">
          <NativeSelect.Field aria-label="Impact of" value={field} onChange={(e) => onField(e.target.value)}>
            <option value="">The whole dataset</option>
            {/* a column in the address that the lists do not name yet (they are loading) stays chosen */}
            {[...columns, ...(field && !columns.includes(field) ? [field] : [])].map((name) => (
              <option key={name} value={name}>
                Column {name}
              </option>
            ))}
          </NativeSelect.Field>
        </NativeSelect.Root>
        {report.data && report.data.impacted.length > 0 && (
          <Button size="xs" variant="outline" onClick={() => download(`impact-${startLabel}.csv`, new Blob([impactCsv(report.data!, startLabel)], { type: "text/csv" }))}>
            Download CSV
          </Button>
        )}
      </Flex>
      {report.error && <Problem message={report.error} />}
      {!report.data && !report.error && <Loading what="impact" />}
      {report.data && <ImpactTable report={report.data} start={startLabel} />}
    </Box>
  );
}

function ImpactTable({ report, start }: { report: Report; start: string }) {
  const rows = report.impacted;
  const byId = useMemo(() => new Map(rows.map((r) => [r.id, r])), [rows]);
  const heads = useMemo(() => headsOf(report), [report]);
  const failing = Object.values(report.jobs).filter((j) => j.latestRun && j.latestRun.state !== "COMPLETED" && j.latestRun.state !== "RUNNING").length;
  const owners = new Set(rows.flatMap((r) => r.owners.map((o) => o.name)));
  return (
    <Box>
      <Text mb={2} data-testid="impact-summary">
        {rows.length} downstream {rows.length === 1 ? (rows[0].field === null ? "dataset depends" : "column depends") : rows.some((r) => r.field !== null) ? "columns depend" : "datasets depend"} on{" "}
        <Name value={start} /> through {Object.keys(report.jobs).length} {Object.keys(report.jobs).length === 1 ? "job" : "jobs"}
        {owners.size > 0 && `, owned by ${owners.size} ${owners.size === 1 ? "owner" : "owners"}`}
        {failing > 0 && `; ${failing} of those jobs did not complete their newest run`}
        {report.truncated ? " (cut at the size limit)" : ""}.
      </Text>
      <DataTable
        rows={rows}
        rowKey={(r) => r.id}
        empty="Nothing downstream."
        columns={[
          { header: "Depth", cell: (r) => r.depth },
          {
            header: "Impacted",
            cell: (r) => (
              <span data-testid="impacted">
                <DatasetLink namespace={r.namespace} name={r.name} />
                {r.field !== null && (
                  <>
                    {" "}
                    <Muted>
                      column <Name value={r.field} />
                    </Muted>
                  </>
                )}
              </span>
            ),
          },
          { header: "Namespace", cell: (r) => <Name value={r.namespace} /> },
          { header: "Owners", cell: (r) => <Owners owners={r.owners} /> },
          { header: "Path (jobs with their newest run)", cell: (r) => <Path item={r} report={report} byId={byId} heads={heads} start={start} /> },
        ]}
      />
    </Box>
  );
}
