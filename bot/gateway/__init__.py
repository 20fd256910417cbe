"""The gateway: one entry point in front of several Rasa and action server replicas.

A small reverse proxy and load balancer (there is no nginx or haproxy on the
machine). Each pool of upstreams gets a site of its own; requests go round-robin to
the upstreams that are healthy, by active health checks every second and passive
detection of failed connections. HTTP and WebSockets (the widget's channel) pass
through; the admin site serves ``/health``, ``/ready`` and ``/metrics``.

Modules: ``settings`` (pools, addresses, validation), ``upstreams`` (health and
round-robin), ``headers`` (what crosses), ``proxy`` (HTTP and WebSocket forwarding),
``admin`` (the admin site), ``metrics``, ``server`` (start and stop), ``cli``.
Run ``python -m bot.gateway --help``.
"""

from bot.gateway.metrics import GatewayMetrics
from bot.gateway.server import Gateway, build_pool_app, run, serve
from bot.gateway.settings import Address, ConfigError, GatewaySettings, Pool

__all__ = [
    "Address",
    "ConfigError",
    "Gateway",
    "GatewayMetrics",
    "GatewaySettings",
    "Pool",
    "build_pool_app",
    "run",
    "serve",
]
