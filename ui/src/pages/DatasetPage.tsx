import { Badge, Box, Flex, Heading, Link, NativeSelect, Table, Tabs, Text } from "@chakra-ui/react";
import { Fragment, useState } from "react";

import { lineageNodes, nodeId, nodeQuery, seg, type Dataset, type DatasetVersion, type Field, type LineageNode, type NodeQuery, type Schemas } from "../api";
import { DatasetAssetsSection } from "../components/AirflowAssets";
import { Impact } from "../components/Impact";
import { DataTable, DatasetLink, JobLink, JsonView, Loading, Muted, Name, Pager, Problem, Section } from "../components/Common";
import { LineageGraph } from "../components/LineageGraph";
import { StatedFlows } from "../components/StatedFlows";
import { MeasurementsTab } from "../components/Measurements";
import { failingColumns, QualitySection, TestRunsSection } from "../components/Quality";
import { TagEditor, useTagEditing } from "../components/Tags";
import { when } from "../format";
import { href, navigate, type Route } from "../route";
import { useApi } from "../useApi";

export interface FieldChange {
  name: string | null; // a schema facet may send a field without a name
  change: "added" | "removed" | "changed" | "same";
  before?: Field;
  after?: Field;
}

/** Field-by-field difference between two schema versions (by field name). */
export function diffFields(before: Field[], after: Field[]): FieldChange[] {
  const old = new Map(before.map((f) => [f.name, f]));
  const now = new Map(after.map((f) => [f.name, f]));
  const names = [...new Set([...before.map((f) => f.name), ...after.map((f) => f.name)])];
  return names.map((name) => {
    const b = old.get(name);
    const a = now.get(name);
    if (!b) return { name, change: "added", after: a };
    if (!a) return { name, change: "removed", before: b };
    const same = (b.type ?? "") === (a.type ?? "") && (b.description ?? "") === (a.description ?? "");
    return { name, change: same ? "same" : "changed", before: b, after: a };
  });
}

/** Where a dataset's columns are tagged from: its API path, whether the user may edit, what to reload after. */
interface ColumnTagging {
  path: string;
  editable: boolean;
  reload: () => void;
}

function Schema({ fields, sent, tagging, failing }: { fields: Field[]; sent: boolean; tagging?: ColumnTagging; failing?: Map<string, string[]> }) {
  return (
    <DataTable
      rows={fields}
      rowKey={(f) => f.name ?? ""}
      empty={sent ? "The schema facet sent for this dataset lists no fields." : "No schema facet has been sent for this dataset."}
      columns={[
        {
          header: "Field",
          cell: (f) => (
            <Text fontFamily="mono">
              <Name value={f.name ?? ""} />
              {f.name != null && failing?.has(f.name) && (
                <Badge colorPalette="red" variant="solid" ms={2} fontFamily="body" title={`failed: ${failing.get(f.name)!.join(", ")}`} data-testid="failing-column">
                  test failed
                </Badge>
              )}
            </Text>
          ),
        },
        { header: "Type", cell: (f) => f.type ?? "—" },
        { header: "Description", cell: (f) => f.description ?? "" },
        ...(tagging
          ? [
              {
                header: "Tags",
                // A field sent without a name has no path to tag it by.
                cell: (f: Field) =>
                  f.name === null ? null : <TagEditor path={`${tagging.path}/fields/${seg(f.name)}`} tagged={f} editable={tagging.editable} label={`column ${f.name}`} onChange={tagging.reload} />,
              },
            ]
          : []),
      ]}
    />
  );
}

const CHANGE_COLORS = { added: "green", removed: "red", changed: "orange", same: "gray" } as const;

function VersionSelect({ label, value, versions, onChange }: { label: string; value: string; versions: DatasetVersion[]; onChange: (v: string) => void }) {
  return (
    <NativeSelect.Root w="20rem">
      <NativeSelect.Field aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {versions.map((v) => (
          <option key={v.id.version} value={v.id.version}>
            {`${when(v.createdAt)} · ${(v.datasetVersion ?? v.version).slice(0, 12)}`}
          </option>
        ))}
      </NativeSelect.Field>
    </NativeSelect.Root>
  );
}

