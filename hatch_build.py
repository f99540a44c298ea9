"""The build hook that makes the wheel whole: the UI's pages (airflow_ol_catalog/www) are built from
ui/ with npm when they are missing or older than their sources, so `python -m build` or
`pip wheel .` on a fresh clone gives a wheel with its pages. The sdist carries both the sources
and the built pages: a wheel built from it needs no Node.js."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# What the UI's build reads, under ui/.
UI_INPUTS = (
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "copy-swagger.mjs",
)


def _newest(path: Path) -> float:
    if path.is_dir():
        return max((f.stat().st_mtime for f in path.rglob("*") if f.is_file()), default=0.0)
    return path.stat().st_mtime if path.exists() else 0.0


def why_stale(root: Path) -> str | None:
    """Why the built UI must be (re)built, or None when it is there and no source is newer."""
    ui, built = root / "ui", root / "airflow_ol_catalog" / "www" / "index.html"
    if not built.exists():
        return "airflow_ol_catalog/www is missing"
    if not (ui / "package.json").exists():  # no sources to build from (the pages are all there is)
        return None
    newest = max(_newest(ui / name) for name in UI_INPUTS)
    if newest > built.stat().st_mtime:
        return "ui/ has changed since airflow_ol_catalog/www was built"
    return None


def build_ui(root: Path, reason: str) -> None:
    ui = root / "ui"
    if not (ui / "package.json").exists():
        raise RuntimeError(f"cannot build airflow-ol-catalog: {reason}, and ui/ (its sources) is not here either")
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"cannot build airflow-ol-catalog: {reason}. Building its UI takes Node.js 20 or newer with npm "
            "on PATH (or build from the sdist, which carries the built UI)."
        )
    installed = ui / "node_modules" / ".package-lock.json"  # npm's record of what node_modules holds
    if not installed.exists() or installed.stat().st_mtime < (ui / "package-lock.json").stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ui, check=True)
    subprocess.run([npm, "run", "build"], cwd=ui, check=True)
    if why_stale(root) is not None:
        raise RuntimeError("the UI's build ran but airflow_ol_catalog/www/index.html is not there")


class UIBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        reason = why_stale(root)
        if reason is None:
            return
        self.app.display_info(f"building the UI with npm: {reason}")
        build_ui(root, reason)
