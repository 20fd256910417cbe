"""``digituki agents``: accounts of the handoff console."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from bot.cli.common import CliError, codes, require_schema
from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.geo import Gazetteer, UnknownPlaceError


def _read_password(confirm: bool = True) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != first:
            raise CliError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _change_agent(settings: Settings, change: Callable[[Any], Any]) -> Any:
    """Runs ``change(agents)`` on the console accounts; its errors become CLI errors."""
    from bot.handoff import Agents, QueueError
    from bot.handoff.passwords import WeakPasswordError

    engine = require_schema(settings)
    try:
        return change(Agents(make_session_factory(engine)))
    except (QueueError, WeakPasswordError) as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()


def cmd_agents_passwd(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password()
    agent = _change_agent(settings, lambda agents: agents.set_password(args.username, password))
    print(f"new password for {agent.username}; its console sessions have ended")
    return 0


def cmd_agents_disable(args: argparse.Namespace, settings: Settings) -> int:
    agent = _change_agent(settings, lambda agents: agents.disable(args.username))
    print(f"{agent.username} can no longer log in; its console sessions have ended")
    return 0


def cmd_agents_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.handoff import Agents, QueueError
    from bot.handoff.passwords import WeakPasswordError

    engine = require_schema(settings)
    gazetteer = Gazetteer.from_dir(settings.gazetteer_dir)
    regions = []
    for name in codes(args.regions):
        try:
            regions.append(gazetteer.region(name).code)
        except UnknownPlaceError as exc:
            raise CliError(str(exc)) from None
    try:
        agent = Agents(make_session_factory(engine)).add(
            args.username,
            _read_password(),
            display_name=args.name,
            role=args.role,
            languages=codes(args.languages),
            region_codes=regions,
            capacity=args.capacity,
        )
    except (QueueError, WeakPasswordError) as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    scope = ", ".join(agent.region_codes) or "all regions"
    print(
        f"added {agent.role} {agent.username} ({agent.display_name}): "
        f"languages {' '.join(agent.languages)}; {scope}; up to {agent.capacity} chats"
    )
    return 0
