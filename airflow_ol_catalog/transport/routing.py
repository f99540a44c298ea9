"""RoutingTransport: an openlineage-python transport that sends each event where routing rules say.

Configured as the OpenLineage provider's transport (`type: airflow_ol_catalog.transport.RoutingTransport`).
It runs in task processes and scheduler workers, where Airflow's database is off limits: it
reads nothing from Airflow but Connections (through the secrets backends) for catalog tokens.

`emit` never raises and returns within the configured bound (2 s by default, across all
destinations): a destination that fails or is too slow gets the event in its spool, which is
redelivered in order, a few events on each later emit and all of them by `airflow ol-catalog
spool flush` or the replay DAG. An event a destination refuses for good (a lasting HTTP 4xx)
goes to that destination's dead letters instead, so it never holds back the events after it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import attr
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

from airflow_ol_catalog import metrics
from airflow_ol_catalog.transport.config import Destination, RoutingSettings, parse_settings
from airflow_ol_catalog.transport.refusals import Refusal, lasting_refusal
from airflow_ol_catalog.transport.rules import apply_rewrite, route, sends
from airflow_ol_catalog.transport.spool import Delivery, Spool

log = logging.getLogger(__name__)

SPOOL_RESERVE_SECONDS = 0.05


def metric(name: str, destination: str, count: int = 1) -> None:
    # Tagged, and also named per destination for StatsD setups without tags.
    metrics.incr(f"transport.{name}", count, tags={"destination": destination})
    metrics.incr(f"transport.{destination}.{name}", count)


def count_delivery(destination: str, delivery: Delivery) -> None:
    metric("redelivered", destination, delivery.delivered)
    metric("dead_lettered", destination, delivery.dead_lettered)
    metric("dropped", destination, delivery.dropped)
    metric("damaged", destination, delivery.damaged_records)


@attr.define
class RoutingConfig(Config):
    settings: RoutingSettings

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> RoutingConfig:
        return cls(parse_settings(params))


def _catalog_token(conn_id: str) -> str:
    """The ingest token kept as the password of an Airflow Connection (any secrets backend)."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # Airflow 3.1
        from airflow.hooks.base import BaseHook
    connection = BaseHook.get_connection(conn_id)
    if not connection.password:
        raise ValueError(f"Airflow Connection {conn_id!r} has no password: put the catalog's ingest token there")
    return connection.password


def _resolve_connection_auth(config: dict[str, Any]) -> None:
    """`auth: {type: airflow_connection_api_key, conn_id: ...}` becomes the key from that Connection.

    The OpenLineage provider does this for the config it reads; a config loaded by the CLI or the
    replay DAG needs it done here.
    """
    if "airflow_connection_api_key" not in json.dumps(config):
        return
    from airflow.providers.openlineage.token_provider import resolve_airflow_connection_auth

    resolve_airflow_connection_auth(config)


class DestinationSender:
    """One destination: its openlineage-python transport, built on first use, and its spool."""

    def __init__(self, destination: Destination, spool: Spool | None):
        self.destination = destination
        self.spool = spool
        self._transport: Transport | None = None
        self._lock = threading.Lock()

    def transport(self) -> Transport:
        with self._lock:
            if self._transport is None:
                from openlineage.client.transport import get_default_factory

                config = json.loads(json.dumps(self.destination.transport))  # the factory pops keys
                _resolve_connection_auth(config)
                if self.destination.catalog_conn_id:
                    config["auth"] = {"type": "api_key", "apiKey": _catalog_token(self.destination.catalog_conn_id)}
                if config.get("type") == "http":
                    # Retries would outlast the bound; the spool is the retry.
                    config.setdefault("retry", {"total": 0})
                    if self.destination.timeout:
                        config.setdefault("timeout", self.destination.timeout)
                self._transport = get_default_factory().create(config)
            return self._transport

    def send(self, event: Any) -> None:
        self.transport().emit(event)

    def send_raw(self, payload: bytes) -> None:
        self.send(json.loads(payload))


