"""Who is calling: a catalog token (machine producers) or an Airflow login (JWT or UI cookie).

Every route declares one of the dependencies below; nothing under /ol-catalog is protected by
Airflow automatically.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import anyio
from fastapi import Depends, HTTPException, Request

from airflow_ol_catalog.ingest.scope import Scope
from airflow_ol_catalog.ingest.tokens import (
    TOKEN_TOUCH_SECONDS,
    Token,
    looks_like_catalog_token,
    touch_tokens,
    verify_token,
)
from airflow_ol_catalog.store.engine import get_engine, read_connection, write_transaction
from airflow_ol_catalog.store.sql import utcnow

log = logging.getLogger(__name__)

COOKIE = "_token"
TOKEN_CACHE_SECONDS = 5.0  # a revoked token stops working within this time


@dataclass(frozen=True)
class Principal:
    token: Token | None = None
    user_name: str | None = None
    user: Any = field(default=None, compare=False, repr=False)  # Airflow's user object, for its auth manager

    @property
    def token_id(self) -> int | None:
        return self.token.id if self.token else None

    @property
    def scope(self) -> Scope | None:
        """What the caller may change; None (Airflow users, unlimited tokens): everything."""
        return self.token.scope if self.token else None

    @property
    def name(self) -> str:
        return f"token:{self.token.name}" if self.token else f"user:{self.user_name}"


class _TokenCache:
    """Verified tokens for a few seconds, so the hot path does not read the token table per event.

    One look-up a token at a time: when a busy producer's entry expires, the requests then in
    flight (as many as its connections) wait for one read of the token table, where each read it,
    each taking a database connection, and opened new ones past the pool's size.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Token | None]] = {}
        self._lock = threading.Lock()
        self._looking: dict[str, asyncio.Future[Token | None]] = {}  # by key: the look-up under way
        self._cleared = 0  # how often `clear` ran: a look-up begun before keeps nothing

    async def verify(self, secret: str) -> Token | None:
        key = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        looking = self._looking.get(key)
        if looking is None or looking.get_loop() is not asyncio.get_running_loop():
            looking = self._looking[key] = asyncio.ensure_future(self._looked_up(key, secret))
        # Shielded: a request that goes away cancels its wait, not the others' look-up.
        return await asyncio.shield(looking)

    async def _looked_up(self, key: str, secret: str) -> Token | None:
        try:
            now, cleared = time.monotonic(), self._cleared
            found = await anyio.to_thread.run_sync(self._lookup, secret)
            with self._lock:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                if cleared == self._cleared:
                    self._entries[key] = (now + TOKEN_CACHE_SECONDS, found)
            return found
        finally:
            if self._looking.get(key) is asyncio.current_task():
                self._looking.pop(key, None)  # `clear` may have emptied it meanwhile, from another thread

    def clear(self) -> None:
        """Forget every verified token (a token revoked in this process stops working at once)."""
        with self._lock:
            self._entries.clear()
            self._looking.clear()
            self._cleared += 1

    @staticmethod
    def _lookup(secret: str) -> Token | None:
        with read_connection(get_engine()) as conn:
            return verify_token(conn, secret)


token_cache = _TokenCache()


class _TokenUses:
    """When tokens that read or administer were last used (a token that sends events has it written
    with its events, ingest/writer.py): written off the request, at most once a TOKEN_TOUCH_SECONDS
    per token, so that an admin sees a leaked read or admin token in use."""

    def __init__(self) -> None:
        self._touched: dict[int, float] = {}
        self._writing: set[asyncio.Future[None]] = set()  # kept until done (the loop holds tasks weakly)

    def note(self, token_id: int) -> None:
        now = time.monotonic()
        if now - self._touched.get(token_id, -TOKEN_TOUCH_SECONDS) < TOKEN_TOUCH_SECONDS:
            return
        self._touched[token_id] = now
        writing = asyncio.ensure_future(anyio.to_thread.run_sync(self._write, token_id))
        self._writing.add(writing)
        writing.add_done_callback(self._writing.discard)

    @staticmethod
    def _write(token_id: int) -> None:
        try:
            with write_transaction() as conn:
                touch_tokens(conn, {token_id}, utcnow())
        except Exception as exc:  # a note of use: never worth failing or slowing a request
            log.warning("could not record the use of a catalog token: %s", exc)


