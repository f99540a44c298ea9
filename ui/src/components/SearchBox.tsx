// The search field of the navigation bar, an ARIA combobox: results as you type, grouped into
// datasets, jobs, columns and namespaces; arrow keys move, Enter opens, Escape closes.
import { Box, Input, Text } from "@chakra-ui/react";
import { Fragment, useEffect, useId, useRef, useState } from "react";

import { getJson, type SearchResult } from "../api";
import { href, navigate } from "../route";
import { Name } from "./Common";

export function resultHref(r: SearchResult): string {
  if (r.type === "FIELD") return href("dataset", { ns: r.namespace, name: r.dataset });
  return href(r.type === "JOB" ? "job" : "dataset", { ns: r.namespace, name: r.name });
}

interface Option {
  key: string;
  group: "Datasets" | "Jobs" | "Columns" | "Namespaces";
  title: string;
  detail: string;
  target: string;
}

const PER_GROUP = 5;

function optionOf(r: SearchResult): Option {
  if (r.type === "FIELD") {
    return { key: r.nodeId, group: "Columns", title: r.field ?? r.name, detail: `${r.dataset ?? ""} · ${r.namespace}`, target: resultHref(r) };
  }
  return { key: r.nodeId, group: r.type === "JOB" ? "Jobs" : "Datasets", title: r.name, detail: r.namespace, target: resultHref(r) };
}

/** Up to PER_GROUP of each kind, in a fixed order of groups. */
async function findOptions(q: string, namespaces: () => Promise<string[]>): Promise<Option[]> {
  const folded = q.toLowerCase();
  const [datasets, jobs, columns, spaces] = await Promise.all([
    getJson("search", { query: { q, filter: "dataset", limit: PER_GROUP } }),
    getJson("search", { query: { q, filter: "job", limit: PER_GROUP } }),
    getJson("search", { query: { q, filter: "field", limit: PER_GROUP } }),
    namespaces(),
  ]);
  const named = spaces.filter((n) => n.toLowerCase().includes(folded)).slice(0, PER_GROUP);
  return [
    ...[...datasets.results, ...jobs.results, ...columns.results].map(optionOf),
    ...named.map((n): Option => ({ key: `namespace:${n}`, group: "Namespaces", title: n, detail: "namespace", target: href("search", { ns: n }) })),
  ];
}

export function SearchBox() {
  const [q, setQ] = useState("");
  const [options, setOptions] = useState<Option[]>([]);
  const [active, setActive] = useState(0);
  const namespaceNames = useRef<Promise<string[]> | null>(null);
  const id = useId();
  // Under two characters nothing is searched and nothing is listed.
  const listed = q.trim().length < 2 ? [] : options;
  useEffect(() => {
    if (q.trim().length < 2) return;
    let live = true;
    // Namespaces are few: listed once, on the first search, and matched here.
    const namespaces = () =>
      (namespaceNames.current ??= getJson("namespaces", { query: { limit: 1000 } }).then(
        (body) => body.namespaces.map((n) => n.name),
        () => [],
      ));
    const timer = window.setTimeout(() => {
      findOptions(q.trim(), namespaces).then(
        (found) => live && (setOptions(found), setActive(0)),
        () => live && setOptions([]),
      );
    }, 150);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [q]);
  const open = (target: string) => {
    setQ("");
    setOptions([]);
    navigate(target);
  };
  const expanded = listed.length > 0;
  const optionId = (i: number) => `${id}-option-${i}`;
  return (
    <Box position="relative" w="22rem">
      <Input
        size="sm"
        placeholder="Search datasets, jobs, columns"
        aria-label="Search datasets, jobs, columns and namespaces"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={`${id}-listbox`}
        aria-activedescendant={expanded ? optionId(active) : undefined}
        value={q}
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, listed.length - 1));
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === "Enter") open(listed[active] ? listed[active].target : href("search", { q }));
          else if (e.key === "Escape") setOptions([]);
        }}
      />
      <Box
        id={`${id}-listbox`}
        role="listbox"
        aria-label="Search results"
        display={expanded ? undefined : "none"}
        position="absolute"
        zIndex={10}
        top="100%"
        left={0}
        right={0}
        bg="bg.panel"
        borderWidth="1px"
        rounded="md"
        shadow="md"
        mt={1}
        maxH="70vh"
        overflowY="auto"
      >
        {listed.map((o, i) => (
          <Fragment key={o.key}>
            {(i === 0 || listed[i - 1].group !== o.group) && (
              <Text role="presentation" px={3} pt={2} pb={1} fontSize="xs" fontWeight="semibold" color="fg.muted" textTransform="uppercase">
                {o.group}
              </Text>
            )}
            <Box
              id={optionId(i)}
              role="option"
              aria-selected={i === active}
              data-group={o.group}
              px={3}
              py={1}
              cursor="pointer"
              bg={i === active ? "bg.muted" : undefined}
              onMouseEnter={() => setActive(i)}
              onMouseDown={(e) => (e.preventDefault(), open(o.target))}
            >
              <Text fontSize="sm" truncate>
                <Name value={o.title} />
              </Text>
              <Text fontSize="xs" color="fg.muted" truncate>
                <Name value={o.detail} />
              </Text>
            </Box>
          </Fragment>
        ))}
      </Box>
    </Box>
  );
}
