"""The catalog's pages: the single-page app built from ui/ into airflow_ol_catalog/www.

Airflow shows them in same-origin iframes (the plugin's `external_views`). Every file needs an
Airflow login allowed to read assets, so nothing of the catalog is served to an anonymous visitor (the
API docs page and Swagger UI's files are open, like the OpenAPI document: they hold no data);
catalog tokens are for the API, not the pages. The app adds the framing and nosniff headers.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from airflow_ol_catalog.api.auth import LoginReadAuth, ReadAuth, admin_principal
from airflow_ol_catalog.api.datamodels.me import Me

WWW = Path(__file__).resolve().parents[1] / "www"
NOT_BUILT = "the catalog UI is not built: run `npm ci && npm run build` in ui/ (the README's commands do)"

router = APIRouter(tags=["ui"])


@router.get("/ui", include_in_schema=False)
async def ui_root() -> RedirectResponse:
    # Relative, so the redirect works under any [api] base_url sub-path.
    return RedirectResponse("ui/", status_code=307)


@router.get("/ui/", response_class=HTMLResponse, summary="The catalog UI (Airflow login with read access on assets)")
async def ui_index(_: LoginReadAuth) -> FileResponse:
    index = WWW / "index.html"
    if not index.is_file():
        raise HTTPException(503, NOT_BUILT)
    return FileResponse(index, headers={"Cache-Control": "no-cache"})


@router.get("/ui/assets/{name}", include_in_schema=False)
async def ui_asset(name: str, _: LoginReadAuth) -> FileResponse:
    # File names carry a content hash: a changed file is a new name.
    path = _file_in(WWW / "assets", name, "UI asset")
    return FileResponse(path, headers={"Cache-Control": "private, max-age=31536000, immutable"})


def _file_in(folder: Path, name: str, what: str) -> Path:
    """The file `name` directly in `folder`; 404 for anything else (`..`, an encoded `/`, a folder)."""
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise HTTPException(404, f"no {what} named {name!r}")
    return path


SWAGGER = WWW / "swagger"  # Swagger UI's files, copied there by the UI's build (ui/vite.config.ts)


async def api_docs(_: Request) -> HTMLResponse:
    """The API reference, browsable: Swagger UI from the package (no request leaves the server).
    Open, like the OpenAPI document it shows (no data); paths relative, so any base_url works.
    A plain route, as FastAPI's own docs page is (api/app.py adds it)."""
    if not (SWAGGER / "swagger-ui-bundle.js").is_file():
        raise HTTPException(503, NOT_BUILT)
    return get_swagger_ui_html(
        openapi_url="openapi.json",
        title="OpenLineage catalog API",
        swagger_js_url="docs/swagger-ui-bundle.js",
        swagger_css_url="docs/swagger-ui.css",
        swagger_favicon_url="docs/favicon-32x32.png",
        oauth2_redirect_url=None,
    )


async def api_docs_file(request: Request) -> FileResponse:
    path = _file_in(SWAGGER, request.path_params["name"], "API docs file")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/api/v1/me", summary="Who is calling and whether they may administer the catalog")
async def me(request: Request, principal: ReadAuth) -> Me:
    try:
        await admin_principal(request)
        admin = True
    except HTTPException:
        admin = False
    return Me(name=principal.name, admin=admin)
