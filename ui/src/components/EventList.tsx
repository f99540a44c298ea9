// Raw OpenLineage events as a list a producer's author can debug with: what each event is about
// (job or dataset, namespace, run), who sent it, and the event itself on demand.
import { Box, Button, Flex, Input, NativeSelect, Table, Text, VisuallyHidden } from "@chakra-ui/react";
import { Fragment, useState } from "react";

import type { RawEvent } from "../api";
import { DatasetLink, JobLink, JsonView, Muted, Name, RunLink, StateBadge } from "./Common";
import { when } from "../format";

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function part(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/** What an event is about: a run event and a job event name a job, a dataset event its dataset. */
export function eventSubject(e: RawEvent): { kind: "job" | "dataset"; namespace: string; name: string } | null {
  for (const kind of ["job", "dataset"] as const) {
    const namespace = text(part(e[kind], "namespace"));
    const name = text(part(e[kind], "name"));
    if (namespace !== null && name !== null) return { kind, namespace, name };
  }
  return null;
}

/** A producer URI, shorter: without the host, and its end when still long (the whole URI on hover). */
export function shortProducer(producer: string): string {
  const short = producer.replace(/^https?:\/\/(www\.)?github\.com\//, "").replace(/^https?:\/\//, "");
  return short.length > 48 ? `…${short.slice(-47)}` : short;
}

function kindOf(e: RawEvent): string {
  if (text(e.eventType)) return text(e.eventType)!;
  return part(e.dataset, "name") !== undefined ? "DATASET" : part(e.run, "runId") === undefined ? "JOB" : "EVENT";
}

/** Events in a table; `ofOneRun` leaves out the job and run columns (a run's own page names them). */
export function EventList({ events, ofOneRun = false }: { events: RawEvent[]; ofOneRun?: boolean }) {
  const [open, setOpen] = useState<number | null>(null);
  if (events.length === 0) return <Muted>No events.</Muted>;
  const columns = ofOneRun ? 4 : 7;
  return (
    <Table.Root size="sm" variant="line" data-testid="event-list">
      <Table.Header>
        <Table.Row>
          <Table.ColumnHeader>Type</Table.ColumnHeader>
          <Table.ColumnHeader>Event time</Table.ColumnHeader>
          {!ofOneRun && <Table.ColumnHeader>Job or dataset</Table.ColumnHeader>}
          {!ofOneRun && <Table.ColumnHeader>Namespace</Table.ColumnHeader>}
          {!ofOneRun && <Table.ColumnHeader>Run</Table.ColumnHeader>}
          <Table.ColumnHeader>Producer</Table.ColumnHeader>
          <Table.ColumnHeader>
            <VisuallyHidden>Event</VisuallyHidden>
          </Table.ColumnHeader>
        </Table.Row>
      </Table.Header>
      <Table.Body>
        {events.map((e, i) => {
          const subject = eventSubject(e);
          const runId = text(part(e.run, "runId"));
          const producer = text(e.producer) ?? "";
          return (
            <Fragment key={i}>
              <Table.Row data-testid="event">
                <Table.Cell>
                  <StateBadge state={kindOf(e)} />
                </Table.Cell>
                <Table.Cell whiteSpace="nowrap">{when(text(e.eventTime))}</Table.Cell>
                {!ofOneRun && (
                  <Table.Cell>
                    {subject === null ? <Muted>none</Muted> : subject.kind === "job" ? <JobLink {...subject} /> : <DatasetLink {...subject} />}
                  </Table.Cell>
                )}
                {!ofOneRun && <Table.Cell>{subject && <Name value={subject.namespace} />}</Table.Cell>}
                {!ofOneRun && <Table.Cell>{runId && <RunLink runId={runId} />}</Table.Cell>}
                <Table.Cell title={producer}>
                  <Text fontSize="xs">
                    <Name value={shortProducer(producer)} />
                  </Text>
                </Table.Cell>
                <Table.Cell>
                  <Button size="xs" variant="ghost" aria-expanded={open === i} onClick={() => setOpen(open === i ? null : i)}>
                    {open === i ? "Hide event" : "Show event"}
                  </Button>
                </Table.Cell>
              </Table.Row>
              {open === i && (
                <Table.Row>
                  <Table.Cell colSpan={columns}>
                    <JsonView value={e} />
                  </Table.Cell>
                </Table.Row>
              )}
            </Fragment>
          );
        })}
      </Table.Body>
    </Table.Root>
  );
}

export interface EventFilters {
  namespace: string;
  job: string;
  runId: string;
  eventType: string;
  producer: string;
}

const EVENT_TYPES = ["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"];

/** The filters of the events list: typed text applies on Enter or when the box is left. */
export function EventFilterBar({ filters, onChange }: { filters: EventFilters; onChange: (next: EventFilters) => void }) {
  const [draft, setDraft] = useState(filters);
  const [draftFor, setDraftFor] = useState(filters);
  if (JSON.stringify(draftFor) !== JSON.stringify(filters)) {
    setDraftFor(filters); // the URL changed (back, a link): show what it says
    setDraft(filters);
  }
  const apply = () => JSON.stringify(draft) !== JSON.stringify(filters) && onChange(draft);
  const box = (key: "namespace" | "job" | "runId" | "producer", label: string, width: string) => (
    <Input
      size="sm"
      w={width}
      placeholder={label}
      aria-label={label}
      value={draft[key]}
      onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
      onKeyDown={(e) => e.key === "Enter" && apply()}
      onBlur={apply}
    />
  );
  const any = Object.values(filters).some(Boolean);
  return (
    <Flex gap={2} mb={3} wrap="wrap" align="center" data-testid="event-filters">
      {box("namespace", "Namespace", "14rem")}
      {box("job", "Job name", "14rem")}
      {box("runId", "Run id", "18rem")}
      {box("producer", "Producer URI", "18rem")}
      <NativeSelect.Root size="sm" w="10rem">
        <NativeSelect.Field aria-label="Event type" value={filters.eventType} onChange={(e) => onChange({ ...draft, eventType: e.target.value })}>
          <option value="">Any type</option>
          {EVENT_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </NativeSelect.Field>
      </NativeSelect.Root>
      {any && (
        <Button size="xs" variant="ghost" onClick={() => onChange({ namespace: "", job: "", runId: "", eventType: "", producer: "" })}>
          Clear filters
        </Button>
      )}
      <Box flex="1" />
    </Flex>
  );
}
