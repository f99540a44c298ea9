// ESLint (flat config): typescript-eslint's recommended rules and React's rules of hooks.
// Type errors are tsc's job (`npm run typecheck`); this catches what compiles but is wrong.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";
import { defineConfig } from "eslint/config";

export default defineConfig(
  { ignores: ["node_modules/", "dist/"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, tseslint.configs.recommended, reactHooks.configs.flat.recommended],
  },
);
