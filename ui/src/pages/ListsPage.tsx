// The lists behind the overview's numbers: raw events (newest first) and runs by state.
import { Box, Heading, Link } from "@chakra-ui/react";

import type { ApiRequest, Schemas } from "../api";
import { EventFilterBar, type EventFilters, EventList } from "../components/EventList";
import { DataTable, JobLink, Loading, Name, Pager, Problem, StateBadge } from "../components/Common";
import { duration, when } from "../format";
import { href, navigate, type Route } from "../route";
import { useApi } from "../useApi";

const PAGE = 100;

type EventsQuery = NonNullable<ApiRequest<"events/lineage">["query"]>;

function usePage(route: Route, page: string) {
  const offset = Number(route.params.get("offset") ?? 0);
  const go = (next: number) => navigate(href(page, { ...Object.fromEntries(route.params.entries()), offset: next }), true);
  return { offset, go };
}

export function EventsPage({ route }: { route: Route }) {
  const { offset, go } = usePage(route, "events");
  const filters: EventFilters = {
    namespace: route.params.get("namespace") ?? "",
    job: route.params.get("job") ?? "",
    runId: route.params.get("runId") ?? "",
    eventType: route.params.get("eventType") ?? "",
    producer: route.params.get("producer") ?? "",
  };
  const found = useApi("events/lineage", {
    query: {
      namespace: filters.namespace || undefined,
      job: filters.job || undefined,
      runId: filters.runId || undefined,
      // Any other value goes to the API as it is, and the page shows the 422 that names it.
      eventType: (filters.eventType || undefined) as EventsQuery["eventType"],
      producer: filters.producer || undefined,
      // Every kind of event, as the overview counts them (the API lists RunEvents alone unless asked, as Marquez does).
      kind: "all",
      limit: PAGE,
      offset,
    },
  });
  return (
    <Box>
      <Heading size="lg" mb={3}>
        Events{found.data ? ` (${found.data.totalCount.toLocaleString()})` : ""}
      </Heading>
      <EventFilterBar filters={filters} onChange={(next) => navigate(href("events", { ...next, offset: 0 }), true)} />
      {found.error && <Problem message={found.error} />}
      {found.loading && <Loading what="events" />}
      {found.data && (
        <>
          <EventList events={found.data.events} />
          <Pager offset={offset} limit={PAGE} total={found.data.totalCount} onChange={go} />
        </>
      )}
    </Box>
  );
}

export function RunsPage({ route }: { route: Route }) {
  const { offset, go } = usePage(route, "runs");
  // Any other value goes to the API as it is, and the page shows the 422 that names it.
  const state = route.params.get("state") as Schemas["RunState"] | null;
  const found = useApi("runs", { query: { state, limit: PAGE, offset } });
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="runs" />;
  return (
    <Box>
      <Heading size="lg" mb={3}>
        Runs{state ? ` ${state.toLowerCase()}` : ""} ({found.data.totalCount.toLocaleString()})
      </Heading>
      <DataTable
        rows={found.data.runs}
        rowKey={(r) => `${r.jobVersion.namespace}:${r.jobVersion.name}:${r.id}`}
        empty="No runs."
        columns={[
          { header: "Job", cell: (r) => <JobLink namespace={r.jobVersion.namespace} name={r.jobVersion.name} /> },
          {
            header: "Run",
            cell: (r) => (
              <Link href={href("run", { id: r.id, ns: r.jobVersion.namespace, job: r.jobVersion.name })}>
                <Name value={r.id} />
              </Link>
            ),
          },
          { header: "State", cell: (r) => <StateBadge state={r.state} /> },
          { header: "Started", cell: (r) => when(r.startedAt) },
          { header: "Duration", cell: (r) => duration(r.durationMs) },
        ]}
      />
      <Pager offset={offset} limit={PAGE} total={found.data.totalCount} onChange={go} />
    </Box>
  );
}
