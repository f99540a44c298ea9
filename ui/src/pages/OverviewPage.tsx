import { Box, Code, Flex, Heading, Link, SimpleGrid, Stat, Text } from "@chakra-ui/react";

import type { Schemas } from "../api";
import { BarChart, countSummary, dayBuckets, hourBuckets } from "../components/Charts";
import { DataTable, DatasetLink, JobLink, Loading, Muted, Name, Problem, RunLink, Section, StateBadge } from "../components/Common";
import { when } from "../format";
import { href } from "../route";
import { useApi } from "../useApi";

function Count({ label, value, link }: { label: string; value: number; link?: string }) {
  return (
    <Stat.Root borderWidth="1px" rounded="md" p={3}>
      <Stat.Label>{label}</Stat.Label>
      <Stat.ValueText data-testid={`count-${label}`}>{link ? <Link href={link}>{value.toLocaleString()}</Link> : value.toLocaleString()}</Stat.ValueText>
    </Stat.Root>
  );
}

/** Datasets failing their newest tests, and recent runs whose tests failed. */
function TestResults({ tests }: { tests: Schemas["TestFailures"] }) {
  return (
    <Section title="Tests">
      <Flex gap={6} wrap="wrap" mb={2} data-testid="test-results">
        <Text>
          Datasets failing a test: <strong>{tests.datasetsFailing.toLocaleString()}</strong> of {tests.datasetsTested.toLocaleString()} tested
          {tests.failedTests > 0 && <> ({tests.failedTests.toLocaleString()} failed {tests.failedTests === 1 ? "test" : "tests"})</>}
        </Text>
        <Text>
          Runs with a failed test (30 days): <strong>{tests.runsFailing.toLocaleString()}</strong> of {tests.runsTested.toLocaleString()}
        </Text>
      </Flex>
      <SimpleGrid columns={{ base: 1, lg: 2 }} gap={6}>
        {tests.failingDatasets.length > 0 && (
          <Box data-testid="failing-datasets">
            <DataTable
              rows={tests.failingDatasets}
              rowKey={(d) => `${d.namespace}\u0000${d.name}`}
              empty=""
              columns={[
                { header: "Dataset", cell: (d) => <DatasetLink namespace={d.namespace} name={d.name} /> },
                { header: "Failed", cell: (d) => `${d.failed} of ${d.passed + d.failed + d.unknown}` },
                { header: "Checked", cell: (d) => when(d.checkedAt) },
              ]}
            />
          </Box>
        )}
        {tests.failingRuns.length > 0 && (
          <Box data-testid="failing-runs">
            <DataTable
              rows={tests.failingRuns}
              rowKey={(r) => `${r.job.namespace}\u0000${r.job.name}\u0000${r.runId}`}
              empty=""
              columns={[
                { header: "Job", cell: (r) => <JobLink namespace={r.job.namespace} name={r.job.name} /> },
                {
                  header: "Run",
                  cell: (r) => (
                    <RunLink runId={r.runId} />
                  ),
                },
                { header: "Failed", cell: (r) => `${r.failed} of ${r.tests}` },
                { header: "When", cell: (r) => when(r.eventTime) },
              ]}
            />
          </Box>
        )}
      </SimpleGrid>
    </Section>
  );
}

function EventCharts({ stats }: { stats: Schemas["CatalogStats"] }) {
  const days = dayBuckets(stats.eventsPerDay, 30);
  const hours = hourBuckets(stats.eventsPerHour, 48);
  return (
    <Box>
      <BarChart bars={days} title="Per day, the last 30 days (UTC)" unit="events" summary={countSummary("Events received per day over the last 30 days", days)} testId="events-per-day" />
      <BarChart bars={hours} title="Per hour, the last 48 hours (UTC)" unit="events" summary={countSummary("Events received per hour over the last 48 hours", hours)} testId="events-per-hour" />
    </Box>
  );
}

