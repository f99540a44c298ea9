// The "OpenLineage" tab of a task instance: the events its run emitted, its inputs and outputs,
// and the column lineage of its outputs.
import { Box, Flex, Text } from "@chakra-ui/react";

import { nodeQuery, type Run } from "../api";
import { EventList } from "../components/EventList";
import { InputsOutputs, Loading, Muted, Name, Problem, Section, StateBadge } from "../components/Common";
import { LineageGraph } from "../components/LineageGraph";
import { duration, when } from "../format";
import type { Route } from "../route";
import { useApi } from "../useApi";

/** Does this OpenLineage run belong to the Airflow task instance (DAG run id, map index)? */
export function isTaskInstanceRun(run: Run, runId: string, mapIndex: string): boolean {
  const airflow = run.airflow;
  if (airflow?.dagRunId !== runId || airflow.taskId === null) return false;
  return airflow.mapIndex === null || String(airflow.mapIndex) === mapIndex || (mapIndex === "" && airflow.mapIndex === -1);
}

function Outputs({ run, jobNs, jobName }: { run: Run; jobNs: string; jobName: string }) {
  // A run id is unique per job only: another producer may send events with this one.
  const events = useApi("events/lineage", { query: { runId: run.id, namespace: jobNs, job: jobName, sortDirection: "asc", limit: 1000 } });
  const columns = useApi("column-lineage", { query: { ...nodeQuery("job", jobNs, jobName), depth: 1 } });
  const list = events.data?.events ?? [];
  return (
    <Box>
      <Section title="Inputs and outputs">
        <InputsOutputs inputs={run.inputs} outputs={run.outputs} />
      </Section>
      {columns.data && columns.data.graph.length > 0 && (
        <Section title="Column lineage">
          <LineageGraph graph={columns.data.graph} colorBy="namespace" highlight={new Set()} start={null} height="40vh" />
        </Section>
      )}
      <Section title="Events">
        {events.error && <Problem message={events.error} />}
        {events.loading ? <Loading what="events" /> : <EventList events={list} ofOneRun />}
      </Section>
    </Box>
  );
}

export function TaskInstancePage({ route }: { route: Route }) {
  const [dagId = "", runId = "", taskId = "", mapIndex = "-1"] = route.parts;
  const jobName = `${dagId}.${taskId}`;
  const jobs = useApi("search", { query: { q: jobName, filter: "job", limit: 1000 } });
  // Only this Airflow's namespaces: a producer writing another cannot stand in for the task.
  const airflow = useApi("airflow/namespaces");
  const own = new Set(airflow.data?.namespaces ?? []);
  const match = (jobs.data?.results ?? []).find((r) => r.name === jobName && own.has(r.namespace)) ?? null;
  const runs = useApi("namespaces/{namespace}/jobs/{job}/runs", match ? { path: { namespace: match.namespace, job: match.name }, query: { limit: 200 } } : null);
  const problem = jobs.error ?? airflow.error;
  if (problem) return <Problem message={problem} />;
  if (runs.error) return <Problem message={runs.error} />;
  if (!jobs.data || !airflow.data || (match && !runs.data)) return <Loading what="OpenLineage events" />;
  const run = runs.data?.runs.find((r) => isTaskInstanceRun(r, runId, mapIndex)) ?? null;
  if (!match || !run) {
    return (
      <Box p={2} data-testid="no-lineage">
        <Text>
          No OpenLineage run of task “<Name value={taskId} />” in DAG run “<Name value={runId} />” has reached the catalog.
        </Text>
        <Muted>Tasks emit events when the OpenLineage provider is configured to send them to the catalog.</Muted>
      </Box>
    );
  }
  return (
    <Box>
      <Flex gap={3} align="center" mb={3}>
        <StateBadge state={run.state} />{" "}
        <Text>
          OpenLineage run <Name value={run.id} />
        </Text>{" "}
        <Muted>started {when(run.startedAt)} · {duration(run.durationMs)}</Muted>
      </Flex>
      <Outputs run={run} jobNs={match.namespace} jobName={match.name} />
    </Box>
  );
}
