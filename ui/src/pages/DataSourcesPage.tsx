// Airflow's Connections as data sources, as the ol_catalog_reconcile DAG last matched them.
import { Badge, Box, Code, Heading, Link, Text } from "@chakra-ui/react";

import type { Schemas } from "../api";
import { DataTable, Loading, Muted, Name, Problem, Section } from "../components/Common";
import { href } from "../route";
import { useApi } from "../useApi";
import { UnlinkedAssets } from "../components/AirflowAssets";

function WithheldNote({ withheld }: { withheld: Schemas["Withheld"] }) {
  return (
    <Box role="note" data-testid="connections-withheld" borderWidth="1px" borderColor="border.info" bg="bg.info" p={3} rounded="md" mb={4}>
      <Text fontWeight="semibold">Connection names, hosts and databases are hidden.</Text>
      <Text fontSize="sm">
        {withheld.reason}. Airflow shows them to users allowed to read Connections; the counts below are complete.
      </Text>
    </Box>
  );
}

export function DataSourcesPage() {
  const found = useApi("data-sources");
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="data sources" />;
  const s = found.data;
  const hidden = <Muted>hidden</Muted>;
  const sources = s.dataSources.map((d, i) => ({ ...d, key: d.connId ?? `connection-${i}` }));
  return (
    <Box>
      <Heading size="lg" mb={2}>
        Data sources
      </Heading>
      <Text mb={4} color="fg.muted">
        Airflow's Connections, and the catalog's datasets that live in them.{" "}
        {!s.reconciled && "The ol_catalog_reconcile DAG has not run yet: run it to match datasets and check their tables."}
      </Text>
      {s.withheld && <WithheldNote withheld={s.withheld} />}
      <Section title="Connections">
        <DataTable
          rows={sources}
          rowKey={(d) => d.key}
          empty="No Connection describes a data source."
          columns={[
            { header: "Connection", cell: (d) => (d.connId === null ? hidden : <Text fontWeight="semibold">{d.connId}</Text>) },
            { header: "Kind", cell: (d) => d.scheme },
            {
              header: "Namespaces",
              cell: (d) =>
                s.withheld
                  ? hidden
                  : d.namespaces.map((n) => (
                      <Code key={n} mr={1}>
                        <Name value={n} />
                      </Code>
                    )),
            },
            { header: "Database", cell: (d) => (s.withheld ? hidden : (d.database ?? "—")) },
            { header: "Datasets", cell: (d) => d.datasets },
            { header: "Tables OK", cell: (d) => d.ok },
            { header: "Missing", cell: (d) => (d.missing ? <Badge colorPalette="red">{d.missing}</Badge> : 0) },
            { header: "Drifted", cell: (d) => (d.drifted ? <Badge colorPalette="orange">{d.drifted}</Badge> : 0) },
            { header: "Not checked", cell: (d) => (d.unchecked ? <Badge colorPalette="gray">{d.unchecked}</Badge> : 0) },
          ]}
        />
      </Section>
      <Section title="Namespaces no Connection matches">
        <DataTable
          rows={s.unmatched}
          rowKey={(u) => `${u.status}:${u.namespace}`}
          empty={s.reconciled ? "Every dataset's namespace matches a Connection." : "Not reconciled yet."}
          columns={[
            {
              header: "Namespace",
              cell: (u) => (
                <Link href={href("search", { q: u.namespace, type: "dataset" })}>
                  <Name value={u.namespace} />
                </Link>
              ),
            },
            { header: "Status", cell: (u) => <Badge colorPalette={u.status === "ambiguous" ? "orange" : "gray"}>{u.status}</Badge> },
            { header: "Datasets", cell: (u) => u.datasets },
            {
              header: "What to do",
              cell: (u) =>
                u.status === "ambiguous" ? (
                  <Muted>
                    Several Connections point at it{u.candidates.length ? ` (${u.candidates.join(", ")})` : ""}: name the database in the datasets or give the
                    Connections distinct aliases.
                  </Muted>
                ) : s.withheld ? (
                  <Muted>Ask someone allowed to read Connections: a Connection may need it as an alias, or none exists yet.</Muted>
                ) : u.candidates.length ? (
                  <Muted>
                    If it is one of {u.candidates.join(", ")}, add it to that Connection's extra "ol_catalog_aliases"; if it is, but its datasets are of
                    another database than the one that Connection opens, add a Connection for that database.
                  </Muted>
                ) : (
                  <Muted>No Connection of this kind: add one, or ignore it.</Muted>
                ),
            },
          ]}
        />
      </Section>
      <UnlinkedAssets />
    </Box>
  );
}
