"""What the gateway serves: its pools of upstreams, listen addresses and limits.

Everything is validated when it is built, from the command line or from Python, so a
typo in an address fails at start with a message that names the pool and the value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_POOL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class ConfigError(ValueError):
    """A setting of the gateway is wrong; the message says which and why."""


@dataclass(frozen=True)
class Address:
    """A listen address. Port 0 takes any free port (tests)."""

    host: str
    port: int

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError(f"{self}: the host is missing")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"{self}: the port must be between 0 and 65535")

    @classmethod
    def parse(cls, text: str) -> Address:
        """``HOST:PORT``, with an IPv6 host in brackets (``[::1]:5005``)."""
        host, colon, port = text.strip().rpartition(":")
        if not colon or not port.isdigit():
            raise ConfigError(f"{text!r} is not HOST:PORT")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def normalize_upstream_url(text: str) -> str:
    """``scheme://host[:port]`` of an upstream, or :class:`ConfigError` saying what is wrong."""
    value = text.strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise ConfigError(f"{value!r} is not an upstream URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{value!r} is not an upstream URL: the scheme must be http or https")
    if not parts.hostname:
        raise ConfigError(f"{value!r} is not an upstream URL: the host is missing")
    if parts.username or parts.password:
        raise ConfigError(f"{value!r} is not an upstream URL: no credentials in it, please")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"{value!r} is not an upstream URL: give only scheme://host:port "
            "(requests keep their own path)"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


@dataclass(frozen=True)
class Pool:
    """Replicas of one service behind one listen address.

    ``upstreams`` are base URLs (``http://127.0.0.1:5101``); ``health_path`` is what
    the active health check GETs on each (any status below 500 counts as up).
    """

    name: str
    listen: Address
    upstreams: tuple[str, ...]
    health_path: str = "/"

    def __post_init__(self) -> None:
        if not _POOL_NAME.match(self.name):
            raise ConfigError(
                f"pool name {self.name!r}: use lower-case letters, digits, '-' and '_' "
                "(it is a metrics label)"
            )
        if not self.upstreams:
            raise ConfigError(f"pool {self.name!r} has no upstreams")
        try:
            urls = tuple(normalize_upstream_url(url) for url in self.upstreams)
        except ConfigError as error:
            raise ConfigError(f"pool {self.name!r}: {error}") from None
        for url in urls:
            if urls.count(url) > 1:
                raise ConfigError(f"pool {self.name!r}: upstream {url} is listed twice")
        object.__setattr__(self, "upstreams", urls)
        if not self.health_path.startswith("/") or any(c.isspace() for c in self.health_path):
            raise ConfigError(
                f"pool {self.name!r}: health path {self.health_path!r} must start with '/'"
            )

    @classmethod
    def parse(cls, name_and_listen: str, upstreams: str, health_path: str = "/") -> Pool:
        """From the command line's ``NAME=HOST:PORT`` and ``URL[,URL...]``."""
        name, equals, listen = name_and_listen.partition("=")
        if not equals:
            raise ConfigError(f"{name_and_listen!r} is not NAME=HOST:PORT")
        try:
            address = Address.parse(listen)
        except ConfigError as error:
            raise ConfigError(f"pool {name!r}: {error}") from None
        urls = tuple(url for url in upstreams.split(",") if url.strip())
        return cls(name.strip(), address, urls, health_path)


@dataclass(frozen=True)
class GatewaySettings:
    """The pools and the limits every pool shares. Times are in seconds."""

    pools: tuple[Pool, ...]
    admin: Address | None = None
    upstream_timeout: float = 120.0  # Rasa can take long under load
    connect_timeout: float = 5.0
    health_interval: float = 1.0
    health_timeout: float = 2.0
    health_fails: int = 3
    """Late or 5xx health checks in a row before an upstream leaves rotation."""
    max_body_bytes: int = 4 * 1024 * 1024
    max_connections: int = 400
    websocket_heartbeat: float = 30.0
    shutdown_timeout: float = 15.0
    metrics_token: str = field(default="", repr=False)
    """With a token, the admin ``/metrics`` needs ``Authorization: Bearer <token>``."""

    def __post_init__(self) -> None:
        if not self.pools:
            raise ConfigError("no pools: give at least one --pool")
        names = [pool.name for pool in self.pools]
        for name in names:
            if names.count(name) > 1:
                raise ConfigError(f"pool {name!r} is given twice")
        listens = [(f"pool {pool.name!r}", pool.listen) for pool in self.pools]
        if self.admin is not None:
            listens.append(("the admin site", self.admin))
        for index, (who, address) in enumerate(listens):
            for other, taken in listens[:index]:
                if _same_port(address, taken):
                    raise ConfigError(f"{who} and {other} both listen on port {address.port}")
        for name in (
            "upstream_timeout",
            "connect_timeout",
            "health_interval",
            "health_timeout",
            "websocket_heartbeat",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number of seconds, not {value}")
        if not (math.isfinite(self.shutdown_timeout) and self.shutdown_timeout >= 0):
            raise ConfigError(f"shutdown_timeout must not be negative, not {self.shutdown_timeout}")
        if self.health_fails < 1:
            raise ConfigError(f"health_fails must be at least 1, not {self.health_fails}")
        if self.max_body_bytes < 1:
            raise ConfigError(f"max_body_bytes must be positive, not {self.max_body_bytes}")
        if self.max_connections < 1:
            raise ConfigError(f"max_connections must be positive, not {self.max_connections}")

    def pool(self, name: str) -> Pool:
        """The pool called ``name``."""
        for pool in self.pools:
            if pool.name == name:
                return pool
        raise KeyError(name)


def _same_port(one: Address, other: Address) -> bool:
    # Two sites on one port clash when the hosts are equal or either is a wildcard.
    if one.port == 0 or one.port != other.port:
        return False
    return one.host == other.host or bool({one.host, other.host} & _WILDCARD_HOSTS)
