// Catalog administration: namespaces, ingest tokens, quarantined events. The API refuses
// anyone who may not delete assets, and this page says so.
import { Badge, Box, Button, Code, Flex, Heading, Input, Tabs, Text } from "@chakra-ui/react";
import { useState } from "react";

import { seg, type ApiRequest, type Schemas } from "../api";
import { ConfirmButton, DataTable, Loading, Muted, Name, Pager, Problem, Section, type SortState } from "../components/Common";
import { when } from "../format";
import { plainName } from "../names";
import { sendJson } from "../postJson";
import { baseUrl, href, navigate, type Route } from "../route";
import { useApi } from "../useApi";

/** The columns an admin list sorts by, as its route declares them. */
type SortKey<Q> = Q extends { sortBy?: infer S } ? NonNullable<S> : never;

/** Server-side sort and paging of an admin list, kept in the page's URL. A sort key in the URL that the
 * route does not take goes to the API as it is, which answers with a 422 naming it. */
function useListState<S extends string>(route: Route, by: S, desc = false) {
  const p = route.params;
  const sort: SortState = { by: p.get("sortBy") ?? by, desc: p.has("sortDirection") ? p.get("sortDirection") === "desc" : desc };
  const offset = Number(p.get("offset") ?? 0);
  const go = (changes: Record<string, string | number>) => navigate(href("admin", { ...Object.fromEntries(p.entries()), ...changes }), true);
  return {
    sort,
    offset,
    query: { sortBy: sort.by as S, sortDirection: sort.desc ? ("desc" as const) : ("asc" as const), offset, limit: PAGE },
    onSort: (next: SortState) => go({ sortBy: next.by, sortDirection: next.desc ? "desc" : "asc", offset: 0 }),
    onPage: (next: number) => go({ offset: next }),
  };
}

const PAGE = 100;

