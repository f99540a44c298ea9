"""The routing transport: config checking, rules, rewrites, the spool, and delivery with real HTTP receivers."""

from __future__ import annotations

import fcntl
import gzip
import json
import multiprocessing
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from servers import AIRFLOW, free_port
from test_events import run_event

from airflow_ol_catalog.events import metrics
from airflow_ol_catalog.transport import RoutingConfig, RoutingTransport
from airflow_ol_catalog.transport import spool as spool_module
from airflow_ol_catalog.transport.config import RoutingConfigError, parse_settings
from airflow_ol_catalog.transport.records import MAGIC
from airflow_ol_catalog.transport.refusals import Refusal, lasting_refusal
from airflow_ol_catalog.transport.rules import apply_rewrite, explain, route, sends
from airflow_ol_catalog.transport.spool import Spool

TRANSPORT = "airflow_ol_catalog.transport.RoutingTransport"


@pytest.fixture(autouse=True)
def airflow_loaded():
    """In Airflow's processes Airflow is loaded before the first event; here the first metric would load it within the bound."""
    metrics._stats()


def spark_event(event_type: str = "COMPLETE", namespace: str = "team-a") -> dict:
    event = run_event(eventType=event_type)
    event["job"]["namespace"] = namespace
    event["job"]["facets"]["jobType"] = {"integration": "spark", "jobType": "JOB", "processingType": "BATCH"}
    event["job"]["facets"]["sql"] = {"query": "select 1"}
    event["run"]["facets"]["parent"] = {
        "run": {"runId": "p"},
        "job": {"namespace": namespace, "name": "dag.task"},
        "root": {"run": {"runId": "r"}, "job": {"namespace": namespace, "name": "dag"}},
    }
    event["inputs"] = [{"namespace": "s3://raw", "name": "clicks", "facets": {"schema": {"fields": []}}}]
    return event


def settings(**extra) -> object:
    return parse_settings(
        {"type": TRANSPORT, "destinations": {"a": {"type": "console"}, "b": {"type": "console"}}, **extra}
    )


# --- configuration -----------------------------------------------------------------------------------


def test_config_problems_are_listed_with_their_paths():
    with pytest.raises(RoutingConfigError) as info:
        parse_settings(
            {
                "destinations": {
                    "a": {"type": "console", "rewrite": {"event_types": ["DONE"], "colour": 1}},
                    "b": "http",
                },
                "routes": [{"match": {"job_nmespace": "x"}, "to": ["nowhere"]}, {"to": "a", "continue": "yes"}],
                "timeout": -1,
                "spool": {"dir": 3, "max_bytes": 10},
                "extra": True,
            }
        )
    message = str(info.value)
    for expected in (
        "destinations.a.rewrite.event_types: 'DONE' is not one of",
        "destinations.a.rewrite.colour: unknown rewrite",
        "destinations.b: expected an OpenLineage transport config",
        "routes[0].match.job_nmespace: unknown criterion",
        "routes[0].to: no destination named 'nowhere'",
        "routes[1].continue: expected true or false",
        "timeout: expected a positive number of seconds up to 3600, got -1",
        "spool.dir: expected a directory path",
        "spool.max_bytes: expected a number of bytes of at least 1024",
        "extra: unknown setting",
    ):
        assert expected in message


def test_mistakes_openlineage_python_would_find_only_when_sending_are_found_at_start(tmp_path, caplog):
    """A destination that could never send kept every event in its spool: a transport class that
    does not import, an http one without url, a timeout of .nan or .inf (YAML's); with a spool, a
    name with a path in it wrote its spool outside spool.dir, and a spool.dir that is a file failed
    every destination's spool. A short type no module registered yet is only warned of (one
    imported later may register it), and names are free where there is no spool."""
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("")
    with pytest.raises(RoutingConfigError) as info:
        parse_settings(
            {
                "destinations": {
                    "classless": {"type": "no.such.module.Transport"},
                    "nourl": {"type": "http"},
                    "badhost": {"type": "http", "url": "http://a b/"},
                    "nopath": {"type": "file"},
                    "nan": {"type": "console", "timeout": float("nan")},
                    "../escaped": {"type": "console"},
                    "..": {"type": "console"},
                    "d" * 201: {"type": "console"},
                },
                "timeout": float("inf"),
                "spool": {"dir": str(a_file)},
            }
        )
    message = str(info.value)
    for expected in (
        "destinations.classless.type: 'no.such.module.Transport' cannot be imported",
        "destinations.nourl.url: an http destination needs a url",
        "destinations.badhost.url: not a URL requests can send to (Failed to parse: Host 'a b' contains invalid",
        "destinations.nopath: not a config a file transport takes: `log_file_path` key not passed",
        "destinations.nan.timeout: expected a positive number of seconds up to 3600, got nan",
        "destinations.../escaped: with a spool, a name must not be . or .. or hold",
        "destinations...: with a spool, a name must not be",
        f"destinations.{'d' * 40}...: with a spool, a name must be at most 200 bytes",
        "timeout: expected a positive number of seconds up to 3600, got inf",
        f"spool.dir: {a_file} exists and is not a directory",
    ):
        assert expected in message, (expected, message)
    with caplog.at_level("WARNING"):
        parse_settings(
            {
                "destinations": {
                    "c": {"type": "openlineage.client.transport.console.ConsoleTransport"},  # a class path imports
                    "team/marquez": {"type": "console"},  # no spool: any name
                    ".hidden": {"type": "later_registered"},
                }
            }
        )
    assert "destinations..hidden.type: 'later_registered' is no transport registered yet" in caplog.text


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (
            {"destinations": {"d": {"type": "http", "url": "ftp://x/"}}},
            "destinations.d.url: expected an http:// or https:// URL with a host, got 'ftp://x/'",
        ),
        (
            {"destinations": {"d": {"type": "http", "url": "http:///"}}},
            "destinations.d.url: expected an http:// or https:// URL",
        ),
        (
            {"destinations": {"d": {"type": "http", "url": "http://h:port/"}}},
            "destinations.d.url: expected an http:// or https:// URL",
        ),
        (
            {"destinations": {"d": {"type": "catalog", "url": "airflow:8080"}}},
            "destinations.d.url: expected an http:// or https:// URL",
        ),
        (
            {"destinations": {"d": {"type": "http", "url": "http://h/", "compression": "zip"}}},
            "destinations.d.compression: expected gzip (or none), got 'zip'",
        ),
        (
            {"destinations": {"d": {"type": "http", "url": "http://h/", "auth": {"type": "nope"}}}},
            "destinations.d.auth.type: 'nope' is no auth type",
        ),
        (
            {"destinations": {"d": {"type": "http", "url": "http://h/", "auth": {"type": "no.such.Provider"}}}},
            "destinations.d.auth.type: 'no.such.Provider' is no auth type",
        ),
        (
            {"destinations": {"d": {"type": "console", "timeout": 1e308}}},
            "destinations.d.timeout: expected a positive number of seconds up to 3600",
        ),
        (
            {"destinations": {"d": {"type": "console"}}, "timeout": 1e308},
            "timeout: expected a positive number of seconds up to 3600",
        ),
        ({"destinations": {"d": {"type": "console"}}, "spool": {"dir": ""}}, "spool.dir: expected a directory path"),
        (
            {"destinations": {"d": {"type": "console"}}, "spool": {"dir": "ol-spool"}},
            "spool.dir: expected an absolute path, got 'ol-spool'",
        ),
    ],
)
def test_settings_no_event_could_be_sent_with_are_found_at_start(setting, expected):
    """Each of these failed every send (or dropped every event) while the transport started without
    a word: an unknown auth type or compression, a URL requests cannot send to, a timeout that
    overflows, an empty or relative spool.dir (each process resolved it against its own directory)."""
    with pytest.raises(RoutingConfigError) as info:
        parse_settings(setting)
    assert expected in str(info.value)


