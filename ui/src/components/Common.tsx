import { Badge, Box, Button, Code, Flex, Heading, Link, Spinner, Table, Text } from "@chakra-ui/react";
import { Fragment, useState, type ReactNode } from "react";

import { isPlainName, lookAlikeFindings, lookAlikeWarning, nameParts, plainName } from "../names";
import { href } from "../route";
import "./name.css";

export function Loading({ what }: { what: string }) {
  return (
    <Flex align="center" gap={2} color="fg.muted" p={4} data-testid="loading">
      <Spinner size="sm" /> Loading {what}…
    </Flex>
  );
}

export function Problem({ message }: { message: string }) {
  return (
    <Box role="alert" borderWidth="1px" borderColor="border.error" bg="bg.error" color="fg.error" p={3} rounded="md">
      {message}
    </Box>
  );
}

/** A destructive action, asked for twice on the page itself: Airflow shows the catalog in an iframe
 * sandboxed without allow-modals, where window.confirm() answers false without asking. */
export function ConfirmButton({ label, question, onConfirm }: { label: string; question: string; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <Button size="xs" variant="outline" colorPalette="red" onClick={() => setAsking(true)}>
        {label}
      </Button>
    );
  return (
    <Flex gap={1} align="center" wrap="wrap">
      <Text fontSize="xs">{question}</Text>
      <Button size="xs" colorPalette="red" onClick={() => (setAsking(false), onConfirm())}>
        Yes, {label.toLowerCase()}
      </Button>
      <Button size="xs" variant="ghost" onClick={() => setAsking(false)}>
        Cancel
      </Button>
    </Flex>
  );
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <Box as="section" mb={6}>
      <Flex align="center" justify="space-between" mb={2}>
        <Heading size="md">{title}</Heading>
        {actions}
      </Flex>
      {children}
    </Box>
  );
}

const STATE_COLORS: Record<string, string> = {
  COMPLETED: "green",
  COMPLETE: "green",
  FAILED: "red",
  FAIL: "red",
  ABORTED: "orange",
  ABORT: "orange",
  RUNNING: "blue",
  START: "blue",
  NEW: "gray",
};

export function StateBadge({ state }: { state: string | null | undefined }) {
  const value = state ?? "NEW";
  return (
    <Badge colorPalette={STATE_COLORS[value] ?? "gray"} variant="subtle">
      {value}
    </Badge>
  );
}

/**
 * A namespace, dataset, job, field or run name, always as text. Characters that do not show as
 * themselves (zero-width, bidi controls, controls, odd spaces) are drawn as codes such as
 * ⟨U+200B⟩, so none can hide or reorder anything; the name is isolated from the text around it;
 * a look-alike name gets a ⚠ whose tooltip says what it holds. Links and API calls keep the
 * exact name: this only draws it.
 */
export function Name({ value }: { value: string }) {
  if (isPlainName(value)) return <bdi className="olc-name">{value}</bdi>;
  const warning = lookAlikeWarning(lookAlikeFindings(value));
  return (
    <bdi className="olc-name" data-testid="look-alike-name">
      {nameParts(value).map((part, i) =>
        part.marked ? (
          <span key={i} className="olc-name-code">
            ⟨{part.text}⟩
          </span>
        ) : (
          <Fragment key={i}>{part.text}</Fragment>
        ),
      )}
      <span className="olc-name-warning" role="img" aria-label={warning} title={warning}>
        ⚠
      </span>
    </bdi>
  );
}

export function DatasetLink({ namespace, name }: { namespace: string; name: string }) {
  return (
    <Link href={href("dataset", { ns: namespace, name })} color="fg.info" title={`${plainName(namespace)} ${plainName(name)}`}>
      <Name value={name} />
    </Link>
  );
}

export function JobLink({ namespace, name }: { namespace: string; name: string }) {
  return (
    <Link href={href("job", { ns: namespace, name })} color="fg.info" title={`${plainName(namespace)} ${plainName(name)}`}>
      <Name value={name} />
    </Link>
  );
}

/** A run by its id, in the small monospaced type run ids are shown in. */
/** A run's page; with its job, that job's run (a run id is unique per job only). */
export function RunLink({ runId, job, testId }: { runId: string; job?: { namespace: string; name: string }; testId?: string }) {
  return (
    <Link href={href("run", { id: runId, ns: job?.namespace, job: job?.name })} color="fg.info" fontFamily="mono" fontSize="xs" data-testid={testId}>
      <Name value={runId} />
    </Link>
  );
}