function Versions({ ds }: { ds: Dataset }) {
  const [offset, setOffset] = useState(0);
  const limit = 50;
  const versions = useApi("namespaces/{namespace}/datasets/{dataset}/versions", { path: { namespace: ds.namespace, dataset: ds.name }, query: { limit, offset } });
  const [pair, setPair] = useState<[string, string] | null>(null);
  if (versions.error) return <Problem message={versions.error} />;
  if (!versions.data) return <Loading what="versions" />;
  const list = versions.data.versions;
  const [a, b] = pair ?? [list[1]?.id.version ?? list[0]?.id.version, list[0]?.id.version];
  const before = list.find((v) => v.id.version === a);
  const after = list.find((v) => v.id.version === b);
  const pick = (value: string, which: 0 | 1) => setPair(which === 0 ? [value, b] : [a, value]);
  return (
    <Box>
      <DataTable
        rows={list}
        rowKey={(v) => v.id.version}
        empty="No versions: no output write has sent a schema or a version facet."
        columns={[
          { header: "Version", cell: (v) => <Text fontFamily="mono">{(v.datasetVersion ?? v.version).slice(0, 16)}</Text> },
          { header: "First written", cell: (v) => when(v.createdAt) },
          { header: "Last seen", cell: (v) => when(v.lastSeenAt) },
          { header: "Fields", cell: (v) => v.fields.length },
          {
            header: "Written by run",
            cell: (v) =>
              v.createdByRun ? (
                <Link href={href("run", { id: v.createdByRun.id })}>
                  <Name value={v.createdByRun.id} />
                </Link>
              ) : (
                "—"
              ),
          },
        ]}
      />
      <Pager offset={offset} limit={limit} total={versions.data.totalCount} onChange={setOffset} />
      {list.length > 1 && before && after && (
        <Section title="Schema difference">
          <Flex gap={3} mb={3} align="center">
            <VersionSelect label="Older version" value={a} versions={list} onChange={(v) => pick(v, 0)} />
            <Text>→</Text>
            <VersionSelect label="Newer version" value={b} versions={list} onChange={(v) => pick(v, 1)} />
          </Flex>
          <Table.Root size="sm" data-testid="schema-diff">
            <Table.Header>
              <Table.Row>
                <Table.ColumnHeader>Field</Table.ColumnHeader>
                <Table.ColumnHeader>Change</Table.ColumnHeader>
                <Table.ColumnHeader>Before</Table.ColumnHeader>
                <Table.ColumnHeader>After</Table.ColumnHeader>
              </Table.Row>
            </Table.Header>
            <Table.Body>
              {diffFields(before.fields, after.fields).map((c) => (
                <Table.Row key={c.name ?? ""}>
                  <Table.Cell fontFamily="mono">
                    <Name value={c.name ?? ""} />
                  </Table.Cell>
                  <Table.Cell>
                    <Badge colorPalette={CHANGE_COLORS[c.change]}>{c.change}</Badge>
                  </Table.Cell>
                  <Table.Cell>{c.before?.type ?? ""}</Table.Cell>
                  <Table.Cell>{c.after?.type ?? ""}</Table.Cell>
                </Table.Row>
              ))}
            </Table.Body>
          </Table.Root>
        </Section>
      )}
    </Box>
  );
}