def test_a_catalog_url_without_its_trailing_slash_keeps_its_path():
    settings = parse_settings(
        {"destinations": {"c": {"type": "catalog", "url": "http://host:8306/airflow", "api_key": "k"}}}
    )
    assert settings.destinations["c"].transport["url"] == "http://host:8306/airflow/"
    known = {"type": "http", "url": "https://m/", "compression": "gzip", "auth": {"type": "api_key", "apiKey": "k"}}
    assert parse_settings({"destinations": {"m": known}}).destinations["m"].transport["auth"]["type"] == "api_key"


def test_a_catalog_destination_refuses_keys_it_does_not_take_and_an_address_with_a_query():
    """A misspelt `conn_id` quietly used `ol_catalog_default`, a `compression` other than gzip was
    sent as gzip, and a url with a query lost its path (the endpoint went after the query)."""
    with pytest.raises(RoutingConfigError) as info:
        parse_settings(
            {
                "destinations": {
                    "typo": {"type": "catalog", "url": "http://af:8080/", "connid": "cat"},
                    "br": {"type": "catalog", "url": "http://af:8080/", "compression": "br"},
                    "query": {"type": "catalog", "url": "http://af:8080/airflow?x=1", "api_key": "k"},
                    "fragment": {"type": "catalog", "url": "http://af:8080/airflow#top", "api_key": "k"},
                }
            }
        )
    message = str(info.value)
    for expected in (
        "destinations.typo.connid: unknown for a catalog destination; it takes api_key, conn_id, endpoint,",
        "destinations.br.compression: unknown for a catalog destination",
        "destinations.query.url: Airflow's address takes no query or fragment, got 'http://af:8080/airflow?x=1'",
        "destinations.fragment.url: Airflow's address takes no query or fragment",
    ):
        assert expected in message, (expected, message)


def test_catalog_shorthand_targets_this_airflows_endpoint():
    found = parse_settings(
        {"destinations": {"catalog": {"type": "catalog", "url": "http://af:8080/", "conn_id": "my_conn"}}}
    )
    dest = found.destinations["catalog"]
    assert dest.transport == {
        "type": "http",
        "url": "http://af:8080/",
        "endpoint": "ol-catalog/api/v1/lineage",
        "compression": "gzip",
    }
    assert dest.catalog_conn_id == "my_conn" and found.default == ("catalog",)


# --- rules and rewrites ------------------------------------------------------------------------------


def test_routes_apply_in_order_continue_adds_and_default_catches_the_rest():
    s = settings(
        routes=[
            {"match": {"integration": "SPARK", "event_type": ["complete", "FAIL"]}, "to": ["b"], "continue": True},
            {"match": {"job_namespace": "team-*", "dataset_namespace": "s3://*"}, "to": ["a"]},
            {"match": {"job_name": "*"}, "to": ["b"]},
        ],
        default=["a"],
    )
    assert route(s, spark_event()).destinations == ("b", "a") and route(s, spark_event()).matched == (0, 1)
    assert route(s, spark_event("START")).destinations == ("a",)
    assert route(s, spark_event("START", namespace="other")).destinations == ("b",)
    # only a route that continues matched: the walk reached the end, and the default comes too
    last_continues = settings(
        routes=[{"match": {"job_namespace": "team-*"}, "to": ["b"], "continue": True}], default=["a"]
    )
    decision = route(last_continues, spark_event())
    assert decision.destinations == ("b", "a") and decision.matched == (0,) and decision.by_default
    assert explain(last_continues, spark_event())[0] == "no route ended the walk: the default destinations ['a'] too"
    dataset_event = {
        "eventTime": "2025-01-01T00:00:00Z",
        "producer": "p",
        "dataset": {"namespace": "pg://x", "name": "t"},
    }
    decision = route(s, dataset_event)
    assert decision.by_default and decision.destinations == ("a",)


def test_rewrite_replaces_namespaces_in_job_and_parents_and_drops_facets():
    s = parse_settings(
        {
            "destinations": {
                "m": {
                    "type": "console",
                    "rewrite": {
                        "job_namespace": {"team-*": "prod"},
                        "drop_facets": ["sql", "schema"],
                        "event_types": ["COMPLETE"],
                    },
                }
            }
        }
    )
    rewrite = s.destinations["m"].rewrite
    original = spark_event()
    out = apply_rewrite(rewrite, original)
    assert out["job"]["namespace"] == "prod" and original["job"]["namespace"] == "team-a"
    assert (
        out["run"]["facets"]["parent"]["job"]["namespace"] == "prod"
        and out["run"]["facets"]["parent"]["root"]["job"]["namespace"] == "prod"
    )
    assert (
        "sql" not in out["job"]["facets"]
        and "schema" not in out["inputs"][0]["facets"]
        and "jobType" in out["job"]["facets"]
    )
    assert sends(rewrite, original) and not sends(rewrite, spark_event("START"))
    assert explain(s, spark_event()) == [
        "no route matched: the default destinations ['m']",
        "m: sent with job namespace 'team-a' -> 'prod'; parent job namespace 'team-a' -> 'prod'; root job namespace "
        "'team-a' -> 'prod'; facets dropped: schema, sql",
    ]
    # Only what the rewrite changes in this event: no facet it would drop is there, its own job
    # namespace stays; its parent's changes (explain said facets dropped and no namespace before).
    bare = spark_event()
    bare["job"]["namespace"], bare["job"]["facets"], bare["inputs"][0]["facets"] = "spark-team", {}, {}
    assert (
        explain(s, bare)[1]
        == "m: sent with parent job namespace 'team-a' -> 'prod'; root job namespace 'team-a' -> 'prod'"
    )


