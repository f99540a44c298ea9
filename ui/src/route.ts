// Hash routes (#/dataset?ns=..&name=..): every page has a URL that survives a reload, with no
// server-side routes. Inside Airflow the iframe's location is mirrored into the parent's URL.
import { useEffect, useState } from "react";

export interface Route {
  page: string;
  parts: string[];
  params: URLSearchParams;
}

export function parseRoute(hash: string = window.location.hash): Route {
  const [path, search = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decoded);
  return { page: parts[0] ?? "", parts: parts.slice(1), params: new URLSearchParams(search) };
}

/** A path part as it was encoded; a part that is no valid encoding (a truncated or hand-edited link) as it stands. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function href(page: string, params: Record<string, string | number | boolean | undefined | null> = {}, parts: string[] = []): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "" && value !== false) search.set(key, String(value));
  }
  const path = [page, ...parts.map(encodeURIComponent)].join("/");
  const query = search.toString();
  return `#/${path}${query ? `?${query}` : ""}`;
}

/** Airflow's own URL (its base, with a trailing slash): the catalog's pages live under `ol-catalog/ui/`. */
export function baseUrl(): string {
  const at = window.location.href.indexOf("/ol-catalog/ui/");
  return at >= 0 ? window.location.href.slice(0, at + 1) : `${window.location.origin}/`;
}

/** The page of Airflow's own UI showing a DAG run, or one of its task instances. */
export function airflowPage(task: { dagId: string; dagRunId: string; taskId: string | null; mapIndex: number | null }): string {
  const run = `${baseUrl()}dags/${encodeURIComponent(task.dagId)}/runs/${encodeURIComponent(task.dagRunId)}`;
  if (task.taskId === null) return run;
  return `${run}/tasks/${encodeURIComponent(task.taskId)}${task.mapIndex !== null && task.mapIndex >= 0 ? `/mapped/${task.mapIndex}` : ""}`;
}

export function navigate(target: string, replace = false): void {
  if (replace) window.history.replaceState(null, "", target);
  else window.history.pushState(null, "", target);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

function mirrorIntoAirflow(): void {
  // Airflow shows /plugin/<route>; a deep link /plugin/<route>/<iframe path>#... reopens this page.
  try {
    const parent = window.parent;
    if (parent === window) return;
    const at = parent.location.pathname.indexOf("/plugin/");
    if (at < 0) return;
    const route = parent.location.pathname.slice(at + "/plugin/".length).split("/")[0];
    if (route !== "lineage") return; // tabs on DAGs and task instances keep Airflow's own URL
    const target = `${parent.location.pathname.slice(0, at)}/plugin/${route}${window.location.pathname}${window.location.search}${window.location.hash}`;
    if (parent.location.pathname + parent.location.search + parent.location.hash !== target) parent.history.replaceState(parent.history.state, "", target);
  } catch {
    // another origin or no parent: nothing to mirror
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute());
  useEffect(() => {
    const update = () => {
      setRoute(parseRoute());
      mirrorIntoAirflow();
    };
    window.addEventListener("hashchange", update);
    window.addEventListener("popstate", update);
    mirrorIntoAirflow();
    return () => {
      window.removeEventListener("hashchange", update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}