const list = (text: string): string[] =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function useAction(done: () => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      done();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

function Namespaces({ route }: { route: Route }) {
  const state = useListState<SortKey<ApiRequest<"admin/namespaces">["query"]>>(route, "name");
  const found = useApi("admin/namespaces", { query: state.query });
  const action = useAction(found.reload);
  const [name, setName] = useState("");
  const [admins, setAdmins] = useState("");
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="namespaces" />;
  return (
    <Box>
      <Section title="Create a namespace">
        <Flex gap={2} wrap="wrap">
          <Input size="sm" w="20rem" placeholder="Name" aria-label="New namespace name" value={name} onChange={(e) => setName(e.target.value)} />
          <Input size="sm" w="24rem" placeholder="Admins (Airflow users, comma-separated)" aria-label="New namespace admins" value={admins} onChange={(e) => setAdmins(e.target.value)} />
          <Button size="sm" loading={action.busy} onClick={() => action.run(() => sendJson("POST", "admin/namespaces", { name, admins: list(admins) }).then(() => (setName(""), setAdmins(""))))}>
            Create
          </Button>
        </Flex>
      </Section>
      {action.error && <Problem message={action.error} />}
      <DataTable
        rows={found.data.namespaces}
        rowKey={(n) => n.name}
        empty="No namespaces yet."
        sort={state.sort}
        onSort={state.onSort}
        columns={[
          {
            header: "Namespace",
            sort: "name",
            cell: (n) =>
              n.deletedAt ? (
                <Text color="fg.muted">
                  <Name value={n.name} /> (deleted)
                </Text>
              ) : (
                <Name value={n.name} />
              ),
          },
          {
            header: "Admins",
            cell: (n) => (
              <Input
                size="xs"
                aria-label={`Admins of ${plainName(n.name)}`}
                defaultValue={n.admins.join(", ")}
                onBlur={(e) => e.target.value !== n.admins.join(", ") && action.run(() => sendJson("PATCH", `admin/namespaces/${seg(n.name)}`, { admins: list(e.target.value) }))}
              />
            ),
          },
          { header: "Integrations", cell: (n) => n.integrations.join(", ") || "—" },
          { header: "Events", sort: "eventCount", cell: (n) => n.eventCount.toLocaleString() },
          { header: "Quarantined", cell: (n) => n.quarantinedEvents },
          { header: "Last event", sort: "lastEventAt", cell: (n) => when(n.lastEventAt) },
          {
            header: "",
            cell: (n) =>
              n.deletedAt ? (
                <Button size="xs" variant="outline" onClick={() => action.run(() => sendJson("POST", `namespaces/${seg(n.name)}/restore`, {}))}>
                  Restore
                </Button>
              ) : (
                <ConfirmButton
                  label="Delete"
                  question={`Delete namespace ${plainName(n.name)}? Its jobs leave the catalog until it is restored.`}
                  onConfirm={() => action.run(() => sendJson("DELETE", `namespaces/${seg(n.name)}`))}
                />
              ),
          },
        ]}
      />
      <Pager offset={state.offset} limit={PAGE} total={found.data.totalCount} onChange={state.onPage} />
    </Box>
  );
}

export function snippets(secret: string): { openlineageYml: string; airflowTransport: string } {
  const url = baseUrl();
  return {
    openlineageYml: `transport:\n  type: http\n  url: ${url}\n  endpoint: ol-catalog/api/v1/lineage\n  compression: gzip\n  auth:\n    type: api_key\n    apiKey: ${secret}\n`,
    airflowTransport: `[openlineage]\ntransport = ${JSON.stringify({ type: "http", url, endpoint: "ol-catalog/api/v1/lineage", compression: "gzip", auth: { type: "api_key", apiKey: secret } })}\n`,
  };
}

function Copyable({ label, text }: { label: string; text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Box mb={3}>
      <Flex align="center" gap={2} mb={1}>
        <Text fontWeight="semibold">{label}</Text>
        <Button size="xs" variant="outline" onClick={() => navigator.clipboard.writeText(text).then(() => setCopied(true))}>
          {copied ? "Copied" : "Copy"}
        </Button>
      </Flex>
      <Code as="pre" display="block" p={2} whiteSpace="pre-wrap" wordBreak="break-all" fontSize="xs" data-testid={`snippet-${label}`}>
        {text}
      </Code>
    </Box>
  );
}

function Tokens({ route }: { route: Route }) {
  const state = useListState<SortKey<ApiRequest<"admin/tokens">["query"]>>(route, "name");
  const found = useApi("admin/tokens", { query: { includeRevoked: true, ...state.query } });
  const action = useAction(found.reload);
  const [name, setName] = useState("");
  const [namespaces, setNamespaces] = useState("");
  const [read, setRead] = useState(false);
  const [admin, setAdmin] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="tokens" />;
  const create = () =>
    action.run(async () => {
      const only = list(namespaces); // none listed: every namespace (the API refuses an empty list)
      const body = await sendJson<Schemas["CreatedToken"]>("POST", "admin/tokens", { name, namespaces: only.length ? only : null, read, admin });
      setSecret(body.secret);
      setName("");
      setNamespaces("");
    });
  const shown = secret ? snippets(secret) : null;
  return (
    <Box>
      <Section title="Create an ingest token">
        <Flex gap={2} wrap="wrap" align="center">
          <Input size="sm" w="16rem" placeholder="Name, e.g. spark-prod" aria-label="Token name" value={name} onChange={(e) => setName(e.target.value)} />
          <Input size="sm" w="26rem" placeholder="Only namespaces (comma-separated; empty: all)" aria-label="Token namespaces" value={namespaces} onChange={(e) => setNamespaces(e.target.value)} />
          <Flex as="label" align="center" gap={1}>
            <input type="checkbox" checked={read} onChange={(e) => setRead(e.target.checked)} aria-label="May read the catalog" /> May read the catalog
          </Flex>
          <Flex as="label" align="center" gap={1}>
            <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} aria-label="May administer" /> May administer (maintenance DAGs)
          </Flex>
          <Button size="sm" loading={action.busy} onClick={create}>
            Create token
          </Button>
        </Flex>
      </Section>
      {action.error && <Problem message={action.error} />}
      {secret && shown && (
        <Box borderWidth="1px" borderColor="border.warning" bg="bg.warning" p={3} rounded="md" mb={4} data-testid="new-token">
          <Text mb={2}>This is the only time the token is shown: copy it now.</Text>
          <Copyable label="Token" text={secret} />
          <Copyable label="openlineage.yml" text={shown.openlineageYml} />
          <Copyable label="Airflow" text={shown.airflowTransport} />
          <Button size="xs" onClick={() => setSecret(null)}>
            Done
          </Button>
        </Box>
      )}
      <DataTable
        rows={found.data.tokens}
        rowKey={(t) => t.name}
        empty="No tokens yet."
        sort={state.sort}
        onSort={state.onSort}
        columns={[
          { header: "Name", sort: "name", cell: (t) => t.name },
          { header: "Prefix", cell: (t) => <Code>{t.prefix}…</Code> },
          { header: "Namespaces", cell: (t) => (t.namespaces ? t.namespaces.map(plainName).join(", ") : "all") },
          { header: "Read", cell: (t) => (t.read ? "yes" : "no") },
          { header: "Admin", cell: (t) => (t.admin ? "yes" : "no") },
          { header: "Created", sort: "createdAt", cell: (t) => `${when(t.createdAt)} by ${t.createdBy}` },
          { header: "Last used", sort: "lastUsedAt", cell: (t) => when(t.lastUsedAt) },
          {
            header: "",
            cell: (t) =>
              t.revokedAt ? (
                <Badge>revoked {when(t.revokedAt)}</Badge>
              ) : (
                <ConfirmButton label="Revoke" question={`Revoke token ${t.name}?`} onConfirm={() => action.run(() => sendJson("POST", `admin/tokens/${seg(t.name)}/revoke`, {}))} />
              ),
          },
        ]}
      />
      <Pager offset={state.offset} limit={PAGE} total={found.data.totalCount} onChange={state.onPage} />
    </Box>
  );
}