function ProducersAndConsumers({ ds }: { ds: Dataset }) {
  const id = nodeId("dataset", ds.namespace, ds.name);
  const around = useApi("lineage", { query: { ...nodeQuery("dataset", ds.namespace, ds.name), depth: 1, includeAttempted: true } });
  if (around.error) return <Problem message={around.error} />;
  if (!around.data) return <Loading what="producers and consumers" />;
  const graph = lineageNodes(around.data.graph);
  const self = graph.find((n) => n.id === id);
  const byId = new Map(graph.map((n) => [n.id, n]));
  const jobs = (ids: string[]) => ids.map((i) => byId.get(i)).filter((n): n is LineageNode => !!n && n.type === "JOB");
  const producers = jobs(self?.inEdges.map((e) => e.origin) ?? []);
  const consumers = jobs(self?.outEdges.map((e) => e.destination) ?? []);
  // A graph cut at its size limit keeps no hop it cannot hold whole: none of these jobs is in it.
  const cut = around.data.truncated;
  const list = (nodes: LineageNode[], empty: string) =>
    cut ? (
      <Box data-testid="too-many-jobs">
        <Muted>
          More jobs read or write it than one lineage graph may hold ([ol_catalog] max_graph_nodes), so none is
          listed here.
        </Muted>
      </Box>
    ) : nodes.length ? (
      <Box as="ul" pl={4}>
        {nodes.map((n) => (
          <li key={n.id}>
            <JobLink namespace={n.data.namespace} name={n.data.name} />{" "}
            <Muted>
              <Name value={n.data.namespace} />
            </Muted>
          </li>
        ))}
      </Box>
    ) : (
      <Muted>{empty}</Muted>
    );
  return (
    <Flex gap={8} wrap="wrap">
      <Box flex="1" minW="16rem">
        <Heading size="sm" mb={1}>
          Produced by
        </Heading>
        {list(producers, "No job writes it.")}
      </Box>
      <Box flex="1" minW="16rem">
        <Heading size="sm" mb={1}>
          Consumed by
        </Heading>
        {list(consumers, "No job reads it.")}
      </Box>
    </Flex>
  );
}

function ColumnLineage({ ds }: { ds: Dataset }) {
  const lineage = useApi("column-lineage", { query: { ...nodeQuery("dataset", ds.namespace, ds.name), depth: 1 } });
  if (lineage.error) return <Problem message={lineage.error} />;
  if (!lineage.data) return <Loading what="column lineage" />;
  const inputsOf = (n: Schemas["ColumnNode"]) => n.data.inputFields;
  const mine = lineage.data.graph.filter((n) => n.data.namespace === ds.namespace && n.data.dataset === ds.name && inputsOf(n).length > 0);
  return (
    <Box>
      <Flex justify="end" mb={2}>
        <Link href={href("graph", { node: nodeId("dataset", ds.namespace, ds.name), ns: ds.namespace, columns: true })}>Column lineage graph →</Link>
      </Flex>
      <DataTable
        rows={mine}
        rowKey={(n) => n.id}
        empty="No column lineage has been sent for this dataset's fields."
        columns={[
          { header: "Field", cell: (n) => <Text fontFamily="mono">{n.data.field ? <Name value={n.data.field} /> : "(whole dataset)"}</Text> },
          {
            header: "Comes from",
            cell: (n) => (
              <Box>
                {inputsOf(n).map((i) => (
                  <Flex key={`${i.namespace}:${i.dataset}:${i.field}:${i.transformationType}:${i.transformationSubtype}`} gap={2} align="center">
                    <DatasetLink namespace={i.namespace} name={i.dataset} />
                    <Text fontFamily="mono" fontSize="xs">
                      {i.field ? (
                        <>
                          .<Name value={i.field} />
                        </>
                      ) : (
                        "(whole dataset)"
                      )}
                    </Text>
                    {i.transformationType && (
                      <Badge size="sm" title={i.transformationDescription ?? undefined}>
                        {[i.transformationType, i.transformationSubtype].filter(Boolean).join(" / ")}
                      </Badge>
                    )}
                  </Flex>
                ))}
              </Box>
            ),
          },
        ]}
      />
    </Box>
  );
}

/** A dataset's `dataSource`, which the Dataset model declares as an open object. */
interface DataSourceMatch {
  status: "matched" | "unmatched" | "ambiguous";
  connId: string | null; // null when withheld
  candidates: string[];
  check: { status: "ok" | "missing" | "drifted" | "error"; evidence: Record<string, unknown>; checkedAt: string | null } | null;
  withheld: Schemas["Withheld"] | null;
}

