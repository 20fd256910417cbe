"""Readiness and Prometheus metrics of the web service (``/ready``, ``/metrics``).

``/health`` says the process answers; ``/ready`` also that its database does, so a
load balancer sends no one to a replica that cannot serve. ``/metrics`` gives, in
Prometheus' text format: requests by route pattern (never the path itself, which may
hold ids), method and status; their latency; errors; and the handoff queue's length
by language. Nothing personal is in a label. With ``DIGITUKI_METRICS_TOKEN`` set,
``/metrics`` needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.handoff import HandoffQueue
from bot.observability import bearer_matches
from bot.web.api_common import Handler
from bot.web.keys import ENGINE, QUEUE, SETTINGS

REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
REQUESTS_KEY = web.AppKey("metrics_requests", PromCounter)
LATENCY_KEY = web.AppKey("metrics_latency", Histogram)


class QueueCollector:
    """The handoff queue's length by language, read when Prometheus scrapes."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "digituki_handoff_waiting", "Requests waiting for a worker", labels=["language"]
        )
        queue: HandoffQueue | None = self._app.get(QUEUE)
        if queue is not None:
            try:
                waiting = Counter(r.language for r in queue.waiting())
            except SQLAlchemyError:
                waiting = Counter()
            for language in ("fi", "sv", "en"):
                gauge.add_metric([language], waiting.get(language, 0))
        yield gauge


def setup_metrics(app: web.Application) -> None:
    """Adds the registry, the request middleware and the two routes."""
    registry = CollectorRegistry()
    app[REGISTRY_KEY] = registry
    app[REQUESTS_KEY] = PromCounter(
        "digituki_http_requests",
        "HTTP requests by route pattern, method and status",
        ["route", "method", "status"],
        registry=registry,
    )
    app[LATENCY_KEY] = Histogram(
        "digituki_http_request_seconds",
        "Time to answer, by route pattern",
        ["route"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )
    registry.register(QueueCollector(app))
    app.middlewares.append(count_requests)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        route = _route(request)
        request.app[REQUESTS_KEY].labels(route, request.method, str(status)).inc()
        request.app[LATENCY_KEY].labels(route).observe(time.perf_counter() - started)


async def ready(request: web.Request) -> web.Response:
    """Readiness: the database answers (within two seconds)."""

    def ping() -> None:
        with request.app[ENGINE].connect() as connection:
            connection.execute(text("select 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), 2.0)
    except (SQLAlchemyError, asyncio.TimeoutError, OSError):
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    return web.json_response({"status": "ready", "database": "up"})


async def metrics(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].metrics_token
    if token and not bearer_matches(request.headers.get("Authorization", ""), token):
        return web.json_response({"error": "unauthorized"}, status=401)
    body = await asyncio.to_thread(generate_latest, request.app[REGISTRY_KEY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
