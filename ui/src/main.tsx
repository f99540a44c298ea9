import { ChakraProvider, createSystem, defaultConfig, defineConfig } from "@chakra-ui/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { followAirflowColorMode } from "./colorMode";

followAirflowColorMode();

// Every link looks like one (coloured), unless it says otherwise (the navigation bar).
const system = createSystem(defaultConfig, defineConfig({ theme: { recipes: { link: { variants: { variant: { plain: { color: "fg.info" } } } } } } }));

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ChakraProvider value={system}>
      <App />
    </ChakraProvider>
  </StrictMode>,
);
