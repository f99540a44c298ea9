"""`airflow ol-catalog ...` against a database the catalog cannot use says what to do, instead of
failing with a traceback on the first missing table."""

from __future__ import annotations

import argparse
from argparse import Namespace

import pytest
from sqlalchemy import func, select

from airflow_ol_catalog import cli_commands
from airflow_ol_catalog.store.engine import dispose_engines, read_connection
from airflow_ol_catalog.store.tables import namespace


@pytest.fixture(autouse=True)
def _configured_afresh():
    """Each test configures the catalog's database itself: the engine is resolved once per process."""
    dispose_engines()
    yield
    dispose_engines()


@pytest.mark.parametrize("command", ["tokens_list", "namespaces_list", "quarantine_list"])
def test_a_command_on_a_database_without_the_catalogs_tables_says_to_migrate(command, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SystemExit) as exit_:
        getattr(cli_commands, command)(Namespace(name=None, namespace=None, all=False, deleted=False))
    assert exit_.value.code == 1
    error = capsys.readouterr().err
    assert "error: the catalog's database is at none, expected " in error and "run `airflow db migrate`" in error


def test_a_command_on_a_migrated_database_runs(catalog_engine, capsys):
    cli_commands.tokens_list(Namespace(all=False))
    assert "error: " not in capsys.readouterr().err


def test_roles_sync_under_another_auth_manager_changes_nothing_and_says_why(monkeypatch, capsys):
    """The suite's default is SimpleAuthManager, whose users' roles already decide what they see."""
    monkeypatch.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER", "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    )
    cli_commands.roles_sync(Namespace(roles=None))
    assert capsys.readouterr().out == (
        "nothing to do: the auth manager is airflow.api_fastapi.auth.managers.simple.simple_auth_manager."
        "SimpleAuthManager, whose own rules decide who sees the pages\n"
    )


@pytest.mark.parametrize("name", ["", "   ", "a\x00b"])
def test_a_namespace_events_could_not_use_is_refused_by_the_command_saying_why(catalog_engine, capsys, name):
    """Events name namespaces with the same rules: an empty one was created, listed, and could be
    neither used, changed nor deleted."""
    with pytest.raises(SystemExit):
        cli_commands.namespaces_create(Namespace(name=name, description="", admins=[]))
    assert "error: name: " in capsys.readouterr().err
    with read_connection(catalog_engine) as conn:
        assert conn.execute(select(func.count()).select_from(namespace)).scalar_one() == 0


def test_a_token_name_longer_than_its_column_is_refused_by_the_command(catalog_engine, capsys):
    with pytest.raises(SystemExit):
        cli_commands.tokens_create(Namespace(name="t" * 251, namespaces=None, read=False, admin=False))
    assert "more than the 250 a token's name may have" in capsys.readouterr().err
    cli_commands.tokens_create(Namespace(name="  spaced  ", namespaces=None, read=False, admin=False))
    assert "Created token 'spaced'" in capsys.readouterr().out


def test_route_explain_and_openapi_say_what_is_wrong_instead_of_a_traceback(tmp_path, capsys):
    import json

    config = tmp_path / "openlineage.yml"
    destinations = {"catalog": {"type": "console"}}
    config.write_text(
        json.dumps(
            {"transport": {"type": "airflow_ol_catalog.transport.RoutingTransport", "destinations": destinations}}
        )
    )
    array = tmp_path / "events.json"
    array.write_text("[]")
    broken = tmp_path / "broken.yml"
    broken.write_text("transport:\n  type: [unclosed\n")
    cases = [
        (
            lambda: cli_commands.route_explain(Namespace(explain=str(array), config=str(config))),
            "holds a JSON list, not one OpenLineage event",
        ),
        (
            lambda: cli_commands.route_explain(Namespace(explain=str(array), config=str(broken))),
            "broken.yml: not valid YAML: ",
        ),
        (lambda: cli_commands.openapi(Namespace(output=str(tmp_path / "missing" / "x.json"))), "cannot write "),
    ]
    for command, message in cases:
        with pytest.raises(SystemExit) as exit_:
            command()
        assert exit_.value.code == 1 and message in capsys.readouterr().err


@pytest.mark.parametrize("url", ["not a url", "mysql://u:p@h/db", "postgresql://u@h:abc/db"])
def test_a_database_url_the_catalog_cannot_use_is_said_without_a_traceback(url, monkeypatch, capsys):
    """One SQLAlchemy cannot read, one whose driver is not installed: both raised a traceback."""
    monkeypatch.setenv("AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN", url)
    with pytest.raises(SystemExit) as exit_:
        cli_commands.tokens_list(Namespace(all=False))
    assert exit_.value.code == 1
    assert "error: [ol_catalog] sql_alchemy_conn cannot be used (" in capsys.readouterr().err


