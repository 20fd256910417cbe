"""HAProxy in front of the production profile's replicas, on one machine (``make run-prod``).

The configuration is the Compose stack's, ``deploy/haproxy/haproxy.cfg``: one file
says how requests are spread, retried and health-checked wherever HAProxy runs. Here
only its ``server`` lines change, to the local replicas' ports (:func:`local_config`);
the listen addresses and the metrics token come from the environment
(:func:`haproxy_env`), as the file's header describes.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config import PROJECT_ROOT, ConfigError

CONFIG_TEMPLATE = PROJECT_ROOT / "deploy" / "haproxy" / "haproxy.cfg"


@dataclass(frozen=True)
class Upstream:
    """One replica: its name in HAProxy (and its metrics) and its address."""

    name: str
    address: str

    def server_line(self) -> str:
        return f"    server {self.name} {self.address} check"


def local_config(template: str, backends: Mapping[str, Sequence[Upstream]]) -> str:
    """``template`` with the ``server`` lines of each backend replaced by ``backends``'.

    Every backend of the template must be given and every given one must be in the
    template, so the two cannot drift apart unnoticed.
    """
    lines: list[str] = []
    section: str | None = None
    seen: set[str] = set()
    for line in template.splitlines():
        stripped = line.strip()
        if line and not line[0].isspace() and not stripped.startswith("#"):
            words = stripped.split()
            section = words[1] if words[0] == "backend" and len(words) > 1 else None
        if section is not None and stripped.startswith("server "):
            if section not in backends:
                raise ConfigError(f"HAProxy backend {section!r} has no local replicas")
            if section not in seen:
                seen.add(section)
                lines.extend(upstream.server_line() for upstream in backends[section])
            continue
        lines.append(line)
    missing = sorted(set(backends) - seen)
    if missing:
        raise ConfigError(f"the HAProxy configuration has no servers of {', '.join(missing)}")
    empty = [name for name, upstreams in backends.items() if not upstreams]
    if empty:
        raise ConfigError(f"no replicas for the HAProxy backend(s) {', '.join(empty)}")
    return "\n".join(lines) + "\n"


def haproxy_env(rasa: str, actions: str, admin: str) -> dict[str, str]:
    """The listen addresses ``HOST:PORT`` the configuration reads from the environment."""
    return {
        "DIGITUKI_HAPROXY_RASA_BIND": rasa,
        "DIGITUKI_HAPROXY_ACTION_BIND": actions,
        "DIGITUKI_HAPROXY_ADMIN_BIND": admin,
    }


def haproxy_executable() -> str:
    """Where HAProxy is installed, or :class:`ConfigError` saying how to install it."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise ConfigError(
            "the production profile needs HAProxy in front of its replicas: "
            "install it (Debian/Ubuntu: apt-get install haproxy) or run the Compose stack"
        )
    return found


def haproxy_command(config: Path) -> list[str]:
    """HAProxy in the foreground, its log on standard output."""
    return [haproxy_executable(), "-db", "-f", str(config)]


def write_local_config(path: Path, backends: Mapping[str, Sequence[Upstream]]) -> Path:
    """Writes :func:`local_config` of the shared template to ``path``."""
    path.write_text(local_config(CONFIG_TEMPLATE.read_text(), backends))
    return path
