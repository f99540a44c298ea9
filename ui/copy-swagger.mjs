// The API's docs page (/ol-catalog/docs) loads Swagger UI from the package, never from a CDN:
// after `vite build`, copy swagger-ui-dist's bundle, stylesheet, icon and licence next to the pages.
import { copyFileSync, mkdirSync } from "node:fs";

const source = new URL("node_modules/swagger-ui-dist/", import.meta.url);
const target = new URL("../airflow_ol_catalog/www/swagger/", import.meta.url);
mkdirSync(target, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"]) {
  copyFileSync(new URL(file, source), new URL(file, target));
}
