import { Box, Flex, Heading, Link, Tabs, Text } from "@chakra-ui/react";
import { Fragment } from "react";

import { integrationOf, lineageNodes, nodeId, nodeQuery, parentOf, seg, type ApiRequest, type Job, type Run } from "../api";
import { StatedFlows } from "../components/StatedFlows";
import { TagEditor, useTagEditing } from "../components/Tags";
import { DataTable, InputsOutputs, JobLink, JsonView, Loading, Muted, Name, Pager, PlainText, Problem, Section, StateBadge, type SortState } from "../components/Common";
import { BarChart, type Bar } from "../components/Charts";
import { duration, when } from "../format";
import { plainName } from "../names";
import { baseUrl, href, navigate, type Route } from "../route";
import { useApi } from "../useApi";
import { LineageTab } from "./DatasetPage";

const SQL_WORDS = /\b(select|from|where|join|left|right|inner|outer|full|on|group|by|order|having|insert|into|values|update|set|delete|create|table|view|as|with|union|all|and|or|not|null|is|in|case|when|then|else|end|distinct|limit|merge|using|matched|over|partition)\b/gi;

/** SQL with keywords in bold: built from text nodes, never from HTML. */
export function SqlText({ sql }: { sql: string }) {
  const parts: { text: string; keyword: boolean }[] = [];
  let last = 0;
  for (const match of sql.matchAll(SQL_WORDS)) {
    if (match.index! > last) parts.push({ text: sql.slice(last, match.index), keyword: false });
    parts.push({ text: match[0], keyword: true });
    last = match.index! + match[0].length;
  }
  parts.push({ text: sql.slice(last), keyword: false });
  return (
    <Box as="pre" fontFamily="mono" fontSize="xs" whiteSpace="pre-wrap" p={3} bg="bg.muted" rounded="md" data-testid="sql">
      {parts.map((p, i) =>
        p.keyword ? (
          <Text as="span" key={i} color="fg.info" fontWeight="bold">
            {p.text}
          </Text>
        ) : (
          <Fragment key={i}>{p.text}</Fragment>
        ),
      )}
    </Box>
  );
}

const RUN_COLORS: Record<string, string> = {
  COMPLETED: "var(--chakra-colors-green-500)",
  FAILED: "var(--chakra-colors-red-500)",
  ABORTED: "var(--chakra-colors-orange-400)",
};

/** Durations of the runs on this page, oldest first, coloured by how each ended. */
function DurationChart({ runs }: { runs: Run[] }) {
  const timed = runs.filter((r) => r.durationMs !== null).slice().reverse();
  if (timed.length < 2) return null;
  const top = Math.max(...timed.map((r) => r.durationMs!));
  const [divisor, unit] = top >= 7_200_000 ? [3_600_000, "hours"] : top >= 120_000 ? [60_000, "minutes"] : [1000, "seconds"];
  const every = Math.max(1, Math.ceil(timed.length / 6));
  const bars: Bar[] = timed.map((r, i) => ({
    key: r.id,
    value: r.durationMs!,
    label: (r.startedAt ?? "").slice(5, 16).replace("T", " "),
    title: `${plainName(r.id)}: ${duration(r.durationMs)} (${r.state}), started ${when(r.startedAt)}`,
    tick: i % every === 0,
    color: RUN_COLORS[r.state] ?? "var(--chakra-colors-gray-400)",
  }));
  const longest = timed.reduce((a, b) => (b.durationMs! > a.durationMs! ? b : a));
  return (
    <Box mb={3}>
      <BarChart
        bars={bars}
        title={`Duration of the last ${timed.length} finished runs, oldest first`}
        unit={unit}
        format={(v) => Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }).format(v / divisor)}
        summary={`Durations of ${timed.length} runs: the longest ${duration(longest.durationMs)}, the newest ${duration(timed[timed.length - 1].durationMs)}.`}
        legend={[
          { color: RUN_COLORS.COMPLETED, label: "completed" },
          { color: RUN_COLORS.FAILED, label: "failed" },
          { color: RUN_COLORS.ABORTED, label: "aborted" },
        ]}
        testId="duration-chart"
      />
      <Text fontSize="xs" color="fg.muted">
        Run start (UTC)
      </Text>
    </Box>
  );
}

/** Sorting comes from the URL: a column the API does not sort by is refused by it with a 422 naming it. */
type RunsQuery = NonNullable<ApiRequest<"namespaces/{namespace}/jobs/{job}/runs">["query"]>;

