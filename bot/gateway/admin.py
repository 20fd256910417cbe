"""The gateway's own site: ``/health``, ``/ready`` and ``/metrics``.

``/health`` says the process answers. ``/ready`` says every pool has at least one
healthy upstream; an orchestrator sends traffic only then. ``/metrics`` is
Prometheus' text format from the gateway's own registry; with a metrics token
(``DIGITUKI_METRICS_TOKEN``, as for every other process) it needs
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.gateway.metrics import GatewayMetrics
from bot.gateway.upstreams import UpstreamGroup
from bot.observability import bearer_matches

GROUPS = web.AppKey("gateway_groups", tuple[UpstreamGroup, ...])
METRICS = web.AppKey("gateway_metrics", GatewayMetrics)
TOKEN = web.AppKey("gateway_metrics_token", str)


def build_admin_app(
    groups: Sequence[UpstreamGroup], metrics: GatewayMetrics, metrics_token: str = ""
) -> web.Application:
    """The admin application; it reads the pools' health, it changes nothing."""
    app = web.Application()
    app[GROUPS] = tuple(groups)
    app[METRICS] = metrics
    app[TOKEN] = metrics_token
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics_text)
    return app


async def health(_: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """200 when every pool has an upstream that takes requests (healthy, or busy: see
    :mod:`bot.gateway.upstreams`), else 503 naming the pools that have none."""
    pools = {
        group.name: {
            "healthy": len(group.healthy()),
            "busy": len(group.busy()),
            "upstreams": len(group.upstreams),
        }
        for group in request.app[GROUPS]
    }
    without = [name for name, counts in pools.items() if counts["healthy"] + counts["busy"] == 0]
    if without:
        return web.json_response(
            {"status": "unavailable", "pools_without_upstream": without, "pools": pools},
            status=503,
        )
    return web.json_response({"status": "ready", "pools": pools})


async def metrics_text(request: web.Request) -> web.Response:
    """The gateway's metrics in Prometheus' text format."""
    token = request.app[TOKEN]
    if token and not bearer_matches(request.headers.get("Authorization", ""), token):
        return web.json_response({"error": "unauthorized"}, status=401)
    body = await asyncio.to_thread(generate_latest, request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
