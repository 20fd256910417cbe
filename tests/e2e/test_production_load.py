"""Acceptance of the production profile under load: 200 widget conversations for 2 minutes.

The same load on two Rasa replicas (and two action servers) and on one: nothing
lost, nothing twice, no 5xx, and every answered message stored through RabbitMQ.
The figures are printed (they are also what ``make bench`` prints). Smaller runs:
``DIGITUKI_LOAD_USERS`` and ``DIGITUKI_LOAD_SECONDS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench.conversations import percentile
from bench.production import STREAM_ONLY, production_stack
from bench.replicas import load_with_worker, storage_problems, storage_summary
from bench.widget_load import run_on_standard_loop
from tests.conftest import FIXTURES
from tests.e2e.production_services import require_production_services

pytestmark = pytest.mark.e2e

USERS = int(os.environ.get("DIGITUKI_LOAD_USERS", "200"))
SECONDS = float(os.environ.get("DIGITUKI_LOAD_SECONDS", "120"))


def test_two_hundred_conversations_for_two_minutes_lose_nothing(
    trained_model: Path,
    tmp_path: Path,
    gazetteer: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_production_services()
    figures = {}
    for replicas in (2, 1):
        with production_stack(
            trained_model, tmp_path / f"replicas-{replicas}", gazetteer,
            FIXTURES / "search_providers.yml",
            rasa_replicas=replicas, action_replicas=replicas, extra_env=STREAM_ONLY,
        ) as stack:  # fmt: skip
            report, found = run_on_standard_loop(load_with_worker(stack, USERS, SECONDS))
        figures[replicas] = report
        summary = report.summary()
        with capsys.disabled():
            print(f"\n  {replicas} replica(s): {summary}")
            print(f"  {replicas} replica(s): {storage_summary(report, found)}")
            if report.refused_connections:
                print(haproxy_warnings(tmp_path / f"replicas-{replicas}"))
        assert report.turns and len(report.queued) > 0  # the load did happen, people queued
        assert not report.lost, (summary, report.lost[:3])
        assert not report.refused, (summary, report.refused[:3])
        assert (report.duplicated, report.missing, report.server_errors) == (0, 0, 0), summary
        assert not report.refused_connections and not report.failures, summary
        assert set(storage_problems(report, found).values()) == {0}
    two, one = figures[2], figures[1]
    with capsys.disabled():
        print(
            f"  two replicas / one: throughput x{two.messages_per_s / one.messages_per_s:.2f}, "
            f"p50 {percentile(two.latencies(), 50):.2f} s / {percentile(one.latencies(), 50):.2f} s, "
            f"p95 {percentile(two.latencies(), 95):.2f} s / {percentile(one.latencies(), 95):.2f} s"
        )


def haproxy_warnings(folder: Path, last: int = 20) -> str:
    """HAProxy's last notices (replicas leaving rotation) and failed requests, to explain
    refused connections."""
    log = folder / "haproxy.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    warnings = [
        line
        for line in lines
        if not line.startswith("{") or '"status":5' in line or '"status":-1' in line
    ]
    return "\n".join(["  HAProxy's last notices and failed requests:", *warnings[-last:]])