function Runs({ job, route }: { job: Job; route: Route }) {
  const offset = Number(route.params.get("offset") ?? 0);
  const sort: SortState = { by: route.params.get("sortBy") ?? "startedAt", desc: route.params.get("sortDirection") !== "asc" };
  const limit = 50;
  const go = (changes: Record<string, string | number>) =>
    navigate(href("job", { ...Object.fromEntries(route.params.entries()), ...changes }), true);
  const runs = useApi("namespaces/{namespace}/jobs/{job}/runs", {
    path: { namespace: job.namespace, job: job.name },
    query: { limit, offset, sortBy: sort.by as RunsQuery["sortBy"], sortDirection: sort.desc ? "desc" : "asc" },
  });
  if (runs.error) return <Problem message={runs.error} />;
  if (!runs.data) return <Loading what="runs" />;
  // Each run compares with the run of this page that started just before it.
  const byStart = runs.data.runs.filter((r) => r.startedAt).sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!));
  const before = new Map(byStart.slice(1).map((r, i) => [r.id, byStart[i].id]));
  return (
    <Box>
      <DurationChart runs={runs.data.runs} />
      <DataTable
        rows={runs.data.runs}
        rowKey={(r) => r.id}
        empty="No runs yet."
        sort={sort}
        onSort={(next) => go({ sortBy: next.by, sortDirection: next.desc ? "desc" : "asc", offset: 0 })}
        columns={[
          {
            header: "Run",
            cell: (r) => (
              <Link href={href("run", { id: r.id, ns: r.jobVersion.namespace, job: r.jobVersion.name })}>
                <Name value={r.id} />
              </Link>
            ),
          },
          { header: "State", cell: (r) => <StateBadge state={r.state} />, sort: "state" },
          { header: "Started", cell: (r) => when(r.startedAt), sort: "startedAt" },
          { header: "Ended", cell: (r) => when(r.endedAt), sort: "endedAt" },
          { header: "Duration", cell: (r) => duration(r.durationMs) },
          {
            header: "Compare",
            cell: (r) =>
              before.has(r.id) ? (
                <Link href={href("compare", { run: r.id, with: before.get(r.id) })} data-testid="compare-run">
                  with the run before
                </Link>
              ) : null,
          },
        ]}
      />
      <Pager offset={offset} limit={limit} total={runs.data.totalCount} onChange={(next) => go({ offset: next })} />
    </Box>
  );
}

function Family({ job }: { job: Job }) {
  const id = nodeId("job", job.namespace, job.name);
  const tree = useApi("lineage", { query: { ...nodeQuery("job", job.namespace, job.name), depth: 0, withChildren: true } });
  const children = lineageNodes(tree.data?.graph ?? []).filter((n) => parentOf(n) === id);
  return (
    <Flex gap={8} wrap="wrap">
      <Box>
        <Heading size="sm">Parent</Heading>
        {job.parentJob ? <JobLink namespace={job.parentJob.namespace} name={job.parentJob.name} /> : <Muted>None</Muted>}
      </Box>
      <Box>
        <Heading size="sm">Children</Heading>
        {tree.error && <Problem message={tree.error} />}
        {children.length ? (
          <Box as="ul" pl={4}>
            {children.map((c) => (
              <li key={c.id}>
                <JobLink namespace={c.data.namespace} name={c.data.name} /> {integrationOf(c) && <Muted>{integrationOf(c)}</Muted>}
              </li>
            ))}
          </Box>
        ) : (
          <Muted>None</Muted>
        )}
      </Box>
    </Flex>
  );
}

function Details({ job }: { job: Job }) {
  const { sql, sourceCode: source, sourceCodeLocation: location, owners } = job;
  return (
    <Box>
      <Section title="Inputs and outputs">
        <InputsOutputs inputs={job.inputs} outputs={job.outputs} />
      </Section>
      <Section title="Parent and child jobs">
        <Family job={job} />
      </Section>
      <StatedFlows node={nodeQuery("job", job.namespace, job.name)} />
      {sql && (
        <Section title={`SQL${sql.dialect ? ` (${sql.dialect})` : ""}`}>
          <SqlText sql={sql.query} />
        </Section>
      )}
      {source && (
        <Section title={`Source code${source.language ? ` (${source.language})` : ""}`}>
          <PlainText text={source.sourceCode} />
        </Section>
      )}
      {location && (
        <Section title="Source code location">
          <Text>
            <Name value={location.url ?? location.repoUrl ?? ""} /> {location.path && <Muted>{location.path}</Muted>}{" "}
            {(location.version ?? location.tag ?? location.branch) && <Muted>@ {location.version ?? location.tag ?? location.branch}</Muted>}
          </Text>
        </Section>
      )}
      {owners.length > 0 && (
        <Section title="Ownership">
          <Text>{owners.map((o) => (o.type ? `${o.name} (${o.type})` : o.name)).join(", ")}</Text>
        </Section>
      )}
    </Box>
  );
}

