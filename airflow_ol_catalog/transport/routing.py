"""RoutingTransport: an openlineage-python transport that sends each event where routing rules say.

Configured as the OpenLineage provider's transport (`type: airflow_ol_catalog.transport.RoutingTransport`).
It runs in task processes and scheduler workers, where Airflow's database is off limits: it
reads nothing from Airflow but Connections (through the secrets backends) for catalog tokens.

`emit` never raises and returns within the configured bound (2 s by default, across all
destinations): a destination that fails or is too slow gets the event in its spool, which is
redelivered in order, a few events on each later emit and all of them by `airflow ol-catalog
spool flush` or the replay DAG. An event a destination refuses for good (a lasting HTTP 4xx, or
a redirect, which would drop it) goes to that destination's dead letters instead, so it never
holds back the events after it.
Each destination has its own worker thread: one that never answers delays no other.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

import attr
import requests
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

from airflow_ol_catalog.events import metrics
from airflow_ol_catalog.transport import in_flight
from airflow_ol_catalog.transport import spool as spool_module
from airflow_ol_catalog.transport.config import Destination, RoutingSettings, parse_settings
from airflow_ol_catalog.transport.refusals import NotDelivered, Refusal, lasting_refusal
from airflow_ol_catalog.transport.rules import apply_rewrite, route, sends
from airflow_ol_catalog.transport.spool import Delivery, Spool
from airflow_ol_catalog.transport.worker import Worker

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


def airflow_connection(conn_id: str) -> Any:
    """An Airflow Connection: through the task SDK in task processes (which may not read Airflow's
    database), else through Airflow's own look-up in its secrets backends and database, as the
    `airflow ol-catalog spool flush` command needs for a Connection kept in the database."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # Airflow 3.1
        from airflow.hooks.base import BaseHook  # type: ignore[attr-defined,no-redef]  # its place in Airflow 3.1
    try:
        return BaseHook.get_connection(conn_id)
    except Exception as not_found:
        try:
            from airflow.models.connection import Connection

            return Connection.get_connection_from_secrets(conn_id)
        except Exception:
            raise not_found from None


def _catalog_token(conn_id: str) -> str:
    """The ingest token kept as the password of an Airflow Connection (any secrets backend)."""
    connection = airflow_connection(conn_id)
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

    try:
        resolve_airflow_connection_auth(config)
    except Exception:
        # The provider looks Connections up through the task SDK, which outside a task (the spool
        # commands) finds none kept in Airflow's database: the key is then that Connection's password.
        auth = config.get("auth")
        if not (isinstance(auth, dict) and auth.get("type") == "airflow_connection_api_key" and auth.get("conn_id")):
            raise
        password = airflow_connection(auth["conn_id"]).password
        if not password:
            raise
        config["auth"] = {"type": "api_key", "apiKey": password.strip()}


@contextmanager
def _alone(name: str, counted: bool = True) -> Iterator[None]:
    """What goes wrong with one destination (its spool's file cannot be written, for one) is logged
    and counted as a dropped event for it (`counted`), and the others go on."""
    try:
        yield
    except Exception:
        log.exception("OpenLineage destination %s failed; the other destinations go on", name)
        if counted:
            metric("dropped", name)


_answers = threading.local()  # the last HTTP answer each sending thread received
_senders: weakref.WeakSet[DestinationSender] = weakref.WeakSet()


