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
  // The server finds the run: of job DAG.TASK in this Airflow's namespaces only (a producer writing
  // another cannot stand in for the task), whose `airflow` facet names this DAG run, task and map index.
  const found = useApi("airflow/task-instances/{dag_id}/{dag_run_id}/{task_id}/run", {
    path: { dag_id: dagId, dag_run_id: runId, task_id: taskId },
    // Airflow leaves `{MAP_INDEX}` as it stands for a task instance that is not mapped
    query: { mapIndex: /^\d+$/.test(mapIndex) ? Number(mapIndex) : -1 },
  });
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="OpenLineage events" />;
  const { namespace, job, run } = found.data;
  if (namespace === null || job === null || run === null) {
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
      <Outputs run={run} jobNs={namespace} jobName={job} />
    </Box>
  );
}
