import { useCallback, useEffect, useState } from "react";

import { getJson, type Answer, type ApiRequest, type GetRoute, type PlainRoute } from "./api";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` again whenever `key` changes; `key: null` waits. */
function useLoaded<T>(key: string | null, load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<{ key: string | null; data: T | null; error: string | null }>({ key: null, data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (key === null) return;
    let live = true;
    load().then(
      (data) => live && setState({ key, data, error: null }),
      (error: Error) => live && setState({ key, data: null, error: error.message }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = state.key === key;
  return { data: current ? state.data : null, error: current ? state.error : null, loading: key !== null && !current, reload };
}

/** GET a read-API route, typed by the OpenAPI document: `useApi("namespaces/{namespace}/jobs/{job}", { path: { namespace, job } })`.
 * Refetches when the route or its parameters change; `request: null` waits. */
export function useApi<R extends PlainRoute>(route: R): Loaded<Answer<R>>;
export function useApi<R extends GetRoute>(route: R, request: ApiRequest<R> | null): Loaded<Answer<R>>;
export function useApi(route: GetRoute, request: ApiRequest<GetRoute> | null = {}): Loaded<unknown> {
  const key = request === null ? null : `${route}?${JSON.stringify(request)}`;
  return useLoaded(key, () => (getJson as (route: GetRoute, request: ApiRequest<GetRoute>) => Promise<unknown>)(route, request ?? {}));
}
