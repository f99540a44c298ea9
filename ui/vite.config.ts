import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served at <base_url>/ol-catalog/ui/ inside Airflow: every asset path is relative.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "../airflow_ol_catalog/www",
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
  },
});