/** How the job emits its events, in words: "complete snapshots every 300 s". */
export function emissionText(p: NonNullable<Job["emissionPattern"]>): string {
  const what = p.eventContentMode?.toUpperCase() === "COMPLETE_SNAPSHOT" ? "complete snapshots" : p.eventContentMode?.toUpperCase() === "ACCUMULATIVE" ? "partial events" : "events";
  const when = p.eventTrigger?.toUpperCase() === "PERIODIC" && p.windowDuration ? ` every ${p.windowDuration} s` : p.eventTrigger ? ` (${p.eventTrigger.toLowerCase().replaceAll("_", " ")})` : "";
  return `emits ${what}${when}`;
}

/** Where an Airflow DAG or task lives in Airflow's UI: the DAG, or the task's page (its runs in the grid). */
function AirflowOrigin({ airflow }: { airflow: NonNullable<Job["latestRun"]>["airflow"] | null }) {
  if (!airflow) return null;
  const dag = `${baseUrl()}dags/${encodeURIComponent(airflow.dagId)}`;
  return (
    <Text fontSize="sm" mb={2} data-testid="airflow-origin">
      In Airflow:{" "}
      <Link href={dag} target="_top" color="fg.info">
        DAG <Name value={airflow.dagId} />
      </Link>
      {airflow.taskId !== null && (
        <>
          {" › "}
          <Link href={`${dag}/tasks/${encodeURIComponent(airflow.taskId)}`} target="_top" color="fg.info" data-testid="airflow-task-link">
            task <Name value={airflow.taskId} />
          </Link>
          {airflow.operator && (
            <Muted>
              {" "}
              (<Name value={airflow.operator} />)
            </Muted>
          )}
        </>
      )}
    </Text>
  );
}

export function JobPage({ route }: { route: Route }) {
  const ns = route.params.get("ns") ?? "";
  const name = route.params.get("name") ?? "";
  const tab = route.params.get("tab") ?? "overview";
  const found = useApi("namespaces/{namespace}/jobs/{job}", { path: { namespace: ns, job: name } });
  const editing = useTagEditing();
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="the job" />;
  const job = found.data;
  const setTab = (value: string) => navigate(href("job", { ns, name, tab: value }), true);
  return (
    <Box>
      <Text color="fg.muted" fontSize="xs">
        Job · <Name value={job.namespace} /> {job.integration && `· ${job.integration}`} {job.jobType && `· ${job.jobType}`} · {job.type}
        {job.emissionPattern && <> · {emissionText(job.emissionPattern)}</>}
      </Text>
      <Heading size="xl" mb={1} data-testid="title" wordBreak="break-all">
        <Name value={job.name} />
      </Heading>
      {job.description && <Text mb={2}>{job.description}</Text>}
      <AirflowOrigin airflow={job.latestRun?.airflow ?? null} />
      <Box mb={2}>
        <TagEditor path={`namespaces/${seg(job.namespace)}/jobs/${seg(job.name)}`} tagged={job} editable={editing} label="job" onChange={found.reload} />
      </Box>
      <Flex gap={2} align="center" color="fg.muted" fontSize="xs" mb={3}>
        {job.latestRun ? (
          <>
            Latest run <StateBadge state={job.latestRun.state} /> {when(job.latestRun.startedAt ?? null)}
          </>
        ) : job.placeholder ? (
          <span data-testid="parent-only">Known only as the parent of other jobs&apos; runs: none of its own events has arrived yet</span>
        ) : (
          "No runs yet"
        )}{" "}
        · first seen {when(job.createdAt)}
      </Flex>
      <Tabs.Root value={tab} onValueChange={(e) => setTab(e.value)} lazyMount unmountOnExit>
        <Tabs.List>
          <Tabs.Trigger value="overview">Overview</Tabs.Trigger>
          <Tabs.Trigger value="runs">Runs</Tabs.Trigger>
          <Tabs.Trigger value="lineage">Lineage</Tabs.Trigger>
          <Tabs.Trigger value="facets">Facets</Tabs.Trigger>
        </Tabs.List>
        <Tabs.Content value="overview">
          <Details job={job} />
        </Tabs.Content>
        <Tabs.Content value="runs">
          <Runs job={job} route={route} />
        </Tabs.Content>
        <Tabs.Content value="lineage">
          <LineageTab start={nodeQuery("job", job.namespace, job.name)} />
        </Tabs.Content>
        <Tabs.Content value="facets">
          <JsonView value={job.facets} />
        </Tabs.Content>
      </Tabs.Root>
    </Box>
  );
}
