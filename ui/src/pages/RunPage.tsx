import { Box, Flex, Heading, Link, Text } from "@chakra-ui/react";

import { InputsOutputs, JobLink, JsonView, Loading, Muted, Name, PlainText, Problem, RunLink, Section, StateBadge } from "../components/Common";
import { EventList } from "../components/EventList";
import { ExtractionErrors, RunParameters, RunTests, RunTree } from "../components/RunDetails";
import { duration, when } from "../format";
import { airflowPage, type Route } from "../route";
import { useApi } from "../useApi";

/** The task's log, as its producer linked it: in this Airflow's window when it is this Airflow's
 * (same origin); any other site in a new tab, its host shown, for a producer may name any. */
function LogLink({ url }: { url: string }) {
  let other: string | null;
  try {
    const target = new URL(url, window.location.href);
    other = target.origin === window.location.origin ? null : target.host;
  } catch {
    return null;
  }
  return other === null ? (
    <Link href={url} target="_top" color="fg.info" data-testid="airflow-log-link">
      log
    </Link>
  ) : (
    <Link href={url} target="_blank" rel="noopener noreferrer" color="fg.info" data-testid="airflow-log-link">
      log on <Name value={other} />
    </Link>
  );
}

export function RunPage({ route }: { route: Route }) {
  const id = route.params.get("id") ?? "";
  // A run id is unique per job only: a link from a job names it, and the events are that job's.
  const ns = route.params.get("ns");
  const jobName = route.params.get("job");
  const ofJob = ns !== null && jobName !== null ? { namespace: ns, job: jobName } : {};
  const run = useApi("jobs/runs/{run_id}", { path: { run_id: id }, query: ofJob });
  const owner = run.data?.jobVersion;
  const events = useApi(
    "events/lineage",
    owner ? { query: { runId: id, namespace: owner.namespace, job: owner.name, sortDirection: "asc", limit: 1000 } } : null,
  );
  if (run.error) return <Problem message={run.error} />;
  if (!run.data) return <Loading what="the run" />;
  const r = run.data;
  const error = r.error;
  const list = events.data?.events ?? [];
  return (
    <Box>
      <Text color="fg.muted" fontSize="xs">
        Run of <JobLink namespace={r.jobVersion.namespace} name={r.jobVersion.name} />
      </Text>
      <Heading size="lg" mb={1} data-testid="title">
        <Name value={r.id} />
      </Heading>
      <Flex gap={3} align="center" mb={4}>
        <StateBadge state={r.state} /> <Text>started {when(r.startedAt)}</Text> <Text>ended {when(r.endedAt)}</Text> <Text>{duration(r.durationMs)}</Text>
      </Flex>
      {(r.airflow || r.parent) && (
        <Flex gap={4} wrap="wrap" mb={4} fontSize="sm" data-testid="run-origin">
          {r.airflow && (
            <Text>
              Airflow {r.airflow.taskId === null ? "DAG run" : "task instance"}:{" "}
              <Link href={airflowPage(r.airflow)} target="_top" color="fg.info" data-testid="airflow-link">
                <Name value={[r.airflow.dagId, r.airflow.dagRunId, r.airflow.taskId].filter((p) => p !== null).join(" › ")} />
                {r.airflow.mapIndex !== null && r.airflow.mapIndex >= 0 ? ` [${r.airflow.mapIndex}]` : ""}
              </Link>
              {r.airflow.tryNumber !== null && <Muted> · try {r.airflow.tryNumber}</Muted>}
              {r.airflow.operator && (
                <Muted>
                  {" "}
                  · <Name value={r.airflow.operator} />
                </Muted>
              )}
              {r.airflow.runType && <Muted> · {r.airflow.runType.replace(/_/g, " ")} DAG run</Muted>}
              {r.airflow.logUrl && (
                <>
                  {" · "}
                  <LogLink url={r.airflow.logUrl} />
                </>
              )}
            </Text>
          )}
          {r.parent && (
            <Text>
              Started by run{" "}
              <RunLink runId={r.parent.runId} job={r.parent.job} />{" "}
              of <JobLink namespace={r.parent.job.namespace} name={r.parent.job.name} />
            </Text>
          )}
        </Flex>
      )}
      {error && (
        <Section title={`Error${error.programmingLanguage ? ` (${error.programmingLanguage})` : ""}`}>
          <Box role="alert" p={3} rounded="md" bg="bg.error" color="fg.error" whiteSpace="pre-wrap">
            {error.message}
          </Box>
          {error.stackTrace && <PlainText text={error.stackTrace} maxHeight="16rem" />}
        </Section>
      )}
      {r.extractionError && <ExtractionErrors found={r.extractionError} />}
      {r.tests.length > 0 && <RunTests tests={r.tests} />}
      <Section title="Inputs and outputs">
        <InputsOutputs inputs={r.inputs} outputs={r.outputs} />
      </Section>
      <RunTree runId={r.id} namespace={r.jobVersion.namespace} job={r.jobVersion.name} />
      {(r.parameters.length > 0 || r.engine) && <RunParameters run={r} />}
      <Section title="Events">
        {events.error && <Problem message={events.error} />}
        {events.loading ? <Loading what="events" /> : <EventList events={list} ofOneRun />}
      </Section>
      <Section title="Run facets">
        <JsonView value={r.facets} />
      </Section>
    </Box>
  );
}