export function OverviewPage() {
  const stats = useApi("stats", { query: { days: 30 } });
  const namespaces = useApi("namespaces", { query: { limit: 100 } });
  const sources = useApi("data-sources");
  if (stats.error) return <Problem message={stats.error} />;
  if (!stats.data) return <Loading what="the catalog" />;
  const s = stats.data;
  return (
    <Box>
      <Heading size="lg" mb={4}>
        Lineage catalog
      </Heading>
      <SimpleGrid columns={{ base: 2, md: 5 }} gap={3} mb={6}>
        <Count label="Events" value={s.events} link={href("events")} />
        <Count label="Jobs" value={s.jobs} link={href("search", { type: "job" })} />
        <Count label="Datasets" value={s.datasets} link={href("search", { type: "dataset" })} />
        <Count label="Namespaces" value={namespaces.data?.totalCount ?? 0} />
        <Count label="Quarantined events" value={s.quarantinedEvents} link={href("admin", { tab: "quarantine" })} />
      </SimpleGrid>
      <SimpleGrid columns={{ base: 1, lg: 2 }} gap={6}>
        <Section title="Events received">
          <EventCharts stats={s} />
        </Section>
        <Section title="Runs by state">
          <Flex gap={4} wrap="wrap">
            {Object.entries(s.runsByState).map(([state, count]) => (
              <Flex key={state} align="center" gap={2}>
                <StateBadge state={state} /> <Link href={href("runs", { state })} data-testid={`runs-${state}`}>{count.toLocaleString()}</Link>
              </Flex>
            ))}
            {Object.keys(s.runsByState).length === 0 && <Muted>No runs yet.</Muted>}
          </Flex>
        </Section>
      </SimpleGrid>
      <Section title="Ingestion health (30 days)">
        <Flex gap={6} wrap="wrap" data-testid="ingestion-health">
          <Text>
            Quarantined events: <Link href={href("admin", { tab: "quarantine" })}>{s.quarantinedEvents.toLocaleString()}</Link>
          </Text>
          {Object.entries(s.refusedByReason).map(([reason, count]) => (
            <Text key={reason}>
              Refused, {reason}: <Link href={href("admin", { tab: "refusals", reason })}>{count.toLocaleString()}</Link>
            </Text>
          ))}
          {Object.keys(s.refusedByReason).length === 0 && <Muted>No refused requests.</Muted>}
          {sources.data?.reconciled && (
            <Text>
              Namespaces matching no data source: <Link href={href("sources")}>{sources.data.unmatched.length}</Link>
            </Text>
          )}
        </Flex>
      </Section>
      {(s.tests.datasetsTested > 0 || s.tests.runsTested > 0) && <TestResults tests={s.tests} />}
      {s.facetWarnings.length > 0 && (
        <Section title="Facets that break their published schema (30 days)">
          <Text fontSize="sm" color="fg.muted" mb={2}>
            The events were stored; a facet the catalog shows whole (owners, SQL, statistics) was not used.
          </Text>
          <Box data-testid="facet-warnings">
            <DataTable
              rows={s.facetWarnings}
              rowKey={(w) => `${w.producer} ${w.facet}`}
              empty=""
              columns={[
                { header: "Producer", cell: (w) => <Name value={w.producer} /> },
                { header: "Facet", cell: (w) => <Code>{w.facet}</Code> },
                { header: "Events", cell: (w) => w.events.toLocaleString() },
                {
                  header: "Newest example",
                  cell: (w) => (
                    <Text fontSize="sm">
                      <Code>
                        <Name value={w.example.path} />
                      </Code>{" "}
                      <Name value={w.example.message} />
                    </Text>
                  ),
                },
                { header: "Last seen", cell: (w) => when(w.lastSeenAt) },
              ]}
            />
          </Box>
        </Section>
      )}
      <Section title="Namespaces">
        {namespaces.error && <Problem message={namespaces.error} />}
        {namespaces.data && (
          <DataTable
            rows={namespaces.data.namespaces}
            rowKey={(n) => n.name}
            empty="No namespaces yet: send some events."
            columns={[
              {
                header: "Namespace",
                cell: (n) => (
                  <Link href={href("search", { ns: n.name })}>
                    <Name value={n.name} />
                  </Link>
                ),
              },
              { header: "Integrations", cell: (n) => (n.registered ? (n.integrations ?? []).join(", ") || "—" : "datasets only") },
              { header: "Events", cell: (n) => (n.eventCount ?? 0).toLocaleString() },
              { header: "Last event", cell: (n) => when(n.lastEventAt) },
            ]}
          />
        )}
      </Section>
    </Box>
  );
}
