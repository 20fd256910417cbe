"""The ``digituki`` command line: database set-up, providers, places, console accounts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.cli.agents import cmd_agents_add, cmd_agents_disable, cmd_agents_passwd
from bot.cli.common import CliError
from bot.cli.db import cmd_db_status, cmd_db_upgrade, cmd_geo_lookup
from bot.cli.providers import cmd_providers_import, cmd_providers_search
from bot.cli.reports import cmd_report, cmd_retention_apply, date_arg
from bot.config import ConfigError, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digituki",
        description="Digituki: find the right, nearest digital support. "
        "Settings come from DIGITUKI_* environment variables (see .env.example).",
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    db = groups.add_parser("db", help="database schema and gazetteer")
    db_commands = db.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    upgrade = db_commands.add_parser(
        "upgrade", help="create or migrate the schema and load the gazetteer"
    )
    upgrade.set_defaults(handler=cmd_db_upgrade)
    status = db_commands.add_parser("status", help="show the schema revision and provider count")
    status.set_defaults(handler=cmd_db_status)

    providers = groups.add_parser("providers", help="import and search providers")
    provider_commands = providers.add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    imp = provider_commands.add_parser(
        "import",
        help="import providers from a CSV or YAML file or PTV JSON (all or nothing)",
        description="Validate every row; a file with any invalid row is rejected as a whole. "
        "Existing providers with the same id are replaced. PTV input (a .json file or a "
        "folder of them) is mapped with the mapping file; see docs/ptv-import.md.",
    )
    imp.add_argument("file", help="a .csv, .yml or .yaml file; for PTV a .json file or a folder")
    imp.add_argument(
        "--format",
        choices=["csv", "yaml", "ptv"],
        help="override the format guessed from the name (.json and folders are PTV)",
    )
    imp.add_argument(
        "--source", help="source label stored with each provider (default import; PTV: ptv)"
    )
    imp.add_argument(
        "--mapping", help="PTV: the mapping file (default: data/ptv_mapping.yml)", metavar="FILE"
    )
    imp.add_argument(
        "--full",
        action="store_true",
        help="PTV: the input is all of PTV's data for us; providers from PTV that are not in "
        "it are marked inactive",
    )
    imp.add_argument(
        "--list-unmapped", action="store_true", help="PTV: list every channel no rule maps"
    )
    imp.add_argument("--dry-run", action="store_true", help="only validate, write nothing")
    imp.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="do not list warnings or unmapped channels (errors are always listed)",
    )
    imp.set_defaults(handler=cmd_providers_import)

    find = provider_commands.add_parser(
        "search",
        help="find the nearest suitable providers",
        description="In-person and training results are ordered by distance; remote results "
        "are those whose service area covers the municipality.",
    )
    place = find.add_mutually_exclusive_group(required=True)
    place.add_argument("--municipality", "-m", help="Finnish or Swedish name, or code")
    place.add_argument("--lat", type=float, help="latitude (WGS84), with --lon")
    find.add_argument("--lon", type=float, help="longitude (WGS84), with --lat")
    find.add_argument("--topic", "-t", action="append", help="a topic (repeat for several)")
    find.add_argument(
        "--form", "-f", help="in_person, remote, phone, video, chat, home_visit or training"
    )
    find.add_argument("--language", "-l", help="service language (ISO 639-1, e.g. fi, sv, en, se)")
    find.add_argument("--limit", type=int, default=3, help="number of results (default 3)")
    find.add_argument("--json", action="store_true", help="print JSON")
    find.set_defaults(handler=cmd_providers_search)

    geo = groups.add_parser("geo", help="places")
    geo_commands = geo.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    lookup = geo_commands.add_parser("lookup", help="look up a municipality by name or code")
    lookup.add_argument("name")
    lookup.set_defaults(handler=cmd_geo_lookup)

    agents = groups.add_parser("agents", help="accounts of the handoff console")
    agent_commands = agents.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    add = agent_commands.add_parser(
        "add",
        help="add a worker, coordinator or administrator (password from standard input)",
        description="The password is read from standard input (asked twice on a terminal) "
        "and stored only as a scrypt hash.",
    )
    add.add_argument("username")
    add.add_argument("--name", help="the name users and colleagues see (default: the username)")
    add.add_argument("--role", choices=["worker", "coordinator", "admin"], default="worker")
    add.add_argument("--languages", default="fi", help="comma-separated: fi,sv,en (default fi)")
    add.add_argument(
        "--regions", default="", help="comma-separated region names or codes (default: all)"
    )
    add.add_argument("--capacity", type=int, default=3, help="concurrent chats (default 3)")
    add.set_defaults(handler=cmd_agents_add)
    passwd = agent_commands.add_parser(
        "passwd",
        help="set a new password (from standard input); the account's sessions end",
    )
    passwd.add_argument("username")
    passwd.set_defaults(handler=cmd_agents_passwd)
    disable = agent_commands.add_parser(
        "disable", help="stop an account from logging in (its history stays); sessions end"
    )
    disable.add_argument("username")
    disable.set_defaults(handler=cmd_agents_disable)

    report = groups.add_parser(
        "report",
        help="need and supply: conversations, needs, unmet needs, handoffs",
        description="Counts from the conversation event stream (nothing anyone wrote) per week, "
        "region, municipality, topic, language and support form. Without --csv, prints totals "
        "--by the dimensions given.",
    )
    report.add_argument("--since", type=date_arg, help="first day (default: four weeks back)")
    report.add_argument("--until", type=date_arg, help="last day, inclusive (default: today)")
    report.add_argument("--region", default="", help="comma-separated region names or codes")
    report.add_argument(
        "--by", default="region,language", help="dimensions of the totals (default region,language)"
    )
    report.add_argument(
        "--unmet-km", type=float, default=30.0, help="in-person help farther is unmet (default 30)"
    )
    report.add_argument("--csv", metavar="FILE", help="write every row as CSV ('-' for stdout)")
    report.set_defaults(handler=cmd_report)

    retention = groups.add_parser("retention", help="delete or anonymise old conversations")
    retention_commands = retention.add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    apply = retention_commands.add_parser(
        "apply",
        help="delete conversations and anonymise handoff requests older than --days",
        description="Conversations whose last message is older than --days are deleted whole "
        "(their messages and the bot's tracker). Ended handoff requests older than that keep what "
        "the reports count and lose their summary, notes, contact and conversation id. Run it "
        "daily; --dry-run shows what would go.",
    )
    apply.add_argument("--days", type=int, required=True, help="keep this many days (at least 1)")
    apply.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    apply.set_defaults(handler=cmd_retention_apply)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``digituki`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "lat", None) is not None and getattr(args, "lon", None) is None:
        parser.error("--lat needs --lon")
    if getattr(args, "lon", None) is not None and getattr(args, "lat", None) is None:
        parser.error("--lon needs --lat")
    try:
        settings = load_settings()
        return int(args.handler(args, settings))
    except (CliError, ConfigError) as exc:
        print(f"digituki: error: {exc}", file=sys.stderr)
        return 1
