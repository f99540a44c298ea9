"""What the `airflow ol-catalog` commands do (loaded only when one of them runs)."""

from __future__ import annotations

import getpass
import json
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow_ol_catalog.events.naming import escaped
from airflow_ol_catalog.events.not_found import NamespaceNotFound, TokenNotFound
from airflow_ol_catalog.ingest import namespaces as ns_registry
from airflow_ol_catalog.ingest import quarantine, tokens
from airflow_ol_catalog.store import namespaces as namespace_rows
from airflow_ol_catalog.store.engine import get_engine, read_connection, write_transaction

PLACEHOLDER_NAMESPACE_KEYS = (("job",), ("run", "facets", "parent", "job"), ("run", "facets", "parent", "root", "job"))


def _who() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)


def _catalog():
    """The catalog's engine, once its database is known to be at this version's migrations (the
    commands say what to run instead of failing on a missing table)."""
    from sqlalchemy.exc import SQLAlchemyError

    from airflow_ol_catalog.store.migrate import current_revision, not_migrated

    try:
        engine = get_engine()
    except (SQLAlchemyError, ImportError, ValueError) as exc:  # a URL it cannot read or use, a driver not installed
        _fail(f"[ol_catalog] sql_alchemy_conn cannot be used ({type(exc).__name__}: {exc})")
    try:
        with engine.connect() as conn:
            problem = not_migrated(current_revision(conn))
    except SQLAlchemyError as exc:
        _fail(f"the catalog's database cannot be reached ({type(exc).__name__}): check [ol_catalog] sql_alchemy_conn")
    if problem:
        _fail(f"the catalog's database is {problem}")
    return engine