const CHECK_COLORS = { ok: "green", missing: "red", drifted: "orange", error: "gray" } as const;

/** Where the dataset lives among Airflow's Connections, and how its table compares (ol_catalog_reconcile). */
export function SourceBadge({ match }: { match: DataSourceMatch | null }) {
  if (!match) return null;
  const evidence = match.check?.evidence as { missing?: string[]; extra?: string[]; changed?: { column: string }[]; error?: string } | undefined;
  const details = [
    evidence?.missing?.length ? `not in the table: ${evidence.missing.join(", ")}` : "",
    evidence?.extra?.length ? `only in the table: ${evidence.extra.join(", ")}` : "",
    evidence?.changed?.length ? `type changed: ${evidence.changed.map((c) => c.column).join(", ")}` : "",
    evidence?.error ?? "",
  ].filter(Boolean);
  return (
    <Flex gap={2} align="center" mb={2} fontSize="xs" data-testid="data-source">
      {match.status === "matched" ? (
        <Badge colorPalette="blue" title={match.withheld?.reason}>
          {match.connId ? `in ${match.connId}` : "in an Airflow Connection"}
        </Badge>
      ) : (
        <Badge colorPalette={match.status === "ambiguous" ? "orange" : "gray"} title={match.withheld?.reason ?? match.candidates.join(", ")}>
          {match.status !== "ambiguous" ? "no matching Connection" : match.candidates.length ? `ambiguous: ${match.candidates.join(", ")}` : "ambiguous: several Connections"}
        </Badge>
      )}
      {match.check && <Badge colorPalette={CHECK_COLORS[match.check.status]}>table {match.check.status}</Badge>}
      {details.length > 0 && <Text color="fg.muted">{details.join("; ")}</Text>}
    </Flex>
  );
}

