"""Counting and timing every action the action server runs (``digituki_action_*``)."""

from __future__ import annotations

import functools
import time
from typing import Any

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection

from bot.observability import ACTION_RUNS, ACTION_SECONDS


def count_action_runs() -> None:
    """Wraps ``ActionExecutor.run`` of rasa_sdk 3.6 to count and time each action (once).

    A patch, because rasa_sdk 3.6 offers no hook around an action: ``create_app``
    makes its own ``ActionExecutor`` before our package is imported, and its plugin
    hook needs a top-level ``rasa_sdk_plugins`` package and only sees the Sanic app.
    ``run`` is the one place that knows the action, whether it is registered and
    how it ended: ``ok``; ``rejected`` (the action declined, Rasa predicts another);
    ``error`` (not registered, or it raised). An unregistered name is counted as
    ``unknown``: the name comes from the request and must not make new series.
    """
    if getattr(ActionExecutor.run, "_counts_action_runs", False):
        return
    run_action = ActionExecutor.run

    @functools.wraps(run_action)
    async def run(self: ActionExecutor, action_call: dict[str, Any]) -> dict[str, Any] | None:
        name = action_call.get("next_action")
        if not name:
            return await run_action(self, action_call)
        label = name if name in self.actions else "unknown"
        outcome = "error"
        started = time.perf_counter()
        try:
            result = await run_action(self, action_call)
            outcome = "ok"
            return result
        except ActionExecutionRejection:
            outcome = "rejected"
            raise
        finally:
            ACTION_RUNS.labels(label, outcome).inc()
            ACTION_SECONDS.labels(label).observe(time.perf_counter() - started)

    run._counts_action_runs = True  # type: ignore[attr-defined]
    ActionExecutor.run = run