def _time(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def _shown(text: str) -> str:
    """Text from events and answers for the terminal: control characters as codes (`escaped`), so
    none of them acts on it, and quoted when spaces at its ends would vanish (`'ns1 '`)."""
    text = escaped(text)
    return repr(text) if text != text.strip() else text


def _table(rows: list[tuple], headers: tuple[str, ...]) -> None:
    """Rows as a table, their text `_shown`."""
    from tabulate import tabulate

    shown = [tuple(_shown(cell) if isinstance(cell, str) else cell for cell in row) for row in rows]
    print(tabulate(shown, headers=headers) if rows else "(none)")


def tokens_create(args) -> None:
    with write_transaction(_catalog()) as conn:
        try:
            token, secret = tokens.create_token(
                conn, args.name, _who(), args.namespaces, args.read, getattr(args, "admin", False)
            )
        except tokens.TokenError as exc:
            _fail(str(exc))
    scope = ", ".join(token.namespaces) if token.namespaces else "every namespace"
    print(
        f"Created token {token.name!r} ({scope}; read access: {'yes' if token.can_read else 'no'}; admin: {'yes' if token.can_admin else 'no'})."
    )
    print("Copy it now: it is stored hashed and cannot be shown again.")
    print(secret)


def tokens_list(args) -> None:
    with read_connection(_catalog()) as conn:
        items = tokens.list_tokens(conn, include_revoked=args.all)
    _table(
        [
            (
                t.name,
                t.prefix + "…",
                ", ".join(t.namespaces) if t.namespaces else "*",
                "yes" if t.can_read else "no",
                "yes" if t.can_admin else "no",
                _time(t.created_at),
                _time(t.last_used_at),
                _time(t.revoked_at),
            )
            for t in items
        ],
        ("name", "prefix", "namespaces", "read", "admin", "created", "last used", "revoked"),
    )


def tokens_revoke(args) -> None:
    with write_transaction(_catalog()) as conn:
        try:
            tokens.revoke_token(conn, args.name)
        except TokenNotFound as exc:
            _fail(str(exc))
    print(f"Revoked token {args.name!r}.")


def _show_namespace(ns: namespace_rows.Namespace) -> None:
    print(f"name:          {_shown(ns.name)}")
    print(f"description:   {_shown(ns.description) if ns.description else '-'}")
    print(f"admins:        {', '.join(map(_shown, ns.admins)) or '-'}")
    print(f"integrations:  {', '.join(map(_shown, ns.integrations)) or '-'}")
    print(f"events:        {ns.event_count} (quarantined: {ns.quarantined_count})")
    print(f"first event:   {_time(ns.first_event_at)}")
    print(f"last event:    {_time(ns.last_event_at)}")
    print(f"created:       {_time(ns.created_at)} by {_shown(ns.created_by)}")
    if ns.deleted_at:
        print(f"deleted:       {_time(ns.deleted_at)}")


def namespaces_create(args) -> None:
    with write_transaction(_catalog()) as conn:
        try:
            ns = ns_registry.create_namespace(conn, args.name, _who(), args.description, args.admins)
        except (ns_registry.NamespaceExists, ns_registry.NamespaceInvalid) as exc:
            _fail(str(exc))
        waiting = namespace_rows.count_quarantined(conn, args.name)
    _show_namespace(ns)
    if waiting:
        print(
            f"{waiting} quarantined events wait for it: run "
            f"`airflow ol-catalog quarantine replay --namespace {_shown(shlex.quote(args.name))}`"
        )


def namespaces_list(args) -> None:
    with read_connection(_catalog()) as conn:
        items, _ = namespace_rows.list_namespaces(conn, limit=10_000, include_deleted=args.all)
    _table(
        [
            (
                n.name,
                n.event_count,
                ", ".join(n.integrations) or "-",
                _time(n.last_event_at),
                "deleted" if n.deleted_at else "",
            )
            for n in items
        ],
        ("name", "events", "integrations", "last event", ""),
    )


def namespaces_show(args) -> None:
    with read_connection(_catalog()) as conn:
        try:
            _show_namespace(namespace_rows.get_namespace(conn, args.name))
        except NamespaceNotFound as exc:
            _fail(str(exc))


def _set_deleted(name: str, deleted: bool) -> None:
    with write_transaction(_catalog()) as conn:
        try:
            ns_registry.set_deleted(conn, name, deleted)
        except NamespaceNotFound as exc:
            _fail(str(exc))
    print(f"{'Deleted' if deleted else 'Restored'} namespace {name!r}.")


def namespaces_delete(args) -> None:
    _set_deleted(args.name, True)


def namespaces_restore(args) -> None:
    _set_deleted(args.name, False)


def quarantine_list(args) -> None:
    with read_connection(_catalog()) as conn:
        items = quarantine.list_quarantined(conn, args.namespace, limit=args.limit)
        waiting = quarantine.count_quarantined(conn, args.namespace)
    _table(
        [
            (
                q.event_id,
                q.namespace,
                q.kind,
                q.event_type or "-",
                q.job_name or "-",
                q.run_id or "-",
                _time(q.received_at),
            )
            for q in items
        ],
        ("id", "namespace", "kind", "type", "job", "run", "received"),
    )
    if waiting > len(items):
        print(f"{len(items)} of {waiting} quarantined events shown; --limit to see more")


def quarantine_replay(args) -> None:
    from airflow_ol_catalog.config import load_settings
    from airflow_ol_catalog.ingest import writer
    from airflow_ol_catalog.lineage.view_refresh import view_refresher

    settings = load_settings()
    if settings.view_prebuild:  # the replayed nodes' views, built before the command ends
        writer.listen(view_refresher.written)
    with writer.told_transaction(_catalog()) as conn:
        replayed = quarantine.replay_quarantined(conn, args.namespace, settings.unknown_namespace_policy)
        left = namespace_rows.count_quarantined(conn, args.namespace)
    for name, count in sorted(replayed.items()):
        print(f"{name}: {count} events replayed")
    print(f"{sum(replayed.values())} replayed, {left} still waiting for their namespace")
    if settings.view_prebuild and replayed:
        print("building the lineage views of the replayed jobs and datasets ...", flush=True)
    if not view_refresher.flush(timeout=600):
        print("lineage views of the replayed jobs and datasets not all built; graphs build the rest when asked")


def _default_url() -> str:
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="") or f"http://localhost:{conf.getint('api', 'port', fallback=8080)}/"
    return base if base.endswith("/") else base + "/"