token_uses = _TokenUses()


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def _credential(request: Request) -> str | None:
    """The token of `Authorization: Bearer`, else the login cookie. A request with the header, even
    empty, is never signed in by the cookie: the forgery check (csrf.py) spares such requests."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _unauthorized("Authorization header must be 'Bearer <token>'")
        return value.strip()
    return request.cookies.get(COOKIE)


async def _airflow_user(credential: str):
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    try:
        return await resolve_user_from_token(credential)
    except HTTPException:
        raise _unauthorized("the token is neither a catalog token nor a valid Airflow login") from None


AssetMethod = Literal["GET", "POST", "PUT", "DELETE"]  # what Airflow checks on assets


def _asset_access(user, method: AssetMethod) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AssetDetails

    return get_auth_manager().is_authorized_asset(method=method, details=AssetDetails(), user=user)


def _connection_access(user) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

    return get_auth_manager().is_authorized_connection(method="GET", details=ConnectionDetails(), user=user)


def connection_details_withheld(principal: Principal) -> str | None:
    """Why this caller may not see Airflow Connections' ids, hosts and aliases; None when they may.

    As in Airflow itself: only users allowed to read Connections. Catalog tokens never, admin ones
    included (the reconcile DAG reads what it needs through the admin routes).
    """
    if principal.user is None:
        return f"{principal.name} is a catalog token; only Airflow users allowed to read Connections see them"
    if not _connection_access(principal.user):
        return f"Airflow user {principal.user_name!r} may not read Connections"
    return None


async def _principal(
    request: Request,
    purpose: str,
    method: AssetMethod,
    token_refusal: Callable[[Token], str | None],
    logins_only: bool = False,
) -> Principal:
    """The caller, if they may do `purpose`: a catalog token `token_refusal` has nothing against, or an
    Airflow user with `method` access on assets (`logins_only`: no token ever may)."""
    credential = _credential(request)
    if not credential:
        needed = "an Airflow login (its JWT)" if logins_only else "a catalog token or an Airflow login"
        raise _unauthorized(f"to {purpose} you need {needed} (Authorization: Bearer <token>)")
    if looks_like_catalog_token(credential):
        token = await token_cache.verify(credential)
        if token is None:
            raise _unauthorized("unknown or revoked catalog token")
        request.state.caller = f"token:{token.name}"
        refusal = token_refusal(token)
        if refusal:
            raise HTTPException(403, f"token {token.name!r} may not {purpose} ({refusal})")
        return Principal(token=token)
    user = await _airflow_user(credential)
    request.state.caller = f"user:{user.get_name()}"
    if not _asset_access(user, method):
        raise HTTPException(403, f"Airflow user {user.get_name()!r} may not {purpose} (needs {method} on assets)")
    return Principal(user_name=user.get_name(), user=user)


async def ingest_principal(request: Request) -> Principal:
    """Send events: any active catalog token, or an Airflow user who may edit assets."""
    return await _principal(request, "send events", "PUT", lambda token: None)


def _used(principal: Principal) -> Principal:
    if principal.token is not None:
        token_uses.note(principal.token.id)
    return principal


async def read_principal(request: Request) -> Principal:
    """Read the catalog: a catalog token with read access, or an Airflow user who may read assets."""
    return _used(
        await _principal(
            request, "read the catalog", "GET", lambda token: None if token.can_read else "create one with --read"
        )
    )


async def admin_principal(request: Request) -> Principal:
    """Administer the catalog: an Airflow user who may delete assets, or a token created with --admin
    (the maintenance DAGs' token, kept in an Airflow Connection)."""
    return _used(
        await _principal(
            request,
            "administer the catalog",
            "DELETE",
            lambda token: None if token.can_admin else "create one with --admin",
        )
    )


async def curator_principal(request: Request) -> Principal:
    """Hide and restore namespaces, datasets and jobs: an Airflow user who may delete assets, never a token."""
    return await _principal(
        request,
        "hide or restore",
        "DELETE",
        lambda token: "that needs an Airflow login allowed to delete assets; tokens never may",
        logins_only=True,
    )


async def tagger_principal(request: Request) -> Principal:
    """Tag datasets, jobs and columns: an Airflow user who may edit assets, never a token (tags say
    what people decided about data; producers state theirs in `tags` facets)."""
    return await _principal(
        request,
        "tag",
        "PUT",
        lambda token: "that needs an Airflow login allowed to edit assets; tokens never may",
        logins_only=True,
    )


async def asset_event_principal(request: Request) -> Principal:
    """Mark datasets whose writes make Airflow asset events: an Airflow user who may create asset
    events (POST on assets, what Airflow's own route asks), never a token."""
    return await _principal(
        request,
        "mark datasets whose writes trigger Airflow",
        "POST",
        lambda token: "that needs an Airflow login allowed to create asset events; tokens never may",
        logins_only=True,
    )


async def login_reader_principal(request: Request) -> Principal:
    """Open the catalog's pages: an Airflow user who may read assets (tokens are for the API)."""
    return await _principal(
        request,
        "open the catalog's pages",
        "GET",
        lambda token: "the pages are for Airflow logins; tokens use the API",
        logins_only=True,
    )


IngestAuth = Annotated[Principal, Depends(ingest_principal)]
AdminAuth = Annotated[Principal, Depends(admin_principal)]
CuratorAuth = Annotated[Principal, Depends(curator_principal)]
TaggerAuth = Annotated[Principal, Depends(tagger_principal)]
AssetEventAuth = Annotated[Principal, Depends(asset_event_principal)]
ReadAuth = Annotated[Principal, Depends(read_principal)]
LoginReadAuth = Annotated[Principal, Depends(login_reader_principal)]


# What each dependency lets in, as the OpenAPI document states it on every operation, and
# whether catalog tokens are among them.
AUTH_RULES: dict[Callable, tuple[str, bool]] = {
    ingest_principal: ("a catalog token (limited to its namespaces), or an Airflow login allowed to edit assets", True),
    read_principal: ("a catalog token created with --read, or an Airflow login allowed to read assets", True),
    admin_principal: ("an Airflow login allowed to delete assets, or a catalog token created with --admin", True),
    curator_principal: ("an Airflow login allowed to delete assets; never a token", False),
    tagger_principal: ("an Airflow login allowed to edit assets; never a token", False),
    asset_event_principal: ("an Airflow login allowed to create asset events; never a token", False),
    login_reader_principal: ("an Airflow login allowed to read assets", False),
}
SECURITY_SCHEMES = {
    "catalogToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A catalog token (`olc_...`), from `airflow ol-catalog tokens create`.",
    },
    "airflowLogin": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An Airflow JWT (`POST /auth/token`), or the UI's `_token` cookie.",
    },
}


def document_auth(app) -> None:
    """State each route's auth in the OpenAPI document: a first line `Auth: ...`, its security
    schemes, and its 401 and 403 answers. Taken from the dependency the route declares, so the
    document cannot drift from the code."""
    from fastapi.routing import APIRoute

    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        calls = {dependency.call for dependency in route.dependant.dependencies}
        rule, tokens = next((found for call, found in AUTH_RULES.items() if call in calls), ("none", False))
        route.description = f"Auth: {rule}.\n\n{(route.description or '').strip()}".strip()
        if rule == "none":
            continue
        schemes: list[dict[str, list[str]]] = (
            [{"catalogToken": []}, {"airflowLogin": []}] if tokens else [{"airflowLogin": []}]
        )
        route.openapi_extra = {**(route.openapi_extra or {}), "security": schemes}
        route.responses.setdefault(401, {"description": "No credential, or an unknown, revoked or expired one."})
        route.responses.setdefault(403, {"description": f"Allowed: {rule}."})
    original = app.openapi

    def with_schemes() -> dict:
        schema = original()
        schema.setdefault("components", {}).setdefault("securitySchemes", SECURITY_SCHEMES)
        return schema

    app.openapi = with_schemes
