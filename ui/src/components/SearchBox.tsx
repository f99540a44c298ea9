// The search field of the navigation bar: results as you type, arrow keys to move, Enter to open.
import { Box, Input, Text } from "@chakra-ui/react";
import { useEffect, useState } from "react";

import { getJson, type SearchResult } from "../api";
import { href, navigate } from "../route";
import { Name } from "./Common";

export function resultHref(r: SearchResult): string {
  if (r.type === "FIELD") return href("dataset", { ns: r.namespace, name: r.dataset });
  return href(r.type === "JOB" ? "job" : "dataset", { ns: r.namespace, name: r.name });
}

export function SearchBox() {
  const [q, setQ] = useState("");
  const [results, setResults] = useState<SearchResult[]>([]);
  const [active, setActive] = useState(0);
  // Under two characters nothing is searched and nothing is listed.
  const listed = q.trim().length < 2 ? [] : results;
  useEffect(() => {
    if (q.trim().length < 2) return;
    let live = true;
    const timer = window.setTimeout(() => {
      getJson("search", { query: { q: q.trim(), limit: 8 } }).then(
        (body) => live && (setResults(body.results), setActive(0)),
        () => live && setResults([]),
      );
    }, 150);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [q]);
  const open = (target: string) => {
    setQ("");
    setResults([]);
    navigate(target);
  };
  return (
    <Box position="relative" w="22rem">
      <Input
        size="sm"
        placeholder="Search datasets and jobs"
        aria-label="Search datasets and jobs"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, listed.length - 1));
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === "Enter") open(listed[active] ? resultHref(listed[active]) : href("search", { q }));
          else if (e.key === "Escape") setResults([]);
        }}
      />
      {listed.length > 0 && (
        <Box role="listbox" position="absolute" zIndex={10} top="100%" left={0} right={0} bg="bg.panel" borderWidth="1px" rounded="md" shadow="md" mt={1}>
          {listed.map((r, i) => (
            <Box
              key={r.nodeId}
              role="option"
              aria-selected={i === active}
              px={3}
              py={1}
              cursor="pointer"
              bg={i === active ? "bg.muted" : undefined}
              onMouseEnter={() => setActive(i)}
              onMouseDown={(e) => (e.preventDefault(), open(resultHref(r)))}
            >
              <Text fontSize="sm" truncate>
                {r.type === "JOB" ? "⚙ " : "▤ "}
                <Name value={r.name} />
              </Text>
              <Text fontSize="xs" color="fg.muted" truncate>
                <Name value={r.namespace} />
              </Text>
            </Box>
          ))}
        </Box>
      )}
    </Box>
  );
}