def replace_namespace(event: dict[str, Any], namespace: str) -> None:
    """Move the event's job (and its parent) to `namespace`, and the jobs of that namespace its
    `lineage` facet names with it."""
    job = event.get("job")
    was = job.get("namespace") if isinstance(job, dict) else None
    for keys in PLACEHOLDER_NAMESPACE_KEYS:
        node: Any = event
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and "namespace" in node:
            node["namespace"] = namespace
    facets = job.get("facets") if isinstance(job, dict) else None
    lineage = facets.get("lineage") if isinstance(facets, dict) else None
    entries = lineage.get("entries") if isinstance(lineage, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        fields = entry.get("fields")
        specs = fields.values() if isinstance(fields, dict) else ()
        inputs = [entry.get("inputs")] + [spec.get("inputs") for spec in specs if isinstance(spec, dict)]
        for item in [entry] + [i for group in inputs if isinstance(group, list) for i in group]:
            if isinstance(item, dict) and item.get("type") == "JOB" and item.get("namespace") == was:
                item["namespace"] = namespace


def send(args) -> None:
    import requests

    files = sorted(Path(args.directory).rglob("*.json"))
    if not files:
        _fail(f"no *.json files under {args.directory}")
    url = (args.url or _default_url()).rstrip("/") + "/ol-catalog/api/v1/lineage"
    token = args.token or os.environ.get("OL_CATALOG_TOKEN")
    if not token:
        _fail("no token: pass --token or set OL_CATALOG_TOKEN (create one with `airflow ol-catalog tokens create`)")
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "not sent": 0}
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        for number, path in enumerate(files, 1):
            label = path.relative_to(args.directory)
            try:
                event = json.loads(path.read_bytes())
                if args.namespace and isinstance(event, dict):
                    replace_namespace(event, args.namespace)
                response = session.post(url, data=json.dumps(event).encode("utf-8"), timeout=30)
            except (ValueError, OSError) as exc:  # not JSON, unreadable, or the server not reached
                counts["not sent"] += 1
                print(f"[{number}/{len(files)}] {label}: not sent: {exc}")
                continue
            if response.status_code == 401:  # the token itself, the same for every event: stop at the first
                _fail(f"{label}: the catalog refused the token (401) {response.text[:300]}")
            if response.status_code == 201:
                outcome = "duplicate" if response.json().get("duplicate") else "accepted"
                counts[outcome] += 1
                print(f"[{number}/{len(files)}] {label}: {outcome}")
            else:
                counts["rejected"] += 1
                answer = escaped(response.text[:300])
                print(f"[{number}/{len(files)}] {label}: rejected ({response.status_code}) {answer}")
    print(
        f"{len(files)} events: {counts['accepted']} accepted, {counts['duplicate']} duplicate, "
        f"{counts['rejected']} rejected, {counts['not sent']} not sent"
    )
    if counts["rejected"] or counts["not sent"]:
        raise SystemExit(1)


# --- the routing transport -------------------------------------------------------------------------


def _routing(args):
    from airflow_ol_catalog.transport.config import RoutingConfigError
    from airflow_ol_catalog.transport.loading import build_transport

    try:
        return build_transport(args.config)
    except (RoutingConfigError, ValueError, OSError) as exc:
        _fail(str(exc))


def _utc(stamp: float | None) -> str:
    return _time(datetime.fromtimestamp(stamp, timezone.utc)) if stamp else "-"


def spool_status(args) -> None:
    from airflow_ol_catalog.transport import spool as spool_module

    transport = _routing(args)
    rows: list[tuple[str, ...]] = []
    for name, sender in transport.senders.items():
        if sender.spool is None:
            rows.append((name, "-", "-", "-", "-", "-", "no spool configured"))
            continue
        try:
            status = sender.spool.status()
        except OSError as exc:
            rows.append((name, "?", "?", "-", "?", "-", f"its spool cannot be read: {exc}"))
            continue
        rows.append(_status_row(status))
    directory = transport.settings.spool.directory
    note = "not in this config: delivered once a config names this destination again"
    max_bytes = transport.settings.spool.max_bytes
    for spool in spool_module.unnamed_spools(directory, transport.senders, max_bytes) if directory else []:
        try:
            status = spool.status()
        except OSError as exc:
            rows.append((spool.destination, "?", "?", "-", "?", "-", f"{note}; its spool cannot be read: {exc}"))
            continue
        if status.events or status.dead_letters:  # not a spool delivered to its end
            rows.append(_status_row(status, f"{note}; {status.last_error}" if status.last_error else note))
    kept = transport.recovered.kept if transport.recovered is not None else {}
    for name, count in sorted(kept.items()):
        why = "its spool cannot be written now" if name in transport.senders else "not in this config"
        rows.append((name, str(count), "-", "-", "-", "-", f"in journals of events in flight ({why})"))
    _table(rows, ("destination", "events", "bytes", "oldest", "dead letters", "damaged", "last error"))


def _status_row(status, note: str | None = None) -> tuple[str, ...]:
    damaged = f"{status.damaged_records} ({status.damaged_bytes} bytes)" if status.damaged_records else "0"
    return (
        status.destination,
        str(status.events),
        str(status.bytes),
        _utc(status.oldest),
        str(status.dead_letters),
        damaged,
        status.last_error or "" if note is None else note,
    )


