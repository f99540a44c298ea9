"""The build hook that makes the wheel whole: the UI's pages (airflow_ol_catalog/www) are built from
ui/ with npm when they are missing or were built from other sources, so `python -m build` or
`pip wheel .` on a fresh clone gives a wheel with its pages. The sdist carries both the sources
and the built pages: a wheel built from it needs no Node.js.

Which sources the pages were built from is decided by content, never by file times (unpacking an
sdist, a Docker build cache or a checkout may change those): `npm run build` ends by writing a
digest of the files ui/build-inputs.json lists (ui/stamp-inputs.mjs), and this hook computes the
same digest."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STAMP = Path("airflow_ol_catalog") / "www" / ".ui-inputs.sha256"
# What Vite and its React plugin need (their package.json's engines).
NODE = "Node.js 20.19 or newer (or 22.12 or newer)"


def inputs_digest(ui: Path) -> str:
    """SHA-256 of one line per input file, in order of its path under ui/: path, NUL, SHA-256 of
    its content, newline. The same as ui/stamp-inputs.mjs writes."""
    files: list[Path] = []
    for name in json.loads((ui / "build-inputs.json").read_text(encoding="utf-8")):
        path = ui / name
        if path.is_dir():
            files.extend(f for f in path.rglob("*") if f.is_file())
        elif path.is_file():
            files.append(path)
    lines = sorted(f"{f.relative_to(ui).as_posix()}\0{hashlib.sha256(f.read_bytes()).hexdigest()}\n" for f in files)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def why_stale(root: Path) -> str | None:
    """Why the built UI must be (re)built, or None when it is there and was built from these sources."""
    ui, stamp = root / "ui", root / STAMP
    if not (root / "airflow_ol_catalog" / "www" / "index.html").exists():
        return "airflow_ol_catalog/www is missing"
    if not (ui / "build-inputs.json").exists():  # no sources to build from (the pages are all there is)
        return None
    if not stamp.exists():
        return "airflow_ol_catalog/www does not say which sources it was built from"
    if stamp.read_text(encoding="utf-8").strip() != inputs_digest(ui):
        return "ui/ has changed since airflow_ol_catalog/www was built"
    return None


def _node_is_new_enough(node: str) -> bool:
    found = re.match(r"v(\d+)\.(\d+)", subprocess.run([node, "--version"], capture_output=True, text=True).stdout)
    if found is None:
        return False
    version = (int(found[1]), int(found[2]))
    return (20, 19) <= version < (21, 0) or version >= (22, 12)


def build_ui(root: Path, reason: str) -> None:
    ui = root / "ui"
    if not (ui / "build-inputs.json").exists():
        raise RuntimeError(f"cannot build airflow-ol-catalog: {reason}, and ui/ (its sources) is not here either")
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None or not _node_is_new_enough(node):
        found = "no Node.js with npm on PATH" if npm is None or node is None else f"{node} is older"
        raise RuntimeError(
            f"cannot build airflow-ol-catalog: {reason}. Building its UI takes {NODE} with npm, "
            f"and there is {found}. (The sdist carries the built UI: a wheel built from it needs no Node.js.)"
        )
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ui, check=True)
    subprocess.run([npm, "run", "build"], cwd=ui, check=True)
    still = why_stale(root)
    if still is not None:
        raise RuntimeError(f"the UI's build ran, yet {still}")


class UIBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        reason = why_stale(root)
        if reason is None:
            return
        self.app.display_info(f"building the UI with npm: {reason}")
        build_ui(root, reason)