function Quarantine({ route }: { route: Route }) {
  const state = useListState<SortKey<ApiRequest<"admin/quarantine">["query"]>>(route, "receivedAt");
  const found = useApi("admin/quarantine", { query: state.query });
  const action = useAction(found.reload);
  const [result, setResult] = useState<string | null>(null);
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="quarantined events" />;
  const namespaces = [...new Set(found.data.events.map((e) => e.namespace))];
  return (
    <Box>
      <Text mb={3}>
        {found.data.totalCount} events are quarantined: their namespace does not exist or is deleted. Create or restore the namespace, then replay them.
      </Text>
      {action.error && <Problem message={action.error} />}
      {result && <Text mb={2}>{result}</Text>}
      {namespaces.map((ns) => (
        <Flex key={ns} gap={2} align="center" mb={2}>
          <Text minW="16rem">
            <Name value={ns} />
          </Text>
          <Button size="xs" onClick={() => action.run(() => sendJson<Schemas["Replayed"]>("POST", "admin/quarantine/replay", { namespace: ns }).then((b) => setResult(`${b.total} events replayed.`)))}>
            Replay
          </Button>
          <ConfirmButton
            label="Discard"
            question={`Discard the quarantined events of ${plainName(ns)}?`}
            onConfirm={() => action.run(() => sendJson<Schemas["Discarded"]>("POST", "admin/quarantine/discard", { namespace: ns }).then((b) => setResult(`${b.discarded} events discarded.`)))}
          />
        </Flex>
      ))}
      <DataTable
        rows={found.data.events}
        rowKey={(e) => String(e.eventId)}
        empty="Nothing is quarantined."
        sort={state.sort}
        onSort={state.onSort}
        columns={[
          { header: "Event", cell: (e) => e.eventId },
          { header: "Namespace", sort: "namespace", cell: (e) => <Name value={e.namespace} /> },
          { header: "Received", sort: "receivedAt", cell: (e) => when(e.receivedAt) },
          { header: "Kind", cell: (e) => [e.kind, e.eventType].filter(Boolean).join(" ") },
          { header: "Job", sort: "jobName", cell: (e) => (e.jobName ? <Name value={e.jobName} /> : "—") },
          { header: "Run", cell: (e) => (e.runId ? <Name value={e.runId} /> : "—") },
        ]}
      />
      <Pager offset={state.offset} limit={PAGE} total={found.data.totalCount} onChange={state.onPage} />
    </Box>
  );
}

function Refusals({ route }: { route: Route }) {
  const reason = route.params.get("reason");
  const state = useListState<SortKey<ApiRequest<"admin/refusals">["query"]>>(route, "at", true);
  const found = useApi("admin/refusals", { query: { reason, ...state.query } });
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="refused requests" />;
  return (
    <Box>
      <Text mb={3}>
        {found.data.totalCount} refused requests{reason ? ` (${reason})` : ""} in the last 30 days.
      </Text>
      <DataTable
        rows={found.data.refusals}
        rowKey={(r) => `${r.at}-${r.detail}-${r.path}`}
        empty="No refused requests."
        sort={state.sort}
        onSort={state.onSort}
        columns={[
          { header: "When", sort: "at", cell: (r) => when(r.at) },
          { header: "Status", sort: "status", cell: (r) => <Badge colorPalette={r.status >= 500 ? "orange" : "red"}>{r.status}</Badge> },
          { header: "Reason", sort: "reason", cell: (r) => r.reason },
          { header: "Message", cell: (r) => <Text fontSize="xs">{r.detail}</Text> },
          { header: "Caller", sort: "caller", cell: (r) => r.caller ?? "—" },
          { header: "From", cell: (r) => r.remote ?? "—" },
        ]}
      />
      <Pager offset={state.offset} limit={PAGE} total={found.data.totalCount} onChange={state.onPage} />
    </Box>
  );
}

export function AdminPage({ route }: { route: Route }) {
  const me = useApi("me");
  const tab = route.params.get("tab") ?? "namespaces";
  if (me.error) return <Problem message={me.error} />;
  if (!me.data) return <Loading what="your permissions" />;
  if (!me.data.admin) return <Problem message={`${me.data.name} may not administer the catalog: it takes an Airflow user who may delete assets.`} />;
  return (
    <Box>
      <Heading size="lg" mb={3}>
        Lineage admin
      </Heading>
      <Tabs.Root value={tab} onValueChange={(e) => navigate(href("admin", { tab: e.value }), true)} lazyMount unmountOnExit>
        <Tabs.List>
          <Tabs.Trigger value="namespaces">Namespaces</Tabs.Trigger>
          <Tabs.Trigger value="tokens">Tokens</Tabs.Trigger>
          <Tabs.Trigger value="quarantine">Quarantine</Tabs.Trigger>
          <Tabs.Trigger value="refusals">Refused requests</Tabs.Trigger>
        </Tabs.List>
        <Tabs.Content value="namespaces">
          <Namespaces route={route} />
        </Tabs.Content>
        <Tabs.Content value="tokens">
          <Tokens route={route} />
        </Tabs.Content>
        <Tabs.Content value="quarantine">
          <Quarantine route={route} />
        </Tabs.Content>
        <Tabs.Content value="refusals">
          <Refusals route={route} />
        </Tabs.Content>
      </Tabs.Root>
      <Muted>Signed in as {me.data.name}.</Muted>
    </Box>
  );
}
