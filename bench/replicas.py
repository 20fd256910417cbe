"""The production profile under a load of widget conversations: two replicas against one.

Run with ``make bench`` (or ``python -m bench.replicas``). It starts the production
profile (PostgreSQL, Redis, RabbitMQ on this machine) twice, with two Rasa replicas
and two action servers and then with one of each, puts the same load on each
(``--users`` widget conversations at once for ``--seconds``, see
``bench.widget_load``) and prints what the people saw: messages answered, refused,
lost, duplicated; p50/p95 latency; throughput; and the ratio of the two. After each
run it also counts what reached the database through RabbitMQ and the events worker.
It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench.conversations import percentile
from bench.production import ORIGIN, STREAM_ONLY, ProductionStack, Worker, production_stack
from bench.widget_load import LoadReport, run_load, run_on_standard_loop
from bot.config import DEFAULT_DATA_DIR
from bot.db.engine import make_engine
from bot.geo import Gazetteer
from bot.training import ensure_model

PROVIDERS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "search_providers.yml"


@dataclass
class Stored:
    """What the database holds after a run, per conversation of the run."""

    user_messages: dict[str, int]
    """Conversation -> the person's messages in ``conversation_events``."""
    handoffs: dict[str, int]
    """Conversation -> requests to talk to a person."""
    repeated: dict[str, int]
    """Conversation -> the person's messages that are in it more than once (same message
    id: handled twice)."""


def stored(stack: ProductionStack, conversations: set[str]) -> Stored:
    """Counts what the events worker and the action servers stored for ``conversations``."""
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            counts = connection.execute(
                text(
                    "select conversation_id, count(*), count(*) - count(distinct message_id) "
                    "from conversation_events where sender = 'user' group by conversation_id"
                )
            ).all()
            messages = {c: n for c, n, _ in counts}
            repeated = {c: r for c, _, r in counts}
            handoffs = dict(
                connection.execute(
                    text(
                        "select conversation_id, count(*) from handoff_requests "
                        "group by conversation_id"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    return Stored(
        {c: messages.get(c, 0) for c in conversations},
        {c: handoffs.get(c, 0) for c in conversations},
        {c: repeated.get(c, 0) for c in conversations},
    )


async def settle(stack: ProductionStack, report: LoadReport, timeout_s: float = 300) -> Stored:
    """Waits until every answered message reached ``conversation_events``.

    Under a saturating load the events queue up (in the replicas and in RabbitMQ) and
    are stored after the load; this waits for that, until ``timeout_s`` or until nothing
    more arrives for 30 s. :attr:`LoadReport.settle_s` gets the time it took.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    answered: dict[str, int] = {}
    for turn in report.answered:
        answered[turn.conversation] = answered.get(turn.conversation, 0) + 1
    last_total, last_change = -1, started
    while True:
        found = await asyncio.to_thread(stored, stack, set(report.conversations))
        total = sum(found.user_messages.values())
        if total != last_total:
            last_total, last_change = total, loop.time()
        now = loop.time()
        if (
            all(found.user_messages[c] >= n for c, n in answered.items())
            or now - started > timeout_s
            or now - last_change > 30
        ):
            report.settle_s = now - started
            return found
        await asyncio.sleep(1)


async def load_with_worker(
    stack: ProductionStack, users: int, seconds: float
) -> tuple[LoadReport, Stored]:
    """The load, with a support worker at the console (people asking for one are queued)."""
    async with Worker(stack, "bench-worker"):
        report = await run_load(stack.widget_url, ORIGIN, users=users, duration_s=seconds)
        return report, await settle(stack, report)


def storage_problems(report: LoadReport, found: Stored) -> dict[str, int]:
    """What the database holds against what the people saw; all zero when nothing is lost.

    Every answered message is in ``conversation_events`` (through RabbitMQ and the events
    worker; with :data:`~bench.production.STREAM_ONLY`, through nothing else), none more
    often than it was sent nor handled twice; every conversation the bot told "you are in
    the queue" has exactly one request.
    """
    answered: dict[str, int] = {}
    for turn in report.answered:
        answered[turn.conversation] = answered.get(turn.conversation, 0) + 1
    return {
        "messages not stored": sum(max(n - found.user_messages[c], 0) for c, n in answered.items()),
        "messages stored more than sent": sum(
            max(found.user_messages[c] - n, 0) for c, n in report.conversations.items()
        ),
        "messages handled twice": sum(found.repeated.values()),
        "queued but no request": sum(1 for c in report.queued if found.handoffs[c] == 0),
        "requests twice": sum(1 for c in report.queued if found.handoffs[c] > 1),
    }


def storage_summary(report: LoadReport, found: Stored) -> str:
    problems = ", ".join(f"{k} {v}" for k, v in storage_problems(report, found).items())
    return (
        f"stored: {len(report.queued)} people queued for a worker; {problems}; "
        f"events arrived in the database until {report.settle_s:.0f} s after the load"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200, help="widgets open at once (200)")
    parser.add_argument("--seconds", type=float, default=120, help="length of each run (120)")
    args = parser.parse_args(argv)
    model = ensure_model()
    gazetteer = Gazetteer.from_dir(DEFAULT_DATA_DIR / "geo")
    results: dict[int, LoadReport] = {}
    print(f"production profile, {args.users} widget conversations for {args.seconds:.0f} s")
    for replicas in (2, 1):
        with tempfile.TemporaryDirectory() as folder, production_stack(
            model, Path(folder), gazetteer, PROVIDERS,
            rasa_replicas=replicas, action_replicas=replicas, extra_env=STREAM_ONLY,
        ) as stack:  # fmt: skip
            report, found = run_on_standard_loop(load_with_worker(stack, args.users, args.seconds))
        results[replicas] = report
        print(f"  {replicas} replica(s): {report.summary()}")
        print(f"  {replicas} replica(s): {storage_summary(report, found)}")
    two, one = results[2], results[1]
    ratio = two.messages_per_s / one.messages_per_s if one.messages_per_s else float("nan")
    p95 = percentile(two.latencies(), 95) / max(percentile(one.latencies(), 95), 1e-9)
    print(
        f"  two replicas / one: throughput x{ratio:.2f}, p95 latency x{p95:.2f} "
        f"(2 cores here: the replicas, action servers, HAProxy and load share them)"
    )


if __name__ == "__main__":
    main()