def spool_flush(args) -> None:
    from airflow_ol_catalog.transport import spool as spool_module

    transport = _routing(args)
    done = transport.flush_spools()
    left: dict[str, int | str] = {}
    for name, sender in transport.senders.items():
        if sender.spool is not None:
            try:
                left[name] = sender.spool.status().events
            except OSError as exc:
                left[name] = f"its spool cannot be read ({exc})"
    for name in left:
        delivery = done.get(name)
        if delivery and delivery.busy:
            flushed = (
                f"another process kept delivering this spool for the {spool_module.TURN_WAIT_SECONDS:g} s waited; "
            )
        elif delivery:
            flushed = f"{delivery.delivered} delivered, {delivery.dead_lettered} refused for good (dead letters), "
        else:
            flushed = ""
        print(f"{name}: {flushed}{left[name]}" + (" waiting" if isinstance(left[name], int) else ""))
    if any(left.values()):
        _fail("some events could not be delivered yet (see `airflow ol-catalog spool status`)")


def _spools(transport, destination: str | None) -> list:
    """(name, spool) of the destination asked for, or of every destination with a spool."""
    if destination is not None and destination not in transport.senders:
        _fail(f"no destination named {destination!r}; the routing config has {', '.join(transport.senders)}")
    chosen = [
        (name, s.spool) for name, s in transport.senders.items() if destination in (None, name) and s.spool is not None
    ]
    if not chosen:
        _fail("no spool configured (spool.dir in the routing config): there are no dead letters")
    return chosen


def _chosen_ids(args) -> set[str] | None:
    if not args.ids and not args.every:
        _fail("say which dead letters: --id ID (repeat for several, see `dead-letters list`) or --all")
    return set(args.ids) if args.ids else None


def _missing_ids(ids: set[str] | None, found: set[str]) -> None:
    if ids and ids - found:
        _fail(f"no dead letter with id {', '.join(sorted(ids - found))}")


def dead_letters_list(args) -> None:
    rows: list[tuple[str, ...]] = []
    for name, spool in _spools(_routing(args), args.destination):
        for letter in spool.dead_letters.letters():
            answer = " ".join(letter.answer.split())
            rows.append(
                (
                    name,
                    letter.id,
                    _utc(letter.at),
                    letter.status,
                    letter.summary(),
                    answer if len(answer) <= 100 else answer[:99] + "…",
                )
            )
    _table(rows, ("destination", "id", "refused", "status", "event", "answer"))


def dead_letters_retry(args) -> None:
    ids = _chosen_ids(args)
    transport = _routing(args)
    found = set()
    for name, spool in _spools(transport, args.destination):
        chosen = [letter.id for letter in spool.dead_letters.letters() if ids is None or letter.id in ids]
        found |= set(chosen)
        moved = spool.requeue_dead_letters(ids)
        if moved < len(chosen):
            print(
                f"{name}: the spool is full ({spool.max_bytes} bytes): {len(chosen) - moved} left among the dead letters"
            )
        if moved:
            done = transport.flush_spools(destinations=[name])[name]
            print(
                f"{name}: {moved} put back in the spool; {done.delivered} delivered, {done.dead_lettered} refused again, "
                f"{spool.status().events} waiting"
            )
    _missing_ids(ids, found)


def dead_letters_discard(args) -> None:
    ids = _chosen_ids(args)
    found = set()
    for name, spool in _spools(_routing(args), args.destination):
        found |= {letter.id for letter in spool.dead_letters.letters()}
        discarded = spool.dead_letters.discard(ids)
        if discarded:
            print(f"{name}: {discarded} dead letters discarded")
    _missing_ids(ids, found)


def route_explain(args) -> None:
    from airflow_ol_catalog.transport.rules import explain

    transport = _routing(args)
    try:
        event = json.loads(Path(args.explain).read_text())
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {args.explain}: {exc}")
    if not isinstance(event, dict):
        _fail(f"{args.explain} holds a JSON {type(event).__name__}, not one OpenLineage event (an object)")
    for line in explain(transport.settings, event):
        print(escaped(line))


def openapi(args) -> None:
    from airflow_ol_catalog.api.openapi_document import openapi_text

    text = openapi_text()
    if args.output is None:
        sys.stdout.write(text)
        return
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"wrote {args.output}", file=sys.stderr)


def roles_sync(args) -> None:
    from airflow_ol_catalog.airflow_integration.fab_roles import RolesSyncFailed, sync_roles

    try:
        result = sync_roles(args.roles)
    except RolesSyncFailed as failed:
        _fail(str(failed))
    if not result.applies:
        print(f"nothing to do: the auth manager is {result.auth_manager}, whose own rules decide who sees the pages")
        return
    for role in result.granted:
        print(f"{role}: may now read Plugins (it may read assets): the catalog's pages are in its menus")
    for role in result.already:
        print(f"{role}: already reads Plugins")
    for role in result.skipped:
        print(f"{role}: left as it is (it may not read assets)")
