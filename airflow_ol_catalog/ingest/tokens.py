"""Ingest tokens: random secrets shown once, stored as SHA-256, found by prefix, compared in constant time."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from airflow_ol_catalog.events.naming import invisible_problem
from airflow_ol_catalog.events.not_found import TokenNotFound
from airflow_ol_catalog.ingest.scope import Scope
from airflow_ol_catalog.store.sql import AnyRow, sorted_by, utcnow
from airflow_ol_catalog.store.tables import token

TOKEN_MARK = "olc_"
PREFIX_LENGTH = len(TOKEN_MARK) + 8


MAX_TOKEN_NAME = 250  # store/tables.py `token.name`
TOKEN_TOUCH_SECONDS = 60  # a token's `last_used_at` is written at most this often (per process)


class TokenError(ValueError):
    """A token that cannot be made or found; `field` names what to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TokenExists(TokenError):
    pass


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    prefix: str
    namespaces: tuple[str, ...] | None  # None: every namespace
    can_read: bool
    can_admin: bool
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None

    @functools.cached_property
    def scope(self) -> Scope | None:
        """What it may change (ingest/scope.py); None: every namespace."""
        return Scope(frozenset(self.namespaces)) if self.namespaces is not None else None


def _from_row(row: AnyRow) -> Token:
    return Token(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        namespaces=tuple(json.loads(row.namespaces)) if row.namespaces is not None else None,
        can_read=row.can_read,
        can_admin=row.can_admin,
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _digest(secret: str) -> str:
    # Tokens carry 240 random bits, so a fast hash is enough: nothing here can be brute-forced.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def looks_like_catalog_token(secret: str) -> bool:
    return secret.startswith(TOKEN_MARK)


def create_token(
    conn: Connection,
    name: str,
    created_by: str,
    namespaces: list[str] | None = None,
    can_read: bool = False,
    can_admin: bool = False,
) -> tuple[Token, str]:
    """Create a token; return it with its secret, which is never stored and cannot be shown again."""
    name = name.strip()
    if not name:
        raise TokenError("name", "a token needs a name")
    if len(name) > MAX_TOKEN_NAME:
        raise TokenError(
            "name", f"is {len(name)} characters long, more than the {MAX_TOKEN_NAME} a token's name may have"
        )
    if (hidden := invisible_problem(name)) is not None:  # shown in lists and written into log lines as it is
        raise TokenError("name", hidden)
    if namespaces is not None:
        # An empty list would be stored as "no limit": a token meant for nothing would allow everything.
        if not namespaces:
            raise TokenError(
                "namespaces",
                "an empty list would allow no namespace; omit it for a token that may send to every namespace",
            )
        if any(not ns.strip() for ns in namespaces):
            raise TokenError("namespaces", "namespace names must not be empty")
        if can_admin:
            raise TokenError("namespaces", "an admin token cannot be limited to namespaces")
    secret = TOKEN_MARK + secrets.token_urlsafe(30)
    try:
        with conn.begin_nested():
            row = conn.execute(
                token.insert()
                .values(
                    name=name,
                    prefix=secret[:PREFIX_LENGTH],
                    secret_hash=_digest(secret),
                    namespaces=json.dumps(sorted(set(namespaces))) if namespaces is not None else None,
                    can_read=can_read or can_admin,
                    can_admin=can_admin,
                    created_at=utcnow(),
                    created_by=created_by,
                )
                .returning(*token.c)
            ).one()
    except IntegrityError:
        raise TokenExists("name", f"a token named {name!r} exists already") from None
    return _from_row(row), secret


TOKEN_SORTS = {"name": token.c.name, "createdAt": token.c.created_at, "lastUsedAt": token.c.last_used_at}


def list_tokens(
    conn: Connection,
    include_revoked: bool = False,
    limit: int | None = None,
    offset: int = 0,
    sort: str = "name",
    descending: bool = False,
) -> list[Token]:
    query = select(token)
    if not include_revoked:
        query = query.where(token.c.revoked_at.is_(None))
    query = sorted_by(query, TOKEN_SORTS[sort], descending, token.c.name).limit(limit).offset(offset)
    return [_from_row(row) for row in conn.execute(query)]


def count_tokens(conn: Connection, include_revoked: bool = False) -> int:
    query = select(func.count()).select_from(token)
    return conn.execute(query if include_revoked else query.where(token.c.revoked_at.is_(None))).scalar_one()


def revoke_token(conn: Connection, name: str) -> Token:
    result = conn.execute(
        update(token).where(token.c.name == name, token.c.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    if result.rowcount == 0:
        raise TokenNotFound(name)
    return _from_row(conn.execute(select(token).where(token.c.name == name)).one())


def verify_token(conn: Connection, secret: str) -> Token | None:
    """The active token this secret belongs to, or None."""
    if not looks_like_catalog_token(secret) or len(secret) < PREFIX_LENGTH:
        return None
    row = conn.execute(select(token).where(token.c.prefix == secret[:PREFIX_LENGTH])).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret)):
        return None
    if row.revoked_at is not None:
        return None
    return _from_row(row)


def token_scopes(conn: Connection, token_ids: set[int]) -> dict[int, Scope | None]:
    """The scope of each of these tokens, revoked ones included (events they sent keep their limits)."""
    if not token_ids:
        return {}
    rows = conn.execute(select(token.c.id, token.c.namespaces).where(token.c.id.in_(token_ids)))
    return {
        row.id: Scope(frozenset(json.loads(row.namespaces))) if row.namespaces is not None else None for row in rows
    }


def touch_tokens(conn: Connection, token_ids: set[int], when: datetime) -> None:
    if token_ids:
        conn.execute(update(token).where(token.c.id.in_(token_ids)).values(last_used_at=when))
