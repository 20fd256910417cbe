"""The gateway's Prometheus metrics, in a registry of its own.

Labels hold the pool, the method, the status class and the upstream's base URL:
never a path or a query string, which may hold conversation ids or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """The method, or ``OTHER`` for anything unusual (a client must not grow the label set)."""
    return method if method in _METHODS else "OTHER"


def status_class(status: int) -> str:
    """``2xx`` for 200..299 and so on."""
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


@dataclass(frozen=True)
class GatewayMetrics:
    """Every metric the gateway keeps; :meth:`create` makes a fresh set."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    upstream_up: Gauge
    upstream_failures: Counter
    retries: Counter
    busy_picks: Counter
    websockets_open: Gauge

    @classmethod
    def create(cls) -> GatewayMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "digituki_gateway_requests",
                "Requests answered, by pool, method and status class",
                ["pool", "method", "status_class"],
                registry=registry,
            ),
            latency=Histogram(
                "digituki_gateway_request_seconds",
                "Time to answer an HTTP request (WebSockets not included), by pool",
                ["pool"],
                registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            ),
            upstream_up=Gauge(
                "digituki_gateway_upstream_up",
                "1 while the upstream counts as healthy, else 0",
                ["pool", "upstream"],
                registry=registry,
            ),
            upstream_failures=Counter(
                "digituki_gateway_upstream_failures",
                "Proxied requests that failed at an upstream, by kind: connect, reset (after the "
                "request was sent), timeout, handshake (an invalid WebSocket upgrade)",
                ["pool", "upstream", "kind"],
                registry=registry,
            ),
            retries=Counter(
                "digituki_gateway_retries",
                "Requests sent again to another upstream after a failure",
                ["pool"],
                registry=registry,
            ),
            busy_picks=Counter(
                "digituki_gateway_busy_picks",
                "Requests sent to a busy upstream (health checks late) because none was healthy",
                ["pool"],
                registry=registry,
            ),
            websockets_open=Gauge(
                "digituki_gateway_websockets_open",
                "WebSockets proxied right now",
                ["pool"],
                registry=registry,
            ),
        )

    def add_pool(self, pool: str, upstreams: tuple[str, ...]) -> None:
        """Shows the pool's series from the start, at zero, so dashboards have no gaps."""
        self.retries.labels(pool)
        self.busy_picks.labels(pool)
        self.websockets_open.labels(pool).set(0)
        for upstream in upstreams:
            self.upstream_up.labels(pool, upstream).set(0)
