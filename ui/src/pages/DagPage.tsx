// The "Lineage" tab of a DAG: the DAG's OpenLineage job, its tasks and the jobs they started
// (Spark, dbt), with the datasets they read and write.
import { Box, Flex, Link, NativeSelect, Text } from "@chakra-ui/react";
import { useState } from "react";

import { lineageNodes, nodeId, nodeQuery } from "../api";
import { Loading, Muted, Name, Problem } from "../components/Common";
import { LineageGraph } from "../components/LineageGraph";
import { collapseChildren } from "../graphModel";
import { plainName } from "../names";
import { href, type Route } from "../route";
import { useApi } from "../useApi";

export function DagPage({ route }: { route: Route }) {
  const dagId = route.parts[0] ?? "";
  // The DAG's job in this Airflow's namespaces only: a producer writing another cannot stand in for the DAG.
  const found = useApi("airflow/dags/{dag_id}/namespaces", { path: { dag_id: dagId } });
  const namespaces = found.data?.namespaces ?? [];
  const [chosen, setChosen] = useState<string | null>(null);
  const [collapse, setCollapse] = useState(false);
  const ns = chosen ?? namespaces[0] ?? null;
  const start = ns === null ? null : nodeId("job", ns, dagId);
  const graph = useApi("lineage", ns === null ? null : { query: { ...nodeQuery("job", ns, dagId), depth: 1, withChildren: true } });
  if (found.error) return <Problem message={found.error} />;
  if (!found.data) return <Loading what="lineage" />;
  if (namespaces.length === 0) {
    return (
      <Box p={2} data-testid="no-lineage">
        <Text>
          The catalog has no OpenLineage events of DAG “<Name value={dagId} />” yet.
        </Text>
        <Muted>Once the OpenLineage provider sends this DAG's events to the catalog, its tasks and their datasets show here.</Muted>
      </Box>
    );
  }
  const nodes = graph.data ? lineageNodes(graph.data.graph) : null;
  const shown = nodes && collapse ? collapseChildren(nodes) : nodes;
  return (
    <Box>
      <Flex gap={4} align="center" mb={2} wrap="wrap">
        {namespaces.length > 1 && (
          <NativeSelect.Root size="xs" w="16rem">
            <NativeSelect.Field aria-label="Namespace" value={ns ?? ""} onChange={(e) => setChosen(e.target.value)}>
              {namespaces.map((n) => (
                <option key={n} value={n}>
                  {plainName(n)}
                </option>
              ))}
            </NativeSelect.Field>
          </NativeSelect.Root>
        )}
        <Flex as="label" align="center" gap={1}>
          <input type="checkbox" checked={collapse} onChange={(e) => setCollapse(e.target.checked)} aria-label="Collapse child jobs" />
          <Text>Collapse child jobs</Text>
        </Flex>
        <Link href={href("graph", { node: start, ns, collapse })}>Open in the lineage explorer</Link>
      </Flex>
      {graph.error && <Problem message={graph.error} />}
      {shown ? <LineageGraph graph={shown} colorBy="integration" highlight={new Set()} start={start} height="calc(100vh - 5rem)" /> : <Loading what="the graph" />}
    </Box>
  );
}
