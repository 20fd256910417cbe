"""Settings read once from the environment and passed in where needed."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Every tunable of the application, with the defaults of the embedded profile."""

    database_url: str = "sqlite:///digituki.db"
    data_dir: Path = DEFAULT_DATA_DIR
    timezone: str = "Europe/Helsinki"
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    rasa_url: str = "http://127.0.0.1:5005"
    public_rasa_url: str = ""
    """Where browsers reach the Rasa server's widget channel (the demo pages embed it), when
    that is not ``rasa_url``: behind HAProxy or an ingress the web service calls an internal
    address. Empty: ``rasa_url``."""
    rasa_token: str = ""
    """Token of the Rasa server's HTTP API (the web service writes workers' messages there)."""
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    log_level: str = "INFO"
    log_format: str = "text"
    """``text`` or ``json`` (one JSON object per line: the production profile's logs)."""
    widget_origins: str = ""
    """Comma-separated origins of the pages that may embed the widget; empty: the web service's."""
    handoff_expire_minutes: int = 120
    """A request nobody takes in this time is marked expired (it stays visible)."""
    console_session_hours: int = 12
    """A console login lasts this long."""
    handoff_hours: str = "Mo-Fr 09:00-16:00; PH off"
    """When workers answer live (``opening_hours`` syntax, local time); otherwise call-backs."""
    handoff_exceptions: str = ""
    """Dated exceptions to the hours: ``2026-12-24..2026-12-26 off; 2026-12-31 09:00-12:00``."""
    messenger_page_token: str = ""
    """The Facebook Page's access token; with the app secret and verify token it turns Messenger on."""
    messenger_app_secret: str = ""
    """The Facebook app's secret: every webhook delivery is signed with it."""
    messenger_verify_token: str = ""
    """Our word for the platform's webhook subscription check (any long random string)."""
    messenger_get_started_payload: str = "GET_STARTED"
    """The payload of the Page's Get Started button: its postback greets (``/greet``)."""
    graph_api_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v24.0"
    metrics_token: str = ""
    """When set, ``/metrics`` of the web service needs ``Authorization: Bearer <token>``."""
    redis_url: str = ""
    rabbitmq_url: str = ""
    """RabbitMQ for the production profile: the Rasa replicas' events go to the events worker."""
    """Redis for the production profile: the widget's outboxes shared by the Rasa replicas."""
    trust_proxy: bool = False
    """Behind a TLS-terminating proxy: trust its ``X-Forwarded-Proto`` (Secure cookies) and ``X-Forwarded-For``."""
    proxy_hops: int = 1
    """With ``trust_proxy``: how many proxies stand in front of the web service; the client's
    address is the ``X-Forwarded-For`` entry the outermost one appended (n-th from the right)."""

    @property
    def allowed_widget_origins(self) -> list[str]:
        """Origins whose pages may open the widget's connection."""
        listed = [o.strip().rstrip("/") for o in self.widget_origins.split(",") if o.strip()]
        own = [f"http://{self.web_host}:{self.web_port}"]
        if self.web_host in ("127.0.0.1", "0.0.0.0"):
            own.append(f"http://localhost:{self.web_port}")
        return listed or own

    @property
    def gazetteer_dir(self) -> Path:
        """Folder holding ``regions.csv`` and ``municipalities.csv``."""
        return self.data_dir / "geo"

    @property
    def authorities_file(self) -> Path:
        """The authorities' own service channels by topic."""
        return self.data_dir / "authorities.yml"


def _flag(raw: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off``."""
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _log_format(raw: str) -> str:
    if raw not in ("text", "json"):
        raise ValueError("expected text or json")
    return raw


def _proxy_hops(raw: str) -> int:
    """A whole number of proxies, at least one."""
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError("expected the number of trusted proxies, 1 or more")
    return int(raw)


def _graph_version(raw: str) -> str:
    """``v24.0``: the Graph API version the Messenger channel calls."""
    if not re.fullmatch(r"v\d{1,3}\.\d{1,2}", raw):
        raise ValueError("expected a Graph API version like v24.0")
    return raw


# name of the environment variable -> (field, parser)
_ENV: dict[str, tuple[str, Callable[[str], object]]] = {
    "DIGITUKI_DATABASE_URL": ("database_url", str),
    "DIGITUKI_DATA_DIR": ("data_dir", Path),
    "DIGITUKI_TIMEZONE": ("timezone", str),
    "DIGITUKI_WEB_HOST": ("web_host", str),
    "DIGITUKI_WEB_PORT": ("web_port", int),
    "DIGITUKI_RASA_URL": ("rasa_url", str),
    "DIGITUKI_PUBLIC_RASA_URL": ("public_rasa_url", str),
    "DIGITUKI_RASA_TOKEN": ("rasa_token", str),
    "DIGITUKI_ACTION_SERVER_URL": ("action_server_url", str),
    "DIGITUKI_LOG_LEVEL": ("log_level", str),
    "DIGITUKI_LOG_FORMAT": ("log_format", _log_format),
    "DIGITUKI_WIDGET_ORIGINS": ("widget_origins", str),
    "DIGITUKI_HANDOFF_EXPIRE_MINUTES": ("handoff_expire_minutes", int),
    "DIGITUKI_CONSOLE_SESSION_HOURS": ("console_session_hours", int),
    "DIGITUKI_HANDOFF_HOURS": ("handoff_hours", str),
    "DIGITUKI_HANDOFF_EXCEPTIONS": ("handoff_exceptions", str),
    "DIGITUKI_TRUST_PROXY": ("trust_proxy", _flag),
    "DIGITUKI_PROXY_HOPS": ("proxy_hops", _proxy_hops),
    "DIGITUKI_REDIS_URL": ("redis_url", str),
    "DIGITUKI_RABBITMQ_URL": ("rabbitmq_url", str),
    "DIGITUKI_METRICS_TOKEN": ("metrics_token", str),
    "DIGITUKI_MESSENGER_PAGE_TOKEN": ("messenger_page_token", str),
    "DIGITUKI_MESSENGER_APP_SECRET": ("messenger_app_secret", str),
    "DIGITUKI_MESSENGER_VERIFY_TOKEN": ("messenger_verify_token", str),
    "DIGITUKI_MESSENGER_GET_STARTED_PAYLOAD": ("messenger_get_started_payload", str),
    "DIGITUKI_GRAPH_API_URL": ("graph_api_url", str),
    "DIGITUKI_GRAPH_API_VERSION": ("graph_api_version", _graph_version),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from environment variables; unset or empty ones keep defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, (field, parse) in _ENV.items():
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            values[field] = parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r}: {exc}") from None
    return Settings(**values)  # type: ignore[arg-type]