# --- the spool ---------------------------------------------------------------------------------------


def test_spool_delivers_in_order_resumes_after_a_failure_and_empties(tmp_path):
    spool = Spool(tmp_path, "d", 1 << 20)
    for i in range(5):
        assert spool.append(json.dumps({"n": i}).encode())
    got = []

    def flaky(payload):
        if json.loads(payload)["n"] == 2 and not got.count("failed"):
            got.append("failed")
            raise ConnectionError("down")
        got.append(json.loads(payload)["n"])

    assert spool.deliver(flaky).delivered == 2
    assert spool.status().events == 3 and "ConnectionError: down" in spool.status().last_error
    assert spool.deliver(flaky, limit=2).delivered == 2 and spool.deliver(flaky).delivered == 1
    assert got == [0, 1, "failed", 2, 3, 4]
    assert spool.status().events == 0 and spool.path.stat().st_size == 0 and spool.status().last_error is None


def test_torn_and_corrupt_records_are_skipped_without_losing_the_others(tmp_path):
    spool = Spool(tmp_path, "d", 1 << 20)
    spool.append(b'{"n": 0}')
    with open(spool.path, "ab") as handle:  # a writer that crashed in the middle of a record
        handle.write(MAGIC + b"\x00\x00\x00\x40\x12")
    spool.append(b'{"n": 1}')
    data = bytearray(spool.path.read_bytes())
    spool.append(b'{"n": 2}')
    with open(spool.path, "r+b") as handle:  # a flipped byte inside record 2's payload
        handle.seek(len(data) + 20)
        handle.write(b"X")
    spool.append(b'{"n": 3}')
    with open(spool.path, "ab") as handle:  # and a torn last record
        handle.write(MAGIC + b"\x00\x00")
    delivered = []
    spool.deliver(lambda payload: delivered.append(json.loads(payload)["n"]))
    assert delivered == [0, 1, 3]
    assert spool.status().events == 0


def test_damaged_records_are_counted_logged_and_shown_by_status(tmp_path, caplog):
    spool = Spool(tmp_path, "d", 1 << 20)
    spool.append(b'{"n": 0}')
    with open(spool.path, "ab") as handle:  # a record torn by a crash: 9 bytes
        handle.write(MAGIC + b"\x00\x00\x00\x40\x12")
    spool.append(b'{"n": 1}')
    with open(spool.path, "ab") as handle:  # and a torn last record: 6 bytes
        handle.write(MAGIC + b"\x00\x00")
    done = spool.deliver(lambda payload: None)
    assert (done.delivered, done.damaged_records, done.damaged_bytes) == (2, 2, 15)
    status = spool.status()
    assert (status.events, status.damaged_records, status.damaged_bytes) == (0, 2, 15)
    assert "9 damaged bytes skipped" in caplog.text and "6 damaged bytes skipped" in caplog.text
    spool.append(b'{"n": 2}')
    spool.deliver(lambda payload: None)
    assert spool.status().damaged_records == 2  # kept across deliveries, never counted twice
    # A dead letter torn by a crash: skipped at every read, and shown by status while it is there.
    spool.dead_letter(b'{"n": 3}', Refusal(400, "no"))
    with open(spool.dead_letters.path, "ab") as handle:
        handle.write(MAGIC + b"\x00\x00")
    status = spool.status()
    assert (status.dead_letters, status.damaged_records, status.damaged_bytes) == (1, 3, 21)


def test_the_copy_left_by_a_killed_compaction_is_removed_by_the_next_delivery(tmp_path):
    spool = Spool(tmp_path, "d", 1 << 20)
    spool.append(b"{}")
    leftovers = [tmp_path / "d.spool.4242.tmp", tmp_path / "d.offset.4242.tmp"]
    for leftover in leftovers:
        leftover.write_bytes(b"x" * 1000)
    others = tmp_path / "d.spool.x.spool.4242.tmp"  # destination "d.spool.x" may be compacting right now
    others.write_bytes(b"x")
    spool.deliver(lambda payload: None)
    assert not any(leftover.exists() for leftover in leftovers) and others.exists()


def test_a_full_spool_refuses_new_events(tmp_path):
    spool = Spool(tmp_path, "d", 1024)
    assert sum(spool.append(b"x" * 100) for _ in range(20)) == 8  # 8 records of 120 bytes fit in 1 KiB


def _append_many(directory: str, writer: int, count: int) -> None:
    spool = Spool(directory, "shared", 1 << 24)
    for i in range(count):
        assert spool.append(json.dumps({"writer": writer, "n": i, "pad": "x" * (i % 50)}).encode())


def test_concurrent_writers_in_several_processes_lose_and_tear_nothing(tmp_path):
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_append_many, args=(str(tmp_path), w, 200)) for w in range(4)]
    for p in writers:
        p.start()
    for p in writers:
        p.join(60)
        assert p.exitcode == 0
    seen = []
    Spool(tmp_path, "shared", 1 << 24).deliver(lambda payload: seen.append(json.loads(payload)))
    assert len(seen) == 800
    for w in range(4):  # each writer's events in the order it wrote them
        assert [e["n"] for e in seen if e["writer"] == w] == list(range(200))


def test_dead_letters_are_put_back_at_the_end_of_the_spool_or_discarded_by_id(tmp_path):
    spool = Spool(tmp_path, "d", 1 << 20)
    for n in range(3):
        assert spool.dead_letter(json.dumps({"n": n}).encode(), Refusal(422, "invalid"))
    assert spool.dead_letter(b'{"n": 1}', Refusal(413, "too large"))  # refused again: one letter, the latest answer
    letters = spool.dead_letters.letters()
    assert [json.loads(letter.payload)["n"] for letter in letters] == [0, 2, 1] and letters[2].status == 413
    spool.append(b'{"n": "waiting"}')
    assert spool.dead_letters.discard({letters[0].id}) == 1
    assert spool.requeue_dead_letters({letters[2].id}) == 1
    delivered = []
    spool.deliver(lambda payload: delivered.append(json.loads(payload)["n"]))
    assert delivered == ["waiting", 1]
    assert [json.loads(letter.payload)["n"] for letter in spool.dead_letters.letters()] == [2]
    assert spool.requeue_dead_letters() == 1 and spool.dead_letters.letters() == []
    assert spool.status().events == 1 and spool.status().dead_letters == 0


