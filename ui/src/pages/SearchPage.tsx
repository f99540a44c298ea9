import { Box, Flex, Heading, Input, Link, NativeSelect, Text } from "@chakra-ui/react";
import { useEffect, useRef, useState } from "react";

import type { ApiRequest } from "../api";
import { Loading, Muted, Name, Pager, Problem } from "../components/Common";
import { resultHref } from "../components/SearchBox";
import { when } from "../format";
import { href, navigate, type Route } from "../route";
import { useApi } from "../useApi";

type SearchQuery = NonNullable<ApiRequest<"search">["query"]>;

export function SearchPage({ route }: { route: Route }) {
  const q = route.params.get("q") ?? "";
  const type = route.params.get("type") ?? "";
  const ns = route.params.get("ns") ?? "";
  const sortBy = route.params.get("sortBy") ?? "name";
  const offset = Number(route.params.get("offset") ?? 0);
  const limit = 50;
  const [text, setText] = useState(q);
  // A new query in the URL (back, forward, a link) replaces the text being typed, during render.
  const [textFor, setTextFor] = useState(q);
  if (textFor !== q) {
    setTextFor(q);
    setText(q);
  }
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  // An empty query lists everything of the chosen type.
  const found = useApi("search", {
    query: {
      q,
      // Values the URL holds go to the API as they are: it answers any it does not take with a 422 naming it.
      filter: (type || undefined) as SearchQuery["filter"],
      namespace: ns || undefined,
      limit,
      offset,
      sortBy: sortBy as SearchQuery["sortBy"],
      sortDirection: sortBy === "updatedAt" ? "desc" : "asc",
    },
  });
  const results = found.data?.results ?? [];
  const go = (next: { q?: string; type?: string; ns?: string; sortBy?: string; offset?: number }) =>
    navigate(href("search", { q: next.q ?? q, type: next.type ?? type, ns: next.ns ?? ns, sortBy: next.sortBy ?? sortBy, offset: next.offset ?? 0 }), true);
  return (
    <Box>
      <Heading size="lg" mb={3}>
        Search
      </Heading>
      <Flex gap={2} mb={4}>
        <Input
          ref={input}
          placeholder={ns ? "Part of a dataset or job name in this namespace" : "Part of a dataset or job name"}
          aria-label="Search text"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && results[active] && text === q) navigate(resultHref(results[active]));
            else if (e.key === "Enter") {
              go({ q: text });
              setActive(0);
            } else if (e.key === "ArrowDown") {
              e.preventDefault();
              setActive((a) => Math.min(a + 1, results.length - 1));
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              setActive((a) => Math.max(a - 1, 0));
            }
          }}
        />
        <NativeSelect.Root w="15rem">
          <NativeSelect.Field aria-label="Kind" value={type} onChange={(e) => go({ type: e.target.value })}>
            <option value="">Datasets and jobs</option>
            <option value="dataset">Datasets</option>
            <option value="job">Jobs</option>
            <option value="field">Columns</option>
          </NativeSelect.Field>
        </NativeSelect.Root>
        <NativeSelect.Root w="14rem">
          <NativeSelect.Field aria-label="Sort by" value={sortBy} onChange={(e) => go({ sortBy: e.target.value })}>
            <option value="name">Sort by name</option>
            <option value="updatedAt">Last seen first</option>
            <option value="namespace">Sort by namespace</option>
            <option value="type">Datasets, then jobs</option>
          </NativeSelect.Field>
        </NativeSelect.Root>
      </Flex>
      {ns && (
        <Box>
          <Muted>
            In namespace <Name value={ns} /> (
            <Link href={href("search", { q, type, sortBy })}>every namespace</Link>)
          </Muted>
        </Box>
      )}
      {found.error && <Problem message={found.error} />}
      {found.loading && <Loading what="results" />}
      {found.data && results.length === 0 && (
        <Muted>
          Nothing matches “<Name value={q} />”.
        </Muted>
      )}
      {found.data && results.length > 0 && (
        <Muted>
          {found.data.totalCount} {found.data.totalCount === 1 ? "match" : "matches"}
        </Muted>
      )}
      <Box as="ul" listStyleType="none" aria-label="Search results">
        {results.map((r, i) => (
          <Flex
            as="li"
            key={r.nodeId}
            aria-current={i === active ? "true" : undefined}
            gap={3}
            px={3}
            py={2}
            borderBottomWidth="1px"
            bg={i === active ? "bg.muted" : undefined}
            onMouseEnter={() => setActive(i)}
            data-testid="search-result"
          >
            <Text w="5rem" color="fg.muted">
              {r.type === "JOB" ? "Job" : r.type === "FIELD" ? "Column" : "Dataset"}
            </Text>
            <Box flex="1" minW={0}>
              <Link href={resultHref(r)} fontWeight="semibold">
                <Name value={r.name} />
              </Link>
              <Text fontSize="xs" color="fg.muted" truncate>
                <Name value={r.namespace} />
              </Text>
            </Box>
            <Muted>{when(r.updatedAt)}</Muted>
          </Flex>
        ))}
      </Box>
      {found.data && <Pager offset={offset} limit={limit} total={found.data.totalCount} onChange={(next) => go({ offset: next })} />}
    </Box>
  );
}
