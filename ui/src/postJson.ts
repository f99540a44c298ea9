import { ApiError, CATALOG_REQUEST_HEADERS, apiUrl } from "./api";

/** POST/PATCH/DELETE JSON to the catalog's API; errors carry the API's message. */
export async function sendJson<T>(method: "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
  const response = await fetch(apiUrl(path), {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...CATALOG_REQUEST_HEADERS },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, typeof answer?.detail === "string" ? answer.detail : `${response.status} ${response.statusText}`);
  return answer as T;
}