class RoutingTransport(Transport):
    kind = "ol_catalog_routing"
    config_class = RoutingConfig

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.settings = config.settings
        spool_dir = self.settings.spool.directory
        self.senders = {
            name: DestinationSender(dest, Spool(spool_dir, name, self.settings.spool.max_bytes) if spool_dir else None)
            for name, dest in self.settings.destinations.items()
        }
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    def _executor(self) -> ThreadPoolExecutor:
        # Task events are emitted from forked processes: threads do not survive a fork.
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(max(2, len(self.senders)), thread_name_prefix="ol-catalog-route")
            self._pool_pid = os.getpid()
        return self._pool

    def emit(self, event: Any) -> None:
        try:
            self._emit(event)
        except Exception:  # never into Airflow
            log.exception("the routing transport failed to handle an OpenLineage event")

    def _emit(self, event: Any) -> None:
        # Leave time to spool what is late, so the whole emit stays within the bound.
        deadline = time.monotonic() + max(0.0, self.settings.timeout - SPOOL_RESERVE_SECONDS)
        as_dict = Serde.to_dict(event)
        jobs: dict[str, tuple[Any, Future | None]] = {}
        for name in route(self.settings, as_dict).destinations:
            sender = self.senders[name]
            rewrite = sender.destination.rewrite
            if not sends(rewrite, as_dict):
                continue
            outgoing = apply_rewrite(rewrite, as_dict) if rewrite.changes_events else event
            if sender.spool is not None and sender.spool.has_backlog():
                # Keep the order: behind the events already waiting.
                self._spool(sender, outgoing, "a backlog is waiting")
                jobs[name] = (outgoing, None)
                continue
            jobs[name] = (outgoing, self._executor().submit(sender.send, outgoing))
        for name, (outgoing, future) in jobs.items():
            if future is None:
                continue
            sender = self.senders[name]
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
                metric("emitted", name)
            except Exception as exc:  # failed, or still running at the deadline
                refusal = lasting_refusal(exc) if future.done() else None
                if refusal is not None:  # sending it again cannot help: a dead letter, not the spool
                    self._dead_letter(sender, outgoing, refusal)
                    continue
                reason = f"timed out after {self.settings.timeout:g} s" if not future.done() else f"{type(exc).__name__}: {exc}"
                log.warning("OpenLineage destination %s: %s", name, reason)
                metric("failed", name)
                self._spool(sender, outgoing, reason)
        self._redeliver(deadline)

    def _spool(self, sender: DestinationSender, event: Any, reason: str) -> None:
        if sender.spool is None:
            log.error("OpenLineage event for %s dropped (%s) and no spool is configured", sender.destination.name, reason)
            metric("dropped", sender.destination.name)
            return
        if sender.spool.append(Serde.to_json(event).encode()):
            metric("spooled", sender.destination.name)
        else:
            log.error("OpenLineage spool of %s is full (%d bytes): event dropped", sender.destination.name, sender.spool.max_bytes)
            metric("dropped", sender.destination.name)

    def _dead_letter(self, sender: DestinationSender, event: Any, refusal: Refusal) -> None:
        name = sender.destination.name
        if sender.spool is None:
            log.error("OpenLineage destination %s refused an event for good (%s); no spool is configured to keep it", name, refusal)
            metric("dropped", name)
        elif sender.spool.dead_letter(Serde.to_json(event).encode(), refusal):
            metric("dead_lettered", name)
        else:
            metric("dropped", name)

    def _redeliver(self, deadline: float) -> None:
        """A few spooled events per emit, within what is left of the time bound."""
        per_emit = self.settings.spool.redeliver_per_emit
        for name, sender in self.senders.items():
            if sender.spool is None or per_emit == 0 or time.monotonic() >= deadline or not sender.spool.has_backlog():
                continue
            future = self._executor().submit(sender.spool.deliver, sender.send_raw, per_emit, deadline)
            try:
                delivery = future.result(timeout=max(0.0, deadline - time.monotonic()) + 0.05)
            except Exception:
                continue  # still delivering: it goes on in the background, in order, under the spool's lock
            count_delivery(name, delivery)

    def flush_spools(self, deadline: float | None = None, destinations: list[str] | None = None) -> dict[str, Delivery]:
        """Deliver every spooled event now (the CLI and the replay DAG); what happened per destination."""
        done = {}
        for name, sender in self.senders.items():
            if sender.spool is not None and (destinations is None or name in destinations):
                done[name] = sender.spool.deliver(sender.send_raw, None, deadline)
                count_delivery(name, done[name])
        return done

    def close(self, timeout: float = -1) -> bool:
        if self._pool is not None and self._pool_pid == os.getpid():
            self._pool.shutdown(wait=timeout != 0, cancel_futures=False)
        return True
