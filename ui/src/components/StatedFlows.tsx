import { Badge, Box, Text } from "@chakra-ui/react";

import type { NodeQuery, Schemas } from "../api";
import { useApi } from "../useApi";
import { DataTable, DatasetLink, JobLink, Muted, Name, Problem, Section } from "./Common";

type Flow = Schemas["StatedFlow"];
type End = Schemas["FlowEnd"];

function EndCell({ end, self }: { end: End; self: string }) {
  const link = end.type === "JOB" ? <JobLink namespace={end.namespace} name={end.name} /> : <DatasetLink namespace={end.namespace} name={end.name} />;
  return (
    <Box>
      <Text as="span" fontSize="sm">
        {end.id === self ? <Muted>this {end.type === "JOB" ? "job" : "dataset"}</Muted> : link}
        {end.field && (
          <>
            {" · "}
            <Name value={end.field} />
          </>
        )}
      </Text>
      {end.type === "JOB" && end.id !== self && (
        <Text fontSize="xs" color="fg.muted">
          job
        </Text>
      )}
      {end.runId && (
        <Text fontSize="xs" color="fg.muted" title="The run the statement bound this flow to">
          run <Name value={end.runId} />
        </Text>
      )}
    </Box>
  );
}

function How({ flow }: { flow: Flow }) {
  if (flow.relation === "control") {
    const rules = Object.entries(flow.rules ?? {});
    return (
      <Box>
        <Text fontSize="sm">runs after it</Text>
        {rules.map(([rule, value]) => (
          <Text key={rule} fontSize="xs" color="fg.muted">
            {rule}: <Name value={value} />
          </Text>
        ))}
      </Box>
    );
  }
  if (flow.transformations.length === 0) return <Muted>not said</Muted>;
  return (
    <Box>
      {flow.transformations.map((t, i) => (
        <Text key={i} fontSize="sm">
          {[t.type, t.subtype].filter(Boolean).join(" / ")}
          {t.description && (
            <>
              {" "}
              <Muted>
                <Name value={t.description} />
              </Muted>
            </>
          )}
          {t.masking && (
            <Badge ml={1} size="xs" colorPalette="purple">
              masked
            </Badge>
          )}
        </Text>
      ))}
    </Box>
  );
}

/** What `lineage` facets stated flows into and out of a job or dataset (GET /flows); nothing when none did. */
export function StatedFlows({ node }: { node: NodeQuery }) {
  const found = useApi("flows", { query: node });
  if (found.error) return <Problem message={found.error} />;
  const flows = found.data?.flows ?? [];
  if (flows.length === 0) return null;
  return (
    <Section title="Stated lineage">
      <Text fontSize="sm" color="fg.muted" mb={2}>
        What producers stated in their lineage facets (which source feeds which target, column by column where they said so), and which job runs wait for which (job dependencies).
      </Text>
      <Box data-testid="stated-flows">
        <DataTable
          rows={flows}
          rowKey={(f) => `${f.relation}:${f.source.id}#${f.source.field ?? ""}>${f.target.id}#${f.target.field ?? ""}`}
          empty=""
          columns={[
            { header: "From", cell: (f) => <EndCell end={f.source} self={node.nodeId} /> },
            { header: "Into", cell: (f) => <EndCell end={f.target} self={node.nodeId} /> },
            { header: "How", cell: (f) => <How flow={f} /> },
            {
              header: "Stated by",
              cell: (f) => (f.statedBy ? <JobLink namespace={f.statedBy.namespace} name={f.statedBy.name} /> : <Muted>the dataset&apos;s own facet</Muted>),
            },
            {
              header: "As",
              cell: (f) => (
                <>
                  {f.declared && (
                    <Badge size="xs" mr={1} title="A JobEvent declared it: what the job is built to do">
                      declared
                    </Badge>
                  )}
                  {f.observed && (
                    <Badge size="xs" colorPalette="green" title="A run stated it as it happened">
                      observed
                    </Badge>
                  )}
                </>
              ),
            },
          ]}
        />
      </Box>
    </Section>
  );
}
