"""`airflow ol-catalog ...`: tokens, namespaces, quarantine, sending event files, the transport's spools.

Airflow imports this module for every CLI call: heavy imports stay inside the commands.
"""

from __future__ import annotations

from airflow.cli.cli_config import ActionCommand, Arg, GroupCommand, lazy_load_command


def _cmd(name: str) -> str:
    return f"airflow_ol_catalog.cli_commands.{name}"


def _action(name: str, help_: str, func: str, args: tuple[Arg, ...] = ()) -> ActionCommand:
    return ActionCommand(name=name, help=help_, func=_said_plainly(lazy_load_command(_cmd(func))), args=args)


def _said_plainly(command):
    """The command, with what the database refuses (a read-only database, a full disk) said in one
    line: a traceback would also print the statement's parameters (a new token's digest, say)."""

    def run(args):
        from sqlalchemy.exc import DBAPIError

        try:
            return command(args)
        except DBAPIError as exc:
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            raise SystemExit(f"error: the catalog's database refused it: {reason}") from None

    return run


def _count(text: str) -> int:
    """A --limit: a whole number from 0 to 100,000."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"expected 0 to 100000, got {value}")
    return value


ARG_NAME = Arg(("name",), help="Name")
ARG_TOKEN_NAME = Arg(("--name",), help="Name of the token (unique), e.g. the producer it is for", required=True)
ARG_TOKEN_NAMESPACES = Arg(
    ("--namespace",),
    help="Limit the token to this namespace (repeat for several); default: every namespace",
    action="append",
    dest="namespaces",
    default=None,
)
ARG_READ = Arg(("--read",), help="Also allow reading the catalog's read API", action="store_true")
ARG_ADMIN = Arg(
    ("--admin",),
    help="Allow the admin API too (for the maintenance DAGs), except creating admin tokens and hiding or restoring; implies --read",
    action="store_true",
)
ARG_ALL = Arg(("--all",), help="Include revoked or deleted entries", action="store_true")
ARG_DESCRIPTION = Arg(("--description",), help="What the namespace holds", default="")
ARG_ADMINS = Arg(
    ("--admin",),
    help="Airflow user name of an admin (repeat for several)",
    action="append",
    dest="admins",
    default=None,
)
ARG_FILTER_NAMESPACE = Arg(("--namespace",), help="Only this namespace", default=None)
ARG_LIMIT = Arg(("--limit",), help="How many to show (0 to 100000)", type=_count, default=100)
ARG_DIR = Arg(
    ("directory",), help="Directory of *.json files, one OpenLineage event each (read recursively, in file-name order)"
)
ARG_SEND_NAMESPACE = Arg(
    ("--namespace",), help="Replace the job namespace (and the parent job's) with this one", default=None
)
ARG_URL = Arg(
    ("--url",), help="Airflow API server URL (default: from [api] base_url, or http://localhost:8080/)", default=None
)
ARG_TOKEN = Arg(("--token",), help="Catalog token (default: environment variable OL_CATALOG_TOKEN)", default=None)
ARG_ROUTING_CONFIG = Arg(
    ("--config",),
    help="Routing transport config file (YAML or JSON); default: [openlineage] transport or config_path",
    default=None,
    dest="config",
)
ARG_DESTINATION = Arg(("--destination",), help="Only this destination", default=None)
ARG_LETTER_IDS = Arg(
    ("--id",),
    help="A dead letter's id, as `list` shows it (repeat for several)",
    action="append",
    dest="ids",
    default=None,
)
ARG_EVERY_LETTER = Arg(
    ("--all",), help="Every dead letter (of --destination, if given)", action="store_true", dest="every"
)
ARG_EXPLAIN = Arg(("--explain",), help="An OpenLineage event file (JSON) to route", required=True, metavar="EVENT.json")
ARG_ROLES = Arg(
    ("--role",),
    help="Only this role (repeat for several); default: every role that may read assets",
    action="append",
    dest="roles",
    default=None,
)
ARG_OPENAPI_OUTPUT = Arg(("--output",), help="Write the document to this file (default: standard output)", default=None)


def get_cli_commands() -> list[GroupCommand]:
    return [
        GroupCommand(
            name="ol-catalog",
            help="Manage the OpenLineage catalog: tokens, namespaces, quarantine, sending events, spools, roles",
            subcommands=(
                GroupCommand(
                    name="tokens",
                    help="Ingest tokens for OpenLineage producers",
                    subcommands=(
                        _action(
                            "create",
                            "Create a token; prints it once, alone on the last line",
                            "tokens_create",
                            (ARG_TOKEN_NAME, ARG_TOKEN_NAMESPACES, ARG_READ, ARG_ADMIN),
                        ),
                        _action("list", "List tokens (never their secrets)", "tokens_list", (ARG_ALL,)),
                        _action("revoke", "Revoke a token by name", "tokens_revoke", (ARG_NAME,)),
                    ),
                ),
                GroupCommand(
                    name="namespaces",
                    help="Namespaces (connections) events are grouped by",
                    subcommands=(
                        _action(
                            "create",
                            "Register a namespace",
                            "namespaces_create",
                            (ARG_NAME, ARG_DESCRIPTION, ARG_ADMINS),
                        ),
                        _action("list", "List namespaces", "namespaces_list", (ARG_ALL,)),
                        _action("show", "Show one namespace", "namespaces_show", (ARG_NAME,)),
                        _action(
                            "delete",
                            "Hide a namespace; its later events are quarantined",
                            "namespaces_delete",
                            (ARG_NAME,),
                        ),
                        _action("restore", "Restore a deleted namespace", "namespaces_restore", (ARG_NAME,)),
                    ),
                ),
                GroupCommand(
                    name="quarantine",
                    help="Events waiting for their namespace",
                    subcommands=(
                        _action(
                            "list", "List quarantined events", "quarantine_list", (ARG_FILTER_NAMESPACE, ARG_LIMIT)
                        ),
                        _action(
                            "replay",
                            "Move quarantined events of registered namespaces into the catalog, and build their lineage views",
                            "quarantine_replay",
                            (ARG_FILTER_NAMESPACE,),
                        ),
                    ),
                ),
                _action(
                    "send",
                    "Send every *.json event file under a directory to the catalog",
                    "send",
                    (ARG_DIR, ARG_SEND_NAMESPACE, ARG_URL, ARG_TOKEN),
                ),
                GroupCommand(
                    name="spool",
                    help="The routing transport's spools of events waiting for their destination",
                    subcommands=(
                        _action(
                            "status",
                            "Backlog, oldest event, dead letters, damaged records and last error per destination",
                            "spool_status",
                            (ARG_ROUTING_CONFIG,),
                        ),
                        _action(
                            "flush", "Deliver every spooled event now, in order", "spool_flush", (ARG_ROUTING_CONFIG,)
                        ),
                        GroupCommand(
                            name="dead-letters",
                            help="Events a destination refused for good (a lasting HTTP 4xx), kept with its answer",
                            subcommands=(
                                _action(
                                    "list",
                                    "List dead letters: id, when, status, event and answer",
                                    "dead_letters_list",
                                    (ARG_ROUTING_CONFIG, ARG_DESTINATION),
                                ),
                                _action(
                                    "retry",
                                    "Put dead letters back at the end of their spool, then deliver it",
                                    "dead_letters_retry",
                                    (ARG_ROUTING_CONFIG, ARG_DESTINATION, ARG_LETTER_IDS, ARG_EVERY_LETTER),
                                ),
                                _action(
                                    "discard",
                                    "Delete dead letters",
                                    "dead_letters_discard",
                                    (ARG_ROUTING_CONFIG, ARG_DESTINATION, ARG_LETTER_IDS, ARG_EVERY_LETTER),
                                ),
                            ),
                        ),
                    ),
                ),
                _action(
                    "route",
                    "Show which routes an event matches, where it goes and how it is rewritten",
                    "route_explain",
                    (ARG_EXPLAIN, ARG_ROUTING_CONFIG),
                ),
                GroupCommand(
                    name="roles",
                    help="Airflow roles and the catalog's pages",
                    subcommands=(
                        _action(
                            "sync",
                            "Under FabAuthManager, let every role that may read assets see the catalog's pages "
                            "(grants it can_read on Plugins); run after `airflow db migrate`",
                            "roles_sync",
                            (ARG_ROLES,),
                        ),
                    ),
                ),
                _action(
                    "openapi",
                    "Print the API's OpenAPI document (sorted keys), the one the UI's client is generated from",
                    "openapi",
                    (ARG_OPENAPI_OUTPUT,),
                ),
            ),
        )
    ]


def main(argv: list[str] | None = None) -> None:
    """`airflow-ol-catalog ...` (or `python -m airflow_ol_catalog.cli ...`): the `airflow ol-catalog`
    commands on their own, for Airflow 3.1, whose CLI adds commands from no provider. Airflow's own
    parser builds them, as it does under `airflow`, with this provider's options loaded."""
    from airflow.cli.cli_parser import DefaultHelpParser, _add_command
    from airflow.configuration import conf

    if "ol_catalog" not in conf.configuration_description:
        # Airflow 3.1 loads providers' options only in its own commands (later ones when first asked)
        conf.load_providers_configuration()
    parser = DefaultHelpParser(prog="airflow-ol-catalog", description=get_cli_commands()[0].help)
    subparsers = parser.add_subparsers(dest="subcommand", metavar="GROUP_OR_COMMAND")
    subparsers.required = True
    for command in get_cli_commands()[0].subcommands:
        _add_command(subparsers, command)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