def test_quarantine_list_says_how_many_it_left_out(catalog_engine, capsys):
    from test_store import submission

    from airflow_ol_catalog.ingest.event_log import store_events
    from airflow_ol_catalog.store.engine import write_transaction

    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission("unknown-ns", run_id=f"r-{i}") for i in range(3)], "quarantine")
    cli_commands.quarantine_list(Namespace(namespace=None, limit=2))
    out = capsys.readouterr().out
    assert out.count("unknown-ns") == 2 and "2 of 3 quarantined events shown; --limit to see more" in out
    cli_commands.quarantine_list(Namespace(namespace=None, limit=3))
    assert "shown" not in capsys.readouterr().out


def test_what_the_database_refuses_is_said_in_one_line_without_the_statement(catalog_engine, capsys):
    """On a read-only PostgreSQL database `tokens create` printed a traceback with the statement's
    parameters, the new token's digest among them."""
    from sqlalchemy import text

    from airflow_ol_catalog import cli

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("a read-only database: PostgreSQL's setting")
    database = catalog_engine.url.database
    with catalog_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on'))
    catalog_engine.dispose()
    from airflow_ol_catalog.store import engine as engine_module

    engine_module.dispose_engines()
    try:
        (group,) = [g for g in cli.get_cli_commands() if g.name == "ol-catalog"]
        (tokens,) = [c for c in group.subcommands if c.name == "tokens"]
        (create,) = [c for c in tokens.subcommands if c.name == "create"]
        with pytest.raises(SystemExit) as exit_:
            create.func(Namespace(name="read-only", namespaces=None, read=False, admin=False))
        assert (
            str(exit_.value)
            == "error: the catalog's database refused it: cannot execute INSERT in a read-only transaction"
        )
    finally:
        with catalog_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SET default_transaction_read_only = off"))
            conn.execute(text(f'ALTER DATABASE "{database}" SET default_transaction_read_only = off'))
        engine_module.dispose_engines()


@pytest.mark.parametrize("limit", ["-1", "99999999999999999999"])
def test_a_limit_out_of_range_is_refused_by_the_parser(limit):
    from airflow_ol_catalog.cli import ARG_LIMIT

    parser = argparse.ArgumentParser()
    ARG_LIMIT.add_to_parser(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--limit", limit])
    assert parser.parse_args(["--limit", "7"]).limit == 7


def test_namespace_names_are_shown_so_that_they_can_be_told_apart_and_pasted(catalog_engine, capsys):
    """`ns1 ` listed as `ns1` beside `ns1`; `show` wrote a name's escape sequences to the terminal;
    the replay hint for `Quar NS` could not be pasted (the name was not quoted)."""
    from test_store import submission

    from airflow_ol_catalog.ingest.event_log import store_events
    from airflow_ol_catalog.store.engine import write_transaction

    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission("Quar NS", run_id="r-1")], "quarantine")
    cli_commands.namespaces_create(Namespace(name="Quar NS", description="", admins=[]))
    assert "`airflow ol-catalog quarantine replay --namespace 'Quar NS'`" in capsys.readouterr().out
    for name in ("ns1", "ns1 ", "x\x1b[31my"):
        cli_commands.namespaces_create(Namespace(name=name, description="", admins=[]))
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "x\\x1b[31my" in shown
    cli_commands.namespaces_list(Namespace(all=False))
    listed = capsys.readouterr().out
    assert "'ns1 '" in listed and "\x1b" not in listed


def test_the_commands_run_on_their_own_as_airflow_ol_catalog(catalog_engine, capsys):
    """Airflow 3.1's CLI adds commands from no provider: `airflow-ol-catalog` (the package's script,
    or `python -m airflow_ol_catalog.cli`) builds the same commands with Airflow's own parser."""
    from airflow_ol_catalog import cli

    cli.main(["namespaces", "create", "team-a"])
    cli.main(["tokens", "create", "--name", "spark", "--namespace", "team-a"])
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("olc_")
    cli.main(["namespaces", "list"])
    assert "team-a" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["no-such-group"])
    assert "invalid choice: 'no-such-group'" in capsys.readouterr().err


def test_on_airflow_3_1_the_migration_hint_names_the_setting_it_needs(monkeypatch):
    import airflow

    from airflow_ol_catalog.store.migrate import not_migrated

    monkeypatch.setattr(airflow, "__version__", "3.1.8")
    assert "external_db_managers = airflow_ol_catalog.store.db_manager.CatalogDBManager" in not_migrated(None)
    monkeypatch.setattr(airflow, "__version__", "3.3.2")
    assert not_migrated(None).endswith("run `airflow db migrate`")


def test_the_script_loads_this_providers_options_where_airflow_has_not(catalog_engine, monkeypatch, capsys):
    """As on Airflow 3.1, which loads providers' options only inside its own commands; an option the
    user set (one of this provider's) does not make the others' defaults present."""
    from airflow.configuration import conf

    from airflow_ol_catalog import cli

    monkeypatch.setenv("AIRFLOW__OL_CATALOG__UNKNOWN_NAMESPACE_POLICY", "quarantine")
    with conf.make_sure_configuration_loaded(with_providers=False):
        cli.main(["namespaces", "list"])
    assert "error" not in capsys.readouterr().err