def test_dead_letters_stay_when_their_spool_is_full(tmp_path):
    spool = Spool(tmp_path, "d", 1024)
    while spool.append(b"x" * 100):
        pass
    spool.dead_letter(b'{"pad": "%s"}' % (b"x" * 100), Refusal(422, "invalid"))
    assert spool.requeue_dead_letters() == 0 and len(spool.dead_letters.letters()) == 1


# --- delivery to real HTTP receivers -----------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A sender that gave up waiting (what the timeout tests make happen) is no error to print."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Receiver:
    """A local OpenLineage endpoint that records events; it can fail, stall, hang or refuse some events on demand."""

    def __init__(self, port: int = 0) -> None:
        self.events: list[dict] = []
        self.authorizations: list[str | None] = []
        self.status = 201
        self.delay = 0.0
        self.refuse: Callable[[dict], tuple[int, str] | None] = lambda event: None  # (status, body) refuses the event
        self.redirect: int | None = None  # answers this status and Location: `location` to requests elsewhere
        self.location = "/moved"
        self.get_status = 200  # what a GET (a POST redirected with 301, 302 or 303) is answered
        self.answering = threading.Event()  # cleared: requests are read, then not answered until it is set again
        self.answering.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                time.sleep(receiver.delay)
                receiver.answering.wait()
                receiver.authorizations.append(self.headers.get("Authorization"))
                if receiver.redirect is not None and self.path != "/moved":
                    self.send_response(receiver.redirect)
                    self.send_header("Location", receiver.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                event = json.loads(body)
                status, answer = receiver.refuse(event) or (receiver.status, "")
                if status < 300:
                    receiver.events.append(event)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.encode())))
                self.end_headers()
                self.wfile.write(answer.encode())

            def do_GET(self):  # a POST redirected with 301, 302 or 303 comes back as a GET, without the event
                self.send_response(receiver.get_status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = _QuietServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.answering.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made = [Receiver(), Receiver()]
    yield made
    for r in made:
        r.close()


def routing_transport(receivers, tmp_path, **extra) -> RoutingTransport:
    config = {
        "type": TRANSPORT,
        "timeout": 1.0,
        "destinations": {
            "catalog": {"type": "http", "url": receivers[0].url, "endpoint": "api/v1/lineage"},
            "other": {
                "type": "http",
                "url": receivers[1].url,
                "rewrite": {"job_namespace": "rewritten", "event_types": ["COMPLETE"]},
            },
        },
        "routes": [{"match": {"integration": "SPARK"}, "to": ["catalog", "other"]}],
        "default": ["catalog"],
        "spool": {"dir": str(tmp_path / "spool"), "redeliver_per_emit": 10},
        **extra,
    }
    return RoutingTransport(RoutingConfig.from_dict(config))


def test_events_go_where_the_routes_say_rewritten_per_destination(receivers, tmp_path):
    transport = routing_transport(receivers, tmp_path)
    transport.emit(spark_event("START"))
    transport.emit(spark_event("COMPLETE"))
    plain = run_event()
    transport.emit(plain)
    assert [e["eventType"] for e in receivers[0].events] == ["START", "COMPLETE", "START"]
    assert [(e["eventType"], e["job"]["namespace"]) for e in receivers[1].events] == [("COMPLETE", "rewritten")]
    assert receivers[0].events[1]["job"]["namespace"] == "team-a"


def test_a_down_or_slow_destination_gets_a_spool_and_emit_keeps_its_bound(receivers, tmp_path):
    transport = routing_transport(receivers, tmp_path)
    receivers[1].status = 503
    receivers[0].delay = 3.0
    started = time.monotonic()
    transport.emit(spark_event("COMPLETE"))
    assert time.monotonic() - started < 1.5  # the bound is 1 s
    statuses = {name: s.spool.status() for name, s in transport.senders.items()}
    assert statuses["catalog"].events == 1
    # why it waits, for `spool status`: the send that outlasted the bound raised nothing the spool saw
    assert any(why in (statuses["catalog"].last_error or "") for why in ("timed out after 1 s", "not sent in time"))
    assert statuses["other"].events == 1
    receivers[0].delay = 0
    receivers[1].status = 201
    time.sleep(3.2)  # the stalled request ends (and may arrive: at-least-once)
    transport.emit(spark_event("COMPLETE"))  # goes behind the backlog, then a few are redelivered
    transport.flush_spools()
    assert all(s.spool.status().events == 0 for s in transport.senders.values())
    assert len(receivers[1].events) == 2 and len(receivers[0].events) >= 2


def test_an_event_is_spooled_even_when_saying_so_fails(receivers, tmp_path, monkeypatch):
    """Outside Airflow a process's logging may not be configurable (Airflow's formatters named but
    missing): the warning about a failed send raised, and the event never reached its spool."""
    from airflow_ol_catalog.transport import routing

    transport = routing_transport(receivers, tmp_path)
    receivers[0].status = 503

    def broken(*args, **kwargs):
        raise ValueError("Unable to configure formatter 'airflow'")

    monkeypatch.setattr(routing.log, "warning", broken)
    for _ in range(3):
        transport.emit(run_event())
    assert transport.senders["catalog"].spool.status().events == 3
    # nor may counting it: importing Airflow's Stats there raises the same
    from airflow_ol_catalog.events import metrics

    monkeypatch.setattr(metrics, "_found", None)
    monkeypatch.setattr(metrics, "_unusable", False)
    # a process that loaded Airflow, whichever tests ran before in this one
    monkeypatch.setitem(sys.modules, "airflow", sys.modules.get("airflow") or types.ModuleType("airflow"))
    tries = []

    def counted(*args, **kwargs):
        tries.append(args)
        broken()

    monkeypatch.setattr(metrics.importlib, "import_module", counted)
    metrics.incr("transport.failed")  # no exception
    metrics.incr("transport.failed")
    assert len(tries) == 1  # a heavy import that failed so is not tried on every event
    monkeypatch.setattr(routing.log, "warning", lambda *args, **kwargs: None)
    transport.emit(run_event())
    assert transport.senders["catalog"].spool.status().events == 4


def test_route_explain_on_the_command_line(tmp_path):
    config = tmp_path / "openlineage.yml"
    config.write_text(
        json.dumps(
            {
                "transport": {
                    "type": TRANSPORT,
                    "destinations": {
                        "catalog": {"type": "console"},
                        "marquez": {"type": "console", "rewrite": {"job_namespace": "prod"}},
                    },
                    "routes": [{"match": {"integration": "spark"}, "to": ["catalog", "marquez"]}],
                }
            }
        )
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps(spark_event()))
    env = {"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [AIRFLOW, "ol-catalog", "route", "--explain", str(event), "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "route 0 matched (integration=['spark']) -> ['catalog', 'marquez']" in result.stdout
    assert "marquez: sent with job namespace 'team-a' -> 'prod'" in result.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(json.dumps({"transport": {"type": TRANSPORT, "destinations": {}}}))
    result = subprocess.run(
        [AIRFLOW, "ol-catalog", "route", "--explain", str(event), "--config", str(bad)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "destinations: expected an object" in result.stderr


def test_destination_auth_may_come_from_an_airflow_connection(receivers, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MARQUEZ_KEY", json.dumps({"conn_type": "http", "password": "secret-from-connection"})
    )
    transport = RoutingTransport(
        RoutingConfig.from_dict(
            {
                "type": TRANSPORT,
                # the first look-up of a Connection loads Airflow's secrets backends: seconds on a busy machine
                "timeout": 60,
                "destinations": {
                    "marquez": {
                        "type": "http",
                        "url": receivers[1].url,
                        "auth": {"type": "airflow_connection_api_key", "conn_id": "marquez_key"},
                    }
                },
            }
        )
    )
    transport.emit(run_event())
    assert receivers[1].authorizations == ["Bearer secret-from-connection"]


# --- refusals, dead letters and slow destinations ---------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/plain", "refusé".encode(), "refusé"),  # no charset: UTF-8, not Latin-1's "refusÃ©"
        ("text/plain; charset=latin-1", "refusé".encode("latin-1"), "refusé"),
        ("text/plain; charset=no-such-charset", "refusé".encode(), "refusé"),
        ("application/json", b"\xff{}", "\ufffd{}"),
    ],
)
def test_a_refusals_answer_is_kept_in_the_charset_it_names_else_utf_8(content_type, body, expected):
    answer = requests.Response()
    answer.status_code, answer._content, answer.headers["Content-Type"] = 400, body, content_type
    answer.encoding = requests.utils.get_encoding_from_headers(answer.headers)
    assert lasting_refusal(requests.HTTPError(response=answer)).answer == expected


def test_only_a_lasting_http_4xx_is_a_refusal_for_good(receivers):
    """Classified from what openlineage-python's http transport really raises."""
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    receivers[0].refuse = lambda event: (event["status"], json.dumps({"detail": "x" * 3000}))
    http = HttpTransport(HttpConfig.from_dict({"url": receivers[0].url, "retry": {"total": 0}}))

    def refusal(status: int) -> Refusal | None:
        with pytest.raises(requests.RequestException) as info:
            http.emit({"status": status})
        return lasting_refusal(info.value)

    for status in (400, 401, 403, 404, 413, 422):
        found = refusal(status)
        assert found.status == status and found.answer.startswith('{"detail": "xxx') and len(found.answer) < 1100
        assert "more characters" in found.answer
    for status in (408, 425, 429, 500, 503):
        assert refusal(status) is None
    down = HttpTransport(HttpConfig.from_dict({"url": f"http://127.0.0.1:{free_port()}/", "retry": {"total": 0}}))
    with pytest.raises(requests.RequestException) as info:
        down.emit({"status": 201})
    assert lasting_refusal(info.value) is None
    assert lasting_refusal(ValueError("kafka: message too large")) is None


def test_an_event_refused_for_good_at_redelivery_becomes_a_dead_letter_and_the_rest_follow(receivers, tmp_path):
    receivers[0].refuse = lambda event: (
        (422, '{"detail": "job.name: longer than 1024 bytes"}') if len(event["job"]["name"]) > 1024 else None
    )
    transport = routing_transport(receivers, tmp_path)
    receivers[0].status = 503
    names = ["a", "x" * 1100, "b", "c"]
    for name in names:
        transport.emit(run_event(job={"namespace": "team-a", "name": name, "facets": {}}))
    spool = transport.senders["catalog"].spool
    assert spool.status().events == 4
    receivers[0].status = 201
    done = transport.flush_spools()["catalog"]
    assert (done.delivered, done.dead_lettered) == (3, 1)
    assert [e["job"]["name"] for e in receivers[0].events] == ["a", "b", "c"]
    [letter] = spool.dead_letters.letters()
    assert (
        letter.status == 422
        and "longer than 1024" in letter.answer
        and json.loads(letter.payload)["job"]["name"] == "x" * 1100
    )
    assert (spool.status().events, spool.status().dead_letters) == (0, 1)


def test_a_lasting_refusal_at_first_send_goes_to_the_dead_letters_not_the_spool(receivers, tmp_path, monkeypatch):
    from airflow_ol_catalog.events import metrics

    counted = []
    monkeypatch.setattr(metrics, "incr", lambda name, count=1, tags=None: counted.append((name, count, tags)))
    receivers[0].refuse = lambda event: (
        (403, '{"detail": "the token may not write namespace team-b"}')
        if event["job"]["namespace"] == "team-b"
        else None
    )
    transport = routing_transport(receivers, tmp_path)
    transport.emit(run_event(job={"namespace": "team-b", "name": "etl.load", "facets": {}}))
    transport.emit(run_event())
    spool = transport.senders["catalog"].spool
    assert spool.status().events == 0 and [letter.status for letter in spool.dead_letters.letters()] == [403]
    assert "may not write namespace team-b" in spool.dead_letters.letters()[0].answer
    assert [e["job"]["namespace"] for e in receivers[0].events] == ["team-a"]
    assert ("transport.dead_lettered", 1, {"destination": "catalog"}) in counted and (
        "transport.catalog.dead_lettered",
        1,
        None,
    ) in counted


def test_a_hung_destination_never_delays_a_healthy_one(receivers, tmp_path):
    healthy, hung = receivers
    hung.answering.clear()  # accepts, reads, never answers
    transport = routing_transport(
        receivers,
        tmp_path,
        routes=[],
        default=["catalog", "other"],
        destinations={
            "catalog": {"type": "http", "url": healthy.url, "endpoint": "api/v1/lineage"},
            "other": {"type": "http", "url": hung.url, "timeout": 30},  # its own timeout, far past the 1 s bound
        },
    )
    threads = threading.active_count()
    for n in range(6):
        started = time.monotonic()
        transport.emit(run_event(eventType="COMPLETE", run={"runId": f"run-{n}", "facets": {}}))
        took = time.monotonic() - started
        assert took < (1.2 if n == 0 else 0.3), (n, took)  # only the first waits for the hung destination
        assert len(healthy.events) == n + 1  # before emit returned
    # A worker per destination and the receiver's hung request; the healthy receiver's request
    # threads end just after they answer, so give them a moment rather than count them.
    settle = time.monotonic() + 3
    while threading.active_count() > threads + 3 and time.monotonic() < settle:
        time.sleep(0.05)
    assert threading.active_count() <= threads + 3
    assert transport.senders["catalog"].spool.status().events == 0
    assert transport.senders["other"].spool.status().events == 6
    assert transport.close(0.1) is False  # a hung send is not waited for
    hung.answering.set()
    transport.flush_spools()
    runs = [e["run"]["runId"] for e in hung.events]
    assert runs[-6:] == [f"run-{n}" for n in range(6)]  # from the spool, in order (the hung send may also have landed)


def test_many_hung_destinations_with_a_backlog_keep_emit_within_its_bound(receivers, tmp_path):
    """Each hung redelivery was waited for until the deadline plus a reserve, one after another:
    every hung destination with a backlog added that reserve again, past the bound."""
    hung = receivers[0]
    hung.answering.clear()
    names = [f"hung{n}" for n in range(20)]
    transport = routing_transport(
        receivers,
        tmp_path,
        routes=[],
        default=names,
        destinations={name: {"type": "http", "url": hung.url, "timeout": 30} for name in names},
    )
    for sender in transport.senders.values():
        sender.spool.append(json.dumps(run_event()).encode())  # a backlog: this emit redelivers it
    started = time.monotonic()
    transport.emit(run_event(eventType="COMPLETE"))
    took = time.monotonic() - started
    assert took < 1.3, took  # the bound is 1 s; 20 reserves of 50 ms took it to 2 s
    assert all(s.spool.status().events == 2 for s in transport.senders.values())


def test_dead_letters_on_the_command_line(receivers, tmp_path):
    spool_dir = tmp_path / "spool"
    config = tmp_path / "openlineage.yml"
    config.write_text(
        json.dumps(
            {
                "transport": {
                    "type": TRANSPORT,
                    "destinations": {"catalog": {"type": "http", "url": receivers[0].url}},
                    "spool": {"dir": str(spool_dir)},
                }
            }
        )
    )
    spool = Spool(spool_dir, "catalog", 1 << 20)
    kept = json.dumps(run_event(eventType="COMPLETE")).encode()
    spool.dead_letter(kept, Refusal(401, '{"detail": "token revoked"}'))
    spool.dead_letter(
        json.dumps(run_event(eventType="FAIL")).encode(), Refusal(422, '{"detail": "job.name: too long"}')
    )
    forging = run_event(eventType="START")  # a name that would clear the terminal and forge a row
    forging["job"]["name"] = "evil\x1b[2J\x1b[31mRED\ncatalog  fake0000  2026  200  FAKE\u202e"
    spool.dead_letter(json.dumps(forging).encode(), Refusal(422, "bad\x1b[0m"))
    env = {"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [AIRFLOW, "ol-catalog", "spool", *args, "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    status = cli("status")
    assert status.returncode == 0, status.stderr
    assert "dead letters" in status.stdout and next(
        line for line in status.stdout.splitlines() if line.startswith("catalog")
    ).split()[1:5] == ["0", "0", "-", "3"]
    listed = cli("dead-letters", "list").stdout
    ids = {line.split()[4]: line.split()[1] for line in listed.splitlines() if line.startswith("catalog")}
    assert set(ids) == {"COMPLETE", "FAIL", "START"} and "token revoked" in listed and "422" in listed
    assert "\x1b" not in listed and "\u202e" not in listed and "\\x1b[2J" in listed and "\\u202e" in listed
    assert "catalog: 1 dead letters discarded" in cli("dead-letters", "discard", "--id", ids["START"]).stdout
    unchosen = cli("dead-letters", "discard")
    assert unchosen.returncode != 0 and "--id ID" in unchosen.stderr
    assert "catalog: 1 dead letters discarded" in cli("dead-letters", "discard", "--id", ids["FAIL"]).stdout
    retried = cli("dead-letters", "retry", "--all", "--destination", "catalog")
    assert "catalog: 1 put back in the spool; 1 delivered, 0 refused again, 0 waiting" in retried.stdout, retried.stderr
    assert [e["eventType"] for e in receivers[0].events] == ["COMPLETE"] and spool.dead_letters.letters() == []


def test_a_flush_delivers_each_destination_in_its_own_thread(receivers, tmp_path):
    hung, healthy = receivers
    transport = routing_transport(
        receivers,
        tmp_path,
        routes=[],
        default=["slow", "catalog"],
        destinations={
            "slow": {"type": "http", "url": hung.url, "timeout": 2},
            "catalog": {"type": "http", "url": healthy.url},
        },
    )
    for sender in transport.senders.values():
        sender.spool.append(json.dumps(run_event()).encode())
    hung.answering.clear()
    flush = threading.Thread(target=transport.flush_spools)
    started = time.monotonic()
    flush.start()
    while not healthy.events and time.monotonic() - started < 3:
        time.sleep(0.02)
    assert healthy.events and time.monotonic() - started < 1  # not after the slow destination's 2 s timeout
    flush.join()
    hung.answering.set()


def _held_by_another_deliverer(spool: Spool, seconds: float):
    """The spool's delivery lock held as another process's redelivery holds it, released after `seconds`."""
    spool.directory.mkdir(parents=True, exist_ok=True)
    other = open(spool.flush_lock_path, "a")  # noqa: SIM115 - closed when released
    fcntl.flock(other, fcntl.LOCK_EX)  # a lock of its own open file, which this process's others wait for too
    release = threading.Timer(seconds, other.close)
    release.start()
    return release


def test_a_flush_waits_its_turn_while_another_process_redelivers(receivers, tmp_path, monkeypatch, capsys):
    """Another process's emits redeliver a few events at a time, each under the spool's delivery
    lock: a flush that found it taken delivered nothing and failed. It waits its turn now, for a
    bounded time, and says what it waited for when it gives up."""
    transport = routing_transport(
        receivers, tmp_path, routes=[], destinations={"catalog": {"type": "http", "url": receivers[0].url}}
    )
    spool = transport.senders["catalog"].spool
    for n in range(20):
        spool.append(json.dumps(run_event(run={"runId": f"run-{n}", "facets": {}})).encode())
    release = _held_by_another_deliverer(spool, 0.5)
    done = transport.flush_spools()["catalog"]
    release.join()
    assert done.delivered == 20 and len(receivers[0].events) == 20 and spool.status().events == 0

    monkeypatch.setattr(spool_module, "TURN_WAIT_SECONDS", 0.3)
    spool.append(json.dumps(run_event()).encode())
    release = _held_by_another_deliverer(spool, 1.5)
    started = time.monotonic()
    done = transport.flush_spools()["catalog"]
    assert done.busy and done.delivered == 0 and 0.3 <= time.monotonic() - started < 1.5
    from airflow_ol_catalog import cli_commands

    monkeypatch.setattr(cli_commands, "_routing", lambda args: transport)
    with pytest.raises(SystemExit):
        cli_commands.spool_flush(types.SimpleNamespace(config=None))
    assert (
        "catalog: another process kept delivering this spool for the 0.3 s waited; 1 waiting" in capsys.readouterr().out
    )
    release.join()


@pytest.mark.parametrize("status", [300, 301, 302, 303, 304, 307, 308])
def test_a_redirect_that_drops_the_event_is_a_dead_letter_not_a_delivery(receivers, tmp_path, status):
    """openlineage-python's http transport raises for 4xx and 5xx only: a 3xx answer, or a redirect
    requests followed with a GET (the event's body dropped), counted as delivered, and the event was
    lost (an http URL redirected to https, for one). It is a dead letter now, saying where the
    destination points; 307 and 308 send the event again to the new address, which takes it."""
    receivers[0].redirect = status
    transport = routing_transport(receivers, tmp_path)
    transport.emit(run_event())
    spool = transport.senders["catalog"].spool
    if status in (307, 308):
        assert len(receivers[0].events) == 1 and spool.dead_letters.letters() == []
        return
    assert receivers[0].events == [] and spool.status().events == 0
    (letter,) = spool.dead_letters.letters()
    assert letter.status == status and "the event was not delivered" in letter.answer, letter.answer
    if status not in (300, 304):
        assert "a redirect to " in letter.answer and "/moved" in letter.answer


@pytest.mark.parametrize(
    ("status", "location", "get_status"),
    [(301, "https://127.0.0.1:1/api/v1/lineage", 200), (302, "/moved", 500), (303, "/moved", 404)],
)
def test_a_redirect_that_dropped_the_event_is_a_dead_letter_whatever_its_get_then_met(
    receivers, tmp_path, status, location, get_status
):
    """An http URL redirected to an https side that does not answer, or a GET answered 500 or 404:
    the event was dropped at the redirect all the same. It was retried from the spool for good
    (every later event queued behind it), or kept as a dead letter with the GET's 404."""
    receivers[0].redirect, receivers[0].location, receivers[0].get_status = status, location, get_status
    transport = routing_transport(receivers, tmp_path)
    transport.emit(run_event())
    spool = transport.senders["catalog"].spool
    assert receivers[0].events == [] and spool.status().events == 0
    (letter,) = spool.dead_letters.letters()
    assert letter.status == status and "a redirect to " in letter.answer, letter.answer


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_refused_for_a_client_certificate_is_a_dead_letter(receivers, tmp_path, status):
    """With a client certificate, openlineage-python follows no redirect, not even 307, and raises
    a RuntimeError that carries no answer: it was retried from the spool for good. It is a dead
    letter naming the redirect, like a redirect that dropped the event."""
    receivers[0].redirect = status
    cert = tmp_path / "client.pem"
    cert.write_text("not read: the destination is plain http\n")
    catalog = {"type": "http", "url": receivers[0].url, "sslContext": {"clientCertPath": str(cert)}}
    transport = routing_transport(receivers, tmp_path, destinations={"catalog": catalog}, routes=[])
    transport.emit(run_event())
    spool = transport.senders["catalog"].spool
    assert receivers[0].events == [] and spool.status().events == 0
    (letter,) = spool.dead_letters.letters()
    assert letter.status == status and "a redirect to " in letter.answer and "/moved" in letter.answer


def test_a_destination_whose_spool_cannot_be_written_keeps_the_event_from_no_other(receivers, tmp_path):
    """The first destination is down and its spool's file is a directory: writing the event there
    fails. The second still gets every event; the first's failure is logged, and a flush of the
    spools answers for the others."""
    receivers[0].status = 503
    transport = routing_transport(receivers, tmp_path, routes=[], default=["catalog", "other"])
    transport.senders["catalog"].spool.path.mkdir(parents=True)  # its records' file is a directory
    for _ in range(3):
        transport.emit(spark_event("COMPLETE"))
    assert len(receivers[1].events) == 3
    assert set(transport.flush_spools()) <= {"other"}


def test_a_spool_directory_that_cannot_be_read_keeps_no_event_from_a_healthy_destination(
    receivers, tmp_path, monkeypatch
):
    """Both destinations share a spool directory that cannot be read (its parent is a file):
    asking whether a backlog waits there raised before any send, and the healthy destination lost
    every event too. Only the failing destination's events, which no spool can take, are dropped."""
    from airflow_ol_catalog.events import metrics

    counted = []
    monkeypatch.setattr(metrics, "incr", lambda name, count=1, tags=None: counted.append((name, count, tags)))
    (tmp_path / "a-file").write_text("")
    healthy, failing = receivers
    failing.status = 500
    transport = routing_transport(
        receivers,
        tmp_path,
        routes=[],
        default=["catalog", "other"],
        destinations={"catalog": {"type": "http", "url": healthy.url}, "other": {"type": "http", "url": failing.url}},
        spool={"dir": str(tmp_path / "a-file" / "spool")},
    )
    for _ in range(3):
        transport.emit(run_event(eventType="COMPLETE"))
    assert len(healthy.events) == 3
    assert counted.count(("transport.dropped", 1, {"destination": "other"})) == 3
    assert ("transport.dropped", 1, {"destination": "catalog"}) not in counted


def test_an_api_key_connection_kept_in_airflows_database_is_found_outside_a_task(monkeypatch):
    """`auth: {type: airflow_connection_api_key, conn_id: ...}` is resolved by the OpenLineage
    provider through the task SDK, which outside a task (the spool commands) finds no Connection
    kept in the database: the key then comes from Airflow's own look-up, the Connection's password."""
    from types import SimpleNamespace

    from airflow.providers.openlineage import token_provider

    from airflow_ol_catalog.transport import routing

    def not_found(self):
        raise RuntimeError("The conn_id `marquez` isn't defined")

    monkeypatch.setattr(token_provider.AirflowConnectionTokenProvider, "get_api_key", not_found)
    monkeypatch.setattr(routing, "airflow_connection", lambda conn_id: SimpleNamespace(password=f" key-of-{conn_id} "))
    config = {"type": "http", "url": "http://m", "auth": {"type": "airflow_connection_api_key", "conn_id": "marquez"}}
    routing._resolve_connection_auth(config)
    assert config["auth"] == {"type": "api_key", "apiKey": "key-of-marquez"}
    monkeypatch.setattr(routing, "airflow_connection", lambda conn_id: SimpleNamespace(password=None))
    with pytest.raises(RuntimeError, match="isn't defined"):  # no key there either: the provider's own words
        routing._resolve_connection_auth({"auth": {"type": "airflow_connection_api_key", "conn_id": "marquez"}})


def _routing(spool: str) -> dict:
    return {"type": TRANSPORT, "destinations": {"d": {"type": "console"}}, "spool": {"dir": spool}}


def test_the_cli_and_the_replay_dag_read_the_config_the_openlineage_provider_reads(tmp_path, monkeypatch):
    """Airflow's OpenLineage provider takes `config_conn_id` first, then `config_path`, then
    `transport`: the spool commands and the replay DAG read the same one, or a backlog the tasks
    spooled would be out of their sight."""
    from airflow_ol_catalog.transport.loading import load_routing_config

    for option in ("CONFIG_CONN_ID", "CONFIG_PATH", "TRANSPORT"):
        monkeypatch.delenv(f"AIRFLOW__OPENLINEAGE__{option}", raising=False)
    (tmp_path / "ol.yml").write_text(json.dumps({"transport": _routing("from-file")}))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(_routing("inline")))
    assert load_routing_config()["spool"]["dir"] == "inline"
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__CONFIG_PATH", str(tmp_path / "ol.yml"))
    assert load_routing_config()["spool"]["dir"] == "from-file"
    connection = {"conn_type": "generic", "extra": {"transport": _routing("from-connection")}}
    monkeypatch.setenv("AIRFLOW_CONN_OL_CONFIG", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__CONFIG_CONN_ID", "ol_config")
    assert load_routing_config()["spool"]["dir"] == "from-connection"
    assert load_routing_config(str(tmp_path / "ol.yml"))["spool"]["dir"] == "from-file"  # --config wins


def test_a_token_replaced_in_its_connection_is_used_without_restarting_the_process(receivers, tmp_path, monkeypatch):
    """The scheduler and the API server live for weeks: after an operator revokes the token and puts
    a new one in the Connection, the next event refused with 401 reads the Connection again and goes
    through; a token refused again is a dead letter, as before."""
    catalog = receivers[0]
    catalog.refuse = lambda event: None if catalog.authorizations[-1] == "Bearer new-token" else (401, "revoked")
    monkeypatch.setenv("AIRFLOW_CONN_ROTATING", json.dumps({"conn_type": "http", "password": "old-token"}))
    config = {
        "type": TRANSPORT,
        "timeout": 5.0,
        "destinations": {"catalog": {"type": "catalog", "url": catalog.url, "conn_id": "rotating"}},
        "spool": {"dir": str(tmp_path / "spool")},
    }
    transport = RoutingTransport(RoutingConfig.from_dict(config))
    transport.emit(run_event(eventType="START"))
    spool = transport.senders["catalog"].spool
    assert catalog.events == [] and len(spool.dead_letters.letters()) == 1
    monkeypatch.setenv("AIRFLOW_CONN_ROTATING", json.dumps({"conn_type": "http", "password": "new-token"}))
    transport.emit(run_event(eventType="COMPLETE"))
    assert [e["eventType"] for e in catalog.events] == ["COMPLETE"]
    transport.emit(run_event(eventType="COMPLETE"))  # the new token is kept: one request
    # refused twice (the Connection read again held the same token), then the old token's refusal
    # and the new one, then the new one alone
    assert catalog.authorizations == ["Bearer old-token"] * 3 + ["Bearer new-token"] * 2


@pytest.mark.parametrize(
    "change",
    [
        {"job": {"namespace": "team-a", "name": "j", "facets": ["not", "an", "object"]}},
        {"job": {"namespace": "team-a", "name": "j", "facets": {"jobType": "SPARK"}}},
        {"inputs": 7, "outputs": "nope"},
        {"job": "a string"},
    ],
)
def test_an_event_of_a_shape_the_spec_does_not_allow_is_still_routed_and_sent(receivers, tmp_path, change):
    """Routing read facets it took to be objects: an event with `job.facets` a list, or `jobType` a
    string, raised in the transport and went to no destination, counted nowhere. It is routed as
    one without them, and the receiver decides (the catalog refuses it: a dead letter to look at)."""
    transport = routing_transport(receivers, tmp_path, routes=[], default=["catalog", "other"])
    event = run_event(eventType="COMPLETE") | change
    transport.emit(event)
    assert len(receivers[0].events) == 1 and len(receivers[1].events) == 1  # the other's rewrite ran on it


def test_a_script_outside_airflow_keeps_the_bound_from_its_first_emit(tmp_path):
    """A plain script emitting through the transport: its first emit imported Airflow to count a
    metric (about a second, past a 0.5 s bound). A process that has not loaded Airflow initialised no
    Stats, and no metric imports it now."""
    script = tmp_path / "emit.py"
    script.write_text(
        f"""
import json, sys, time
from airflow_ol_catalog.transport import RoutingConfig, RoutingTransport
config = {{"type": "{TRANSPORT}", "timeout": 0.5, "spool": {{"dir": {json.dumps(str(tmp_path / "spool"))}}},
          "destinations": {{"down": {{"type": "http", "url": "http://127.0.0.1:9/"}}}}}}
transport = RoutingTransport(RoutingConfig.from_dict(config))
event = {json.dumps(run_event(eventType="START"))}
started = time.monotonic()
transport.emit(event)
print(json.dumps({{"seconds": time.monotonic() - started, "airflow": "airflow" in sys.modules}}))
"""
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"seconds": result["seconds"], "airflow": False}, done.stderr[-2000:]
    assert result["seconds"] < 1.0, result  # the bound is 0.5 s; importing Airflow took about a second
    assert Spool(tmp_path / "spool", "down", 1 << 20).status().events == 1
