import { Badge, Box, Button, Flex, Input, Text } from "@chakra-ui/react";
import { useState } from "react";

import { seg, type Schemas, type TagOrigin } from "../api";
import { when } from "../format";
import { plainName } from "../names";
import { sendJson } from "../postJson";
import { useApi } from "../useApi";
import { Name } from "./Common";

/** What carries tags: a job, a dataset or one of its columns, each with where every tag came from. */
export type Tagged = Pick<Schemas["DatasetField"], "tagOrigins">;

/** Whether the signed-in user may set and remove tags (an Airflow login allowed to edit assets). */
export function useTagEditing(): boolean {
  return useApi("tags/editing").data?.allowed ?? false;
}

function originTitle(o: TagOrigin): string {
  if (o.origin === "facet") return `From the tags facet its producer sends${o.source ? ` (source ${o.source})` : ""}; it changes only with their events.`;
  return `Set by ${o.setBy ?? "someone"} ${when(o.setAt)}`;
}

/**
 * The tags of a dataset, a job or a column, both kinds told apart: from `tags` facets (outlined,
 * "facet") and set by people (solid, with who and when). Users allowed to edit add tags and remove
 * those people set. `path` is the API path of the tagged entity; `label` names it for screen readers.
 */
export function TagEditor({ path, tagged, editable, label, onChange }: { path: string; tagged: Tagged; editable: boolean; label: string; onChange: () => void }) {
  const [adding, setAdding] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const origins = tagged.tagOrigins;
  const send = (method: "POST" | "DELETE", tag: string) => {
    setBusy(true);
    setError(null);
    sendJson(method, `${path}/tags/${seg(tag)}`)
      .then(() => (setAdding(""), onChange()))
      .catch((e: Error) => setError(e.message))
      .finally(() => setBusy(false));
  };
  const add = () => adding.trim() && send("POST", adding.trim());
  return (
    <Box data-testid={`tags ${label}`}>
      <Flex gap={1} wrap="wrap" align="center">
        {origins.length === 0 && !editable && <Text color="fg.muted" fontSize="xs">No tags</Text>}
        {origins.map((o) => (
          <Badge
            key={`${o.origin}:${o.name}:${o.source ?? ""}`}
            size="sm"
            variant={o.origin === "user" ? "solid" : "outline"}
            colorPalette={o.origin === "user" ? "purple" : "teal"}
            title={originTitle(o)}
            data-origin={o.origin}
            data-tag={o.name}
          >
            <Name value={o.name} />
            <Text as="span" fontSize="2xs" opacity={0.8}>
              {o.origin === "user" ? `· ${o.setBy ?? ""}` : "· facet"}
            </Text>
            {editable && o.origin === "user" && (
              <Button size="2xs" variant="plain" minW="auto" h="auto" px={0} color="inherit" aria-label={`Remove tag ${plainName(o.name)} from ${plainName(label)}`} disabled={busy} onClick={() => send("DELETE", o.name)}>
                ×
              </Button>
            )}
          </Badge>
        ))}
        {editable && (
          <Flex gap={1} align="center">
            <Input
              size="2xs"
              w="8rem"
              placeholder="Add tag"
              aria-label={`New tag for ${plainName(label)}`}
              value={adding}
              onChange={(e) => setAdding(e.target.value)}
              onKeyDown={(e) => e.key === "Enter" && add()}
            />
            <Button size="2xs" variant="outline" aria-label={`Add tag to ${plainName(label)}`} loading={busy} disabled={!adding.trim()} onClick={add}>
              Add
            </Button>
          </Flex>
        )}
      </Flex>
      {error && (
        <Text role="alert" color="fg.error" fontSize="xs" mt={1}>
          {error}
        </Text>
      )}
    </Box>
  );
}
