"""``python -m bot.gateway``: the command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from bot.gateway.server import run
from bot.gateway.settings import Address, ConfigError, GatewaySettings, Pool
from bot.logs import configure_logging

EXAMPLE = """\
example:
  python -m bot.gateway \\
    --pool rasa=127.0.0.1:5005 http://127.0.0.1:5101,http://127.0.0.1:5102 \\
    --pool actions=127.0.0.1:5055 http://127.0.0.1:5151,http://127.0.0.1:5152 \\
    --health-path actions=/health --admin 127.0.0.1:9105

environment:
  DIGITUKI_METRICS_TOKEN   when set, the admin /metrics needs "Authorization: Bearer <token>"
"""


def build_parser() -> argparse.ArgumentParser:
    """The options, each with its help text and default."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.gateway",
        description=(
            "Reverse proxy and load balancer in front of Rasa and action server replicas: "
            "round-robin among healthy upstreams, HTTP and WebSockets."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pool",
        nargs=2,
        action="append",
        required=True,
        metavar=("NAME=HOST:PORT", "URL[,URL...]"),
        help="a pool: its name, where it listens and its upstreams' base URLs (repeat per pool)",
    )
    parser.add_argument(
        "--health-path",
        action="append",
        default=[],
        metavar="NAME=/PATH",
        help="what the health check GETs on the pool's upstreams (default: /)",
    )
    parser.add_argument(
        "--admin",
        metavar="HOST:PORT",
        help="where to serve /health, /ready and /metrics (default: not served)",
    )
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long to wait for an upstream's answer before 504 (default: %(default)s)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long connecting to an upstream may take (default: %(default)s)",
    )
    parser.add_argument(
        "--health-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="time between health checks of an upstream (default: %(default)s)",
    )
    parser.add_argument(
        "--health-timeout",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="a health check slower than this counts as failed (default: %(default)s)",
    )
    parser.add_argument(
        "--health-fails",
        type=int,
        default=3,
        metavar="N",
        help="failed health checks in a row (late or 5xx) before an upstream leaves rotation; "
        "a refused connection takes it out at once (default: %(default)s)",
    )
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=4.0,
        metavar="MB",
        help="larger request bodies get 413 (default: %(default)s)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=400,
        metavar="N",
        help="open upstream connections at most, all pools together (default: %(default)s)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="on SIGTERM, how long requests in flight may still take (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="(default: %(default)s)",
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> GatewaySettings:
    """The settings the parsed arguments describe; :class:`ConfigError` when they are wrong."""
    health_paths: dict[str, str] = {}
    for item in args.health_path:
        name, equals, path = item.partition("=")
        if not equals:
            raise ConfigError(f"--health-path {item!r} is not NAME=/PATH")
        if name.strip() in health_paths:
            raise ConfigError(f"--health-path for pool {name.strip()!r} is given twice")
        health_paths[name.strip()] = path.strip()
    pools = tuple(
        Pool.parse(listen, upstreams, health_paths.get(listen.partition("=")[0].strip(), "/"))
        for listen, upstreams in args.pool
    )
    unknown = sorted(set(health_paths) - {pool.name for pool in pools})
    if unknown:
        raise ConfigError(f"--health-path for a pool that is not given: {', '.join(unknown)}")
    return GatewaySettings(
        pools=pools,
        admin=Address.parse(args.admin) if args.admin else None,
        upstream_timeout=args.upstream_timeout,
        connect_timeout=args.connect_timeout,
        health_interval=args.health_interval,
        health_timeout=args.health_timeout,
        health_fails=args.health_fails,
        max_body_bytes=round(args.max_body_mb * 1024 * 1024),
        max_connections=args.max_connections,
        shutdown_timeout=args.shutdown_timeout,
        # From the environment, not the command line (where `ps` would show it).
        metrics_token=os.environ.get("DIGITUKI_METRICS_TOKEN", ""),
    )


def parse_settings(argv: Sequence[str] | None = None) -> tuple[GatewaySettings, str]:
    """Settings and log level from the command line; exits with usage on a mistake."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return settings_from_args(args), args.log_level
    except ConfigError as error:
        parser.error(str(error))


def main(argv: Sequence[str] | None = None) -> None:
    """Parses the command line and runs the gateway until SIGTERM or SIGINT."""
    settings, log_level = parse_settings(argv)
    configure_logging("gateway", log_level)  # masked; JSON with DIGITUKI_LOG_FORMAT=json
    try:
        run(settings)
    except OSError as error:  # a port taken, an address not ours
        raise SystemExit(f"gateway: {error}") from None