def _note_answer(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    _answers.last = response


def _delivered(answer: Any) -> None:
    """Raise NotDelivered unless an HTTP destination's answer took the event. openlineage-python's
    http transport raises for 4xx and 5xx only: a 3xx answer, or a redirect requests followed with
    a GET (301, 302, 303 drop the body; 307 and 308 send it again), delivered nothing."""
    if not isinstance(answer, requests.Response):
        return  # other transports answer nothing
    dropped = _dropping_redirect(answer)
    if dropped is not None or 300 <= answer.status_code < 400:
        raise NotDelivered(dropped or answer)


def _dropping_redirect(answer: requests.Response | None) -> requests.Response | None:
    """The redirect that dropped the event on the way to `answer` (the last answer received): a 301,
    302 or 303 that requests followed with a GET, whatever the GET then met (a refusal, an error, no
    answer at all); 307 and 308 send the event again."""
    if answer is None:
        return None
    if answer.is_redirect and answer.status_code not in (307, 308):  # its GET went nowhere
        return answer
    return next((r for r in answer.history if r.status_code not in (307, 308)), None)


def _forked() -> None:
    """In a forked child, alone in it until it starts threads: every sender made its own at once, so
    two of the child's threads cannot both find it the parent's (two workers, the order lost)."""
    for sender in list(_senders):
        sender._in_this_process()


class DestinationSender:
    """One destination: its openlineage-python transport, built on first use, its worker and its spool."""

    def __init__(self, destination: Destination, spool: Spool | None):
        self.destination = destination
        self.spool = spool
        self._transport: Transport | None = None
        # Its config with the credentials its Connection holds: a forked child builds its own
        # transport from it without looking the Connection up again.
        self._resolved: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._worker: Worker | None = None
        self._worker_lock = threading.Lock()  # not the transport's: building that may wait on a secrets backend
        self._worker_pid = os.getpid()
        self._late: Future | None = None  # a job still running after the emit that waited for it gave up
        _senders.add(self)

    def _in_this_process(self) -> None:
        """Task events are emitted from forked processes: the parent's threads and locks are not ours
        (one a parent's thread held at the fork stays held here), nor is its transport, whose pooled
        connections share their sockets with the parent."""
        if self._worker_pid != os.getpid():
            self._worker, self._worker_lock, self._late = None, threading.Lock(), None
            self._lock, self._transport = threading.Lock(), None
            self._worker_pid = os.getpid()

    def worker(self) -> Worker:
        self._in_this_process()
        with self._worker_lock:
            if self._worker is None:
                self._worker = Worker(f"ol-catalog-{self.destination.name}")
            return self._worker

    def stalled(self) -> bool:
        """Still busy with a job that outlasted its emit: new events must not queue behind it."""
        late = self._late
        return late is not None and self._worker_pid == os.getpid() and not late.done()

    def give_up(self, future: Future) -> bool:
        """Stop waiting for a job; True if it had not started (and now never will)."""
        if future.cancel():
            return True
        self._late = future
        return False

    def stop(self, timeout: float) -> bool:
        if self._worker is None or self._worker_pid != os.getpid():
            return True
        worker, self._worker = self._worker, None
        return worker.stop(timeout)

    def transport(self) -> Transport:
        self._in_this_process()
        with self._lock:
            if self._transport is None:
                from openlineage.client.transport import get_default_factory

                if self._resolved is None:  # read again after a 401, kept across a fork
                    config = json.loads(json.dumps(self.destination.transport))
                    _resolve_connection_auth(config)
                    if self.destination.catalog_conn_id:
                        config["auth"] = {"type": "api_key", "apiKey": _catalog_token(self.destination.catalog_conn_id)}
                    if config.get("type") == "http":
                        # Retries would outlast the bound; the spool is the retry.
                        config.setdefault("retry", {"total": 0})
                        if self.destination.timeout:
                            config.setdefault("timeout", self.destination.timeout)
                    self._resolved = config
                # a copy: the factory pops keys
                self._transport = get_default_factory().create(json.loads(json.dumps(self._resolved)))
                session = getattr(self._transport, "session", None)
                if isinstance(session, requests.Session):
                    session.hooks["response"].append(_note_answer)
            return self._transport

    def uses_connection(self) -> bool:
        """Whether its credentials come from an Airflow Connection, which an operator may change while
        the process runs (a token revoked and replaced)."""
        return bool(self.destination.catalog_conn_id) or "airflow_connection_api_key" in json.dumps(
            self.destination.transport
        )

    def send(self, event: Any) -> None:
        try:
            self._send(event)
        except requests.HTTPError as error:
            # A refused credential read from a Connection: read the Connection again (the scheduler
            # and the API server live for weeks) and send once more; refused again, it stays refused.
            if getattr(error.response, "status_code", None) != 401 or not self.uses_connection():
                raise
            with self._lock:
                self._transport = self._resolved = None
            self._send(event)

    def _send(self, event: Any) -> None:
        transport = self.transport()
        _answers.last = None
        try:
            answer = transport.emit(event)
        except requests.RequestException as error:
            # A redirect that turned the POST into a GET, whose GET then failed: the event was
            # dropped at the redirect, and sending it again would drop it again.
            response = error.response if isinstance(error.response, requests.Response) else _answers.last
            if (dropped := _dropping_redirect(response)) is not None:
                raise NotDelivered(dropped) from None
            raise
        except RuntimeError:
            # With a client certificate openlineage-python follows no redirect (the certificate
            # would go to an address it was not issued for) and raises a RuntimeError without the
            # answer: the same refusal as a redirect that dropped the event, for every retry.
            last = _answers.last
            if last is not None and last.is_redirect:
                raise NotDelivered(last) from None
            raise
        _delivered(answer)

    def send_raw(self, payload: bytes) -> None:
        self.send(json.loads(payload))


# Each event of an emit as JSON, made once for the journal and the spool, by the id of the event
# (kept with it: an id is another object's once its object is gone).
_Texts: TypeAlias = dict[int, tuple[Any, bytes]]


def _text(event: Any, texts: _Texts) -> bytes:
    """An event as the JSON the spool keeps, made once per emit however many destinations take it."""
    known = texts.get(id(event))
    if known is None:
        known = texts[id(event)] = (event, Serde.to_json(event).encode())
    return known[1]


def _has_backlog(sender: DestinationSender) -> bool:
    """Whether events wait in the destination's spool. A spool that cannot be read (its directory
    under a file, or forbidden) holds nothing this process could deliver or keep order behind: the
    event is still sent, and only one that fails, and so needs the spool, is dropped."""
    if sender.spool is None:
        return False
    try:
        return sender.spool.has_backlog()
    except OSError as error:
        log.warning(
            "OpenLineage spool of %s cannot be read (%s): events are sent without it", sender.spool.destination, error
        )
        return False


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
        self.journal = in_flight.Journal(Path(spool_dir)) if spool_dir else None
        self._recovered_in = os.getpid()
        # what is left, by the next start; what it found, for `spool status`
        self.recovered = self.recover_in_flight(time.monotonic() + self.settings.timeout)
        if spool_dir:
            self._warn_of_unnamed_spools(spool_dir)

    def _warn_of_unnamed_spools(self, spool_dir: str) -> None:
        try:
            unnamed = spool_module.unnamed_spools(spool_dir, self.senders, self.settings.spool.max_bytes)
        except (OSError, ValueError) as error:
            log.debug("OpenLineage spools of other destinations not looked for: %s", error)
            return
        for spool in unnamed:
            log.warning(
                "OpenLineage spool of %s, a destination this config does not name, holds events or dead letters: "
                "they wait for a config that names it (`airflow ol-catalog spool status` shows them)",
                spool.destination,
            )

    def recover_in_flight(self, deadline: float | None = None) -> in_flight.Recovered | None:
        """Spool the events that processes gone during emit had in flight (in_flight.py), until
        `deadline` (time.monotonic()); never raises."""
        if self.journal is None:
            return None
        spools = {name: s.spool for name, s in self.senders.items() if s.spool is not None}
        try:
            found = in_flight.recover(self.journal.directory, spools, deadline)
        except Exception:
            log.exception("OpenLineage events in flight of ended processes could not be recovered")
            return None
        for name, count in found.spooled.items():
            metric("recovered", name, count)
        for name, count in found.dropped.items():
            metric("dropped", name, count)
        return found

    def emit(self, event: Any) -> None:
        try:
            self._emit(event)
        except Exception:  # never into Airflow
            log.exception("the routing transport failed to handle an OpenLineage event")

    def _emit(self, event: Any) -> None:
        # Leave time to spool what is late, so the whole emit stays within the bound.
        deadline = time.monotonic() + max(0.0, self.settings.timeout - SPOOL_RESERVE_SECONDS)
        as_dict = Serde.to_dict(event)
        sending: dict[Future, tuple[str, Any]] = {}
        noted = self.journal.emit() if self.journal is not None else None
        texts: _Texts = {}
        for name in route(self.settings, as_dict).destinations:
            # Each destination on its own: one whose spool cannot be written keeps the event from no other.
            with _alone(name):
                sender = self.senders[name]
                rewrite = sender.destination.rewrite
                if not sends(rewrite, as_dict):
                    continue
                outgoing = apply_rewrite(rewrite, as_dict) if rewrite.changes_events else event
                if _has_backlog(sender):
                    self._spool(sender, _text(outgoing, texts), "a backlog is waiting")  # keep the order
                elif sender.stalled():
                    self._spool(sender, _text(outgoing, texts), "still sending an earlier event")
                else:
                    if noted is not None:
                        noted.note(name, _text(outgoing, texts))  # on disk before it is sent
                    sending[sender.worker().submit(sender.send, outgoing)] = (name, outgoing)
        # Not in a `finally`: interrupted (SystemExit from a SIGTERM handler, KeyboardInterrupt), the
        # sends not settled stay in the journal, which a recovery takes once this process is gone.
        self._settle_as_answered(sending, deadline, texts, noted)
        if noted is not None:
            noted.settled()
        self._redeliver(deadline)
        if self._recovered_in != os.getpid():
            # A forked task process, its transport its parent's: the journals of the processes gone
            # before it (its siblings, ended by os._exit without removing theirs) are recovered
            # with the time this emit has left.
            self._recovered_in = os.getpid()
            self.recover_in_flight(deadline + SPOOL_RESERVE_SECONDS)

    def _settle_as_answered(
        self,
        sending: dict[Future, tuple[str, Any]],
        deadline: float,
        texts: _Texts,
        noted: in_flight.InFlight | None,
    ) -> None:
        """Settle each send as soon as its destination answers, then those still running at the deadline.

        In the order of the answers, not of the config: a process killed while one destination
        holds its request has the others' events already where their answers put them.
        """
        waiting = dict(sending)
        while waiting:
            answered, _ = wait(waiting, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
            for future in answered or list(waiting):  # none answered by the deadline: the rest are late
                name, outgoing = waiting.pop(future)
                with _alone(name):
                    self._settle(self.senders[name], outgoing, future, deadline, texts)
                if noted is not None:
                    noted.answered(name)

    def _settle(
        self,
        sender: DestinationSender,
        event: Any,
        future: Future,
        deadline: float,
        texts: _Texts,
    ) -> None:
        """Wait for one send within the bound; spool it if it failed or is late, dead-letter it if refused for good."""
        name = sender.destination.name
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
            metric("emitted", name)
            return
        except Exception as error:  # failed, or still running at the deadline
            failure = error
        unanswered = False  # sent, and the answer not waited for: the destination may have it
        if not future.done():
            unanswered = not sender.give_up(future)
            reason = f"timed out after {self.settings.timeout:g} s" if unanswered else "not sent in time"
        elif (refusal := lasting_refusal(failure)) is not None:
            self._dead_letter(sender, _text(event, texts), refusal)
            return
        else:
            reason = f"{type(failure).__name__}: {failure}"
        # Spooled first: saying so may fail (a process whose logging cannot be configured, outside
        # Airflow), and must not keep the event from its spool.
        self._spool(sender, _text(event, texts), reason)
        if sender.spool is not None:
            sender.spool.note_error(reason)  # a send that timed out raised nothing the spool saw
            if unanswered:
                try:
                    sender.spool.note_unanswered(_text(event, texts))
                except OSError as error:  # only spaces out sends: the event is spooled all the same
                    log.warning("OpenLineage spool of %s: %s", name, error)
        metric("failed", name)
        log.warning("OpenLineage destination %s: %s", name, reason)

    def _spool(self, sender: DestinationSender, payload: bytes, reason: str) -> None:
        if sender.spool is None:
            log.error(
                "OpenLineage event for %s dropped (%s) and no spool is configured", sender.destination.name, reason
            )
            metric("dropped", sender.destination.name)
            return
        if sender.spool.append(payload):
            metric("spooled", sender.destination.name)
        else:
            log.error(
                "OpenLineage spool of %s is full (%d bytes): event dropped",
                sender.destination.name,
                sender.spool.max_bytes,
            )
            metric("dropped", sender.destination.name)

    def _dead_letter(self, sender: DestinationSender, payload: bytes, refusal: Refusal) -> None:
        name = sender.destination.name
        if sender.spool is None:
            log.error(
                "OpenLineage destination %s refused an event for good (%s); no spool is configured to keep it",
                name,
                refusal,
            )
            metric("dropped", name)
        elif sender.spool.dead_letter(payload, refusal):
            metric("dead_lettered", name)
        else:
            metric("dropped", name)

    def _redeliver(self, deadline: float) -> None:
        """A few spooled events per emit, within what is left of the time bound, each destination on its own worker."""
        per_emit = self.settings.spool.redeliver_per_emit
        running = []
        for name, sender in self.senders.items():
            with _alone(name, counted=False):
                if (
                    sender.spool is None
                    or per_emit == 0
                    or time.monotonic() >= deadline
                    or sender.stalled()
                    or not _has_backlog(sender)
                ):
                    continue
                future = sender.worker().submit(sender.spool.deliver, sender.send_raw, per_emit, deadline, 0.0, True)
                future.add_done_callback(functools.partial(self._count_redelivery, name))
                running.append((sender, future))
        # One end for all the waits (the reserve is spare now that nothing is left to spool): each
        # its own, one after another, would take the reserve again per destination, past the bound.
        wait([future for _, future in running], timeout=max(0.0, deadline + SPOOL_RESERVE_SECONDS - time.monotonic()))
        for sender, future in running:
            if not future.done():
                sender.give_up(future)  # it goes on in the background, in order, under the spool's lock

    @staticmethod
    def _count_redelivery(name: str, future: Future) -> None:
        if future.cancelled():
            return
        if future.exception() is not None:
            log.warning("OpenLineage spool of %s: redelivery failed: %s", name, future.exception())
            return
        count_delivery(name, future.result())

    def flush_spools(self, deadline: float | None = None, destinations: list[str] | None = None) -> dict[str, Delivery]:
        """Deliver every spooled event now (the CLI and the replay DAG); what happened per destination.

        Each destination is flushed in its own thread, so a slow one holds back no other.
        """
        chosen = {
            name: s
            for name, s in self.senders.items()
            if s.spool is not None and (destinations is None or name in destinations)
        }
        if not chosen:
            return {}
        with ThreadPoolExecutor(len(chosen), thread_name_prefix="ol-catalog-flush") as pool:
            running = {
                # Another process's emits redeliver a few events at a time: wait for a turn.
                name: pool.submit(spool.deliver, s.send_raw, None, deadline, spool_module.TURN_WAIT_SECONDS)
                for name, s in chosen.items()
                if (spool := s.spool) is not None
            }
            done = {}
            for name, future in running.items():
                with _alone(name, counted=False):  # a spool that cannot be read holds back no other
                    done[name] = future.result()
        for name, delivery in done.items():
            count_delivery(name, delivery)
            if delivery.busy:
                log.warning(
                    "OpenLineage spool of %s: another process kept delivering it for the %g s this flush waited",
                    name,
                    spool_module.TURN_WAIT_SECONDS,
                )
        return done

    def close(self, timeout: float = -1) -> bool:
        """Stop the workers. Every event is sent or spooled when emit returns, so a hung send is waited
        for at most `timeout` seconds (the emit bound when negative)."""
        end = time.monotonic() + (self.settings.timeout if timeout < 0 else timeout)
        stopped = [sender.stop(end - time.monotonic()) for sender in self.senders.values()]
        return all(stopped)


os.register_at_fork(after_in_child=_forked)
