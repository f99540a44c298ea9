// The last step of `npm run build`: record which sources the pages were built from, as a digest of
// the files build-inputs.json lists, in ../airflow_ol_catalog/www/.ui-inputs.sha256. The package's
// build hook (hatch_build.py) computes the same digest and rebuilds only when the two differ, so
// file times (which unpacking an sdist or a Docker cache may change) never decide.
// Digest: SHA-256 of one line per file, in order of its path under ui/: "path\0sha256(content)\n".
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ui = fileURLToPath(new URL(".", import.meta.url));
const sha256 = (data) => createHash("sha256").update(data).digest("hex");

function files(path) {
  if (!statSync(path, { throwIfNoEntry: false })) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => files(join(path, name)));
}

const names = JSON.parse(readFileSync(join(ui, "build-inputs.json"), "utf8"));
const paths = names.flatMap((name) => files(join(ui, name))).map((path) => relative(ui, path).split(sep).join("/"));
paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const lines = paths.map((path) => `${path}\0${sha256(readFileSync(join(ui, path)))}\n`).join("");
writeFileSync(new URL("../airflow_ol_catalog/www/.ui-inputs.sha256", import.meta.url), `${sha256(lines)}\n`);