export function DatasetPage({ route }: { route: Route }) {
  const ns = route.params.get("ns") ?? "";
  const name = route.params.get("name") ?? "";
  const tab = route.params.get("tab") ?? "overview";
  const found = useApi("namespaces/{namespace}/datasets/{dataset}", { path: { namespace: ns, dataset: name } });
  const editing = useTagEditing();
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="the dataset" />;
  const ds = found.data;
  const setTab = (value: string) => navigate(href("dataset", { ns, name, tab: value }), true);
  return (
    <Box>
      <Text color="fg.muted" fontSize="xs" data-testid="dataset-where">
        {ds.datasetType ? `${ds.datasetType.datasetType.toLowerCase()}${ds.datasetType.subType ? ` (${ds.datasetType.subType.toLowerCase()})` : ""}` : "Dataset"} · <Name value={ds.namespace} />
        {ds.hierarchy.length > 0 && (
          <>
            {" · "}
            {ds.hierarchy.map((level, i) => (
              <Fragment key={i}>
                {i > 0 && " › "}
                <span title={level.type}>
                  <Name value={level.name} />
                </span>
              </Fragment>
            ))}
          </>
        )}
        {ds.catalog && (
          <>
            {" · catalog "}
            <span title={[ds.catalog.type, ds.catalog.metadataUri, ds.catalog.warehouseUri, ds.catalog.source && `reported by ${ds.catalog.source}`].filter(Boolean).join(" · ")}>
              <Name value={[ds.catalog.framework, ds.catalog.name].filter(Boolean).join(" ")} />
            </span>
          </>
        )}
        {ds.storage && (
          <>
            {" · stored as "}
            <Name value={[ds.storage.storageLayer, ds.storage.fileFormat].filter(Boolean).join(" / ")} />
          </>
        )}
      </Text>
      <Heading size="xl" mb={1} data-testid="title" wordBreak="break-all">
        <Name value={ds.name} />
      </Heading>
      {ds.description && <Text mb={2}>{ds.description}</Text>}
      <Box mb={2}>
        <TagEditor path={`namespaces/${seg(ds.namespace)}/datasets/${seg(ds.name)}`} tagged={ds} editable={editing} label="dataset" onChange={found.reload} />
      </Box>
      <SourceBadge match={ds.dataSource as DataSourceMatch | null} />
      <Text color="fg.muted" fontSize="xs" mb={3}>
        First seen {when(ds.createdAt)} · last seen {when(ds.updatedAt)}
        {ds.aliases.length > 0 && (
          <>
            {" "}
            · also known as{" "}
            {ds.aliases.map((a, i) => (
              <Fragment key={`${a.namespace}:${a.name}`}>
                {i > 0 && ", "}
                <Name value={a.namespace} /> <Name value={a.name} />
              </Fragment>
            ))}
          </>
        )}
      </Text>
      <Tabs.Root value={tab} onValueChange={(e) => setTab(e.value)} lazyMount unmountOnExit>
        <Tabs.List>
          <Tabs.Trigger value="overview">Overview</Tabs.Trigger>
          <Tabs.Trigger value="lineage">Lineage</Tabs.Trigger>
          <Tabs.Trigger value="columns">Column lineage</Tabs.Trigger>
          <Tabs.Trigger value="versions">Versions</Tabs.Trigger>
          <Tabs.Trigger value="measurements">Measurements</Tabs.Trigger>
          <Tabs.Trigger value="impact">Impact</Tabs.Trigger>
          <Tabs.Trigger value="facets">Facets</Tabs.Trigger>
        </Tabs.List>
        <Tabs.Content value="overview">
          <DatasetAssetsSection namespace={ds.namespace} name={ds.name} />
          {ds.quality && (
            <Section title="Quality">
              <QualitySection quality={ds.quality} />
            </Section>
          )}
          <TestRunsSection namespace={ds.namespace} name={ds.name} />
          <Section title="Schema">
            <Schema
              fields={ds.fields}
              sent={ds.facets.schema != null}
              tagging={{ path: `namespaces/${seg(ds.namespace)}/datasets/${seg(ds.name)}`, editable: editing, reload: found.reload }}
              failing={failingColumns(ds.quality)}
            />
          </Section>
          <Section title="Producers and consumers">
            <ProducersAndConsumers ds={ds} />
          </Section>
          <StatedFlows node={nodeQuery("dataset", ds.namespace, ds.name)} />
        </Tabs.Content>
        <Tabs.Content value="lineage">
          <LineageTab start={nodeQuery("dataset", ds.namespace, ds.name)} />
        </Tabs.Content>
        <Tabs.Content value="columns">
          <ColumnLineage ds={ds} />
        </Tabs.Content>
        <Tabs.Content value="versions">
          <Versions ds={ds} />
        </Tabs.Content>
        <Tabs.Content value="measurements">
          <MeasurementsTab namespace={ds.namespace} name={ds.name} />
        </Tabs.Content>
        <Tabs.Content value="impact">
          <Impact ds={ds} field={route.params.get("column") ?? ""} onField={(column) => navigate(href("dataset", { ns, name, tab: "impact", column }), true)} />
        </Tabs.Content>
        <Tabs.Content value="facets">
          <JsonView value={ds.facets} />
        </Tabs.Content>
      </Tabs.Root>
    </Box>
  );
}

export function LineageTab({ start }: { start: NodeQuery }) {
  const graph = useApi("lineage", { query: { ...start, upDepth: 2, downDepth: 2 } });
  if (graph.error) return <Problem message={graph.error} />;
  if (!graph.data) return <Loading what="lineage" />;
  return (
    <Box>
      <Flex justify="end" mb={2}>
        <Link href={href("graph", { node: start.nodeId, ns: start.namespace })}>Open in the lineage explorer →</Link>
      </Flex>
      <LineageGraph
        graph={lineageNodes(graph.data.graph)}
        colorBy="namespace"
        highlight={new Set()}
        start={start.nodeId}
        height="60vh"
        onNodeDoubleClick={(n) => navigate(href(n.type === "JOB" ? "job" : "dataset", { ns: n.data.namespace, name: n.type === "DATASET_FIELD" ? n.data.dataset : n.data.name }))}
      />
    </Box>
  );
}

