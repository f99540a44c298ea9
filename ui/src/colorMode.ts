import { useSyncExternalStore } from "react";

// Follow Airflow's light/dark mode. Airflow's UI (next-themes) puts `light` or `dark` on the
// class of its <html> and keeps the choice in localStorage["theme"] ("light", "dark", "system").
// Our pages run in a same-origin iframe, so they can read the parent document directly.

export type Mode = "light" | "dark";

function parentDocument(): Document | null {
  try {
    return window.parent !== window ? window.parent.document : null;
  } catch {
    return null; // not same-origin: opened some other way
  }
}

export function currentMode(): Mode {
  const parent = parentDocument();
  if (parent?.documentElement.classList.contains("dark")) return "dark";
  if (parent?.documentElement.classList.contains("light")) return "light";
  const stored = window.localStorage.getItem("theme");
  if (stored === "dark" || stored === "light") return stored;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/** Airflow's own colours and fonts (its theme may be customised): copied from its Chakra variables. */
function adoptAirflowTheme(root: HTMLElement): void {
  const parent = parentDocument();
  if (!parent?.defaultView) return;
  const style = parent.defaultView.getComputedStyle(parent.documentElement);
  for (let i = 0; i < style.length; i++) {
    const name = style[i];
    if (name.startsWith("--chakra-colors-") || name.startsWith("--chakra-fonts-")) root.style.setProperty(name, style.getPropertyValue(name));
  }
}

function apply(mode: Mode): void {
  const root = document.documentElement;
  root.classList.toggle("dark", mode === "dark");
  root.classList.toggle("light", mode === "light");
  root.style.colorScheme = mode;
  adoptAirflowTheme(root);
}

export function followAirflowColorMode(): void {
  apply(currentMode());
  const parent = parentDocument();
  if (parent) {
    new MutationObserver(() => apply(currentMode())).observe(parent.documentElement, {
      attributes: true,
      attributeFilter: ["class"],
    });
  }
  window.addEventListener("storage", () => apply(currentMode()));
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => apply(currentMode()));
}

/** The mode our pages are in now, re-rendering when it changes (for components that take it as a prop). */
export function useMode(): Mode {
  return useSyncExternalStore(
    (changed) => {
      const observer = new MutationObserver(changed);
      observer.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
      return () => observer.disconnect();
    },
    () => (document.documentElement.classList.contains("dark") ? "dark" : "light"),
  );
}