export function Muted({ children }: { children: ReactNode }) {
  return (
    <Text as="span" color="fg.muted" fontSize="sm">
      {children}
    </Text>
  );
}

/** Text as sent, line breaks kept (a stack trace, source code): React escapes it. */
export function PlainText({ text, maxHeight = "32rem" }: { text: string; maxHeight?: string }) {
  return (
    <Code as="pre" tabIndex={0} display="block" whiteSpace="pre" overflow="auto" maxH={maxHeight} p={3} fontSize="xs" w="100%" data-testid="plain-text">
      {text}
    </Code>
  );
}

/** Raw JSON, as text: React escapes it, so any value renders harmlessly. */
export function JsonView({ value, maxHeight = "32rem" }: { value: unknown; maxHeight?: string }) {
  return (
    <Code as="pre" tabIndex={0} display="block" whiteSpace="pre" overflow="auto" maxH={maxHeight} p={3} fontSize="xs" w="100%" data-testid="json">
      {JSON.stringify(value, null, 2)}
    </Code>
  );
}

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  /** The API's sort key for this column, when the server can sort by it. */
  sort?: string;
}

export interface SortState {
  by: string;
  desc: boolean;
}

interface DataTableProps<T> {
  rows: T[];
  columns: Column<T>[];
  empty: string;
  rowKey: (row: T) => string;
  sort?: SortState;
  onSort?: (sort: SortState) => void;
}

export function DataTable<T>({ rows, columns, empty, rowKey, sort, onSort }: DataTableProps<T>) {
  if (rows.length === 0) return <Muted>{empty}</Muted>;
  const header = (c: Column<T>) => {
    if (!c.sort || !onSort) return c.header;
    const active = sort?.by === c.sort;
    return (
      <Button
        variant="plain"
        size="xs"
        px={0}
        fontWeight="semibold"
        onClick={() => onSort({ by: c.sort!, desc: active ? !sort!.desc : false })}
      >
        {c.header} {active ? (sort!.desc ? "▼" : "▲") : ""}
      </Button>
    );
  };
  return (
    <Table.Root size="sm" variant="line" interactive>
      <Table.Header>
        <Table.Row>
          {columns.map((c) => (
            <Table.ColumnHeader key={c.header} aria-sort={c.sort && onSort ? (sort?.by === c.sort ? (sort.desc ? "descending" : "ascending") : "none") : undefined}>
              {header(c)}
            </Table.ColumnHeader>
          ))}
        </Table.Row>
      </Table.Header>
      <Table.Body>
        {rows.map((row) => (
          <Table.Row key={rowKey(row)}>
            {columns.map((c) => (
              <Table.Cell key={c.header}>{c.cell(row)}</Table.Cell>
            ))}
          </Table.Row>
        ))}
      </Table.Body>
    </Table.Root>
  );
}

/** Previous/next over a server-side paged list (`limit`, `offset`, `totalCount`). */
export function Pager({ offset, limit, total, onChange }: { offset: number; limit: number; total: number; onChange: (offset: number) => void }) {
  if (total <= limit) return null;
  return (
    <Flex align="center" gap={3} mt={2}>
      <Button size="xs" variant="outline" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        Previous
      </Button>
      <Muted>
        {offset + 1}–{Math.min(offset + limit, total)} of {total}
      </Muted>
      <Button size="xs" variant="outline" disabled={offset + limit >= total} onClick={() => onChange(offset + limit)}>
        Next
      </Button>
    </Flex>
  );
}

/** Two columns of dataset links: what a job or run reads and writes. */
export function InputsOutputs({ inputs, outputs }: { inputs: { namespace: string; name: string }[]; outputs: { namespace: string; name: string }[] }) {
  return (
    <Flex gap={8} wrap="wrap">
      {([["Inputs", inputs], ["Outputs", outputs]] as const).map(([title, datasets]) => (
        <Box key={title} flex="1" minW="14rem">
          <Heading size="sm">{title}</Heading>
          {datasets.length ? (
            <Box as="ul" pl={4}>
              {datasets.map((d) => (
                <li key={`${d.namespace}:${d.name}`}>
                  <DatasetLink namespace={d.namespace} name={d.name} />{" "}
                  <Muted>
                    <Name value={d.namespace} />
                  </Muted>
                </li>
              ))}
            </Box>
          ) : (
            <Muted>None</Muted>
          )}
        </Box>
      ))}
    </Flex>
  );
}
