"""The report facts in Rasa's events: what the reports count, never what anyone wrote.

:func:`facts_of` keeps that someone wrote (``message``), the conversation's language
(``language``), each need recognised (``need``, a topic), each search with what it
found (``search``: municipality, region, language and form asked, how many results,
the nearest in-person one's distance), and feedback (``feedback``, ``comment``,
masked). Conversations are keyed by a one-way hash (:func:`conversation_key`).
:func:`bot.conversations.store.record_event` stores them in ``analytics_events``;
:mod:`bot.reports.analytics` builds the reports from them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bot import vocab
from bot.privacy import redact_pii

RATINGS = ("up", "down")
MAX_COMMENT = 500


def conversation_key(conversation_id: str) -> str:
    return hashlib.sha256(conversation_id.encode()).hexdigest()[:32]


def facts_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The report facts in one Rasa event (as the event broker gets it); often none."""
    conversation = event.get("sender_id")
    timestamp = event.get("timestamp")
    if not isinstance(conversation, str) or not isinstance(timestamp, int | float):
        return []
    base = {"conversation_key": conversation_key(conversation), "timestamp": float(timestamp)}
    kind = event.get("event")
    if kind == "user":
        text = event.get("text")
        if not isinstance(text, str) or not text.strip() or text.startswith("/session_start"):
            return []
        facts = [{**base, "kind": "message"}]
        parse = event.get("parse_data")
        parse = parse if isinstance(parse, dict) else {}
        intent = parse.get("intent")
        intent = intent if isinstance(intent, dict) else {}
        entities = parse.get("entities")
        entities = entities if isinstance(entities, list) else []
        ratings = [
            e.get("value")
            for e in entities
            if isinstance(e, dict) and e.get("entity") == "rating" and e.get("value") in RATINGS
        ]
        if intent.get("name") == "feedback" and ratings:
            facts.append({**base, "kind": "feedback", "rating": ratings[-1]})
        return facts
    if kind != "slot":
        return []
    name, value = event.get("name"), event.get("value")
    if name == "language" and value in vocab.LANGUAGES:
        return [{**base, "kind": "language", "language": value}]
    if name == "topic" and isinstance(value, list):
        return [
            {**base, "kind": "need", "topic": topic}
            for topic in dict.fromkeys(value)
            if topic in vocab.TOPICS
        ]
    if name == "search_outcome" and isinstance(value, dict):
        return [{**base, "kind": "search", **_search_columns(value)}]
    if name == "feedback_comment" and isinstance(value, str) and value.strip() not in ("", "-"):
        return [{**base, "kind": "comment", "comment": redact_pii(value)[:MAX_COMMENT]}]
    return []


def _search_columns(value: dict[str, Any]) -> dict[str, Any]:
    def code(key: str, length: int) -> str | None:
        found = value.get(key)
        return (
            found if isinstance(found, str) and found.isdigit() and len(found) <= length else None
        )

    form = value.get("form")
    results = value.get("results")
    nearest = value.get("nearest_km")
    topics = [t for t in value.get("topics") or [] if t in vocab.TOPICS]
    return {
        "topic": topics[0] if len(topics) == 1 else None,
        "municipality_code": code("municipality", 3),
        "region_code": code("region", 2),
        "language": value.get("language") if value.get("language") in vocab.LANGUAGES else None,
        "support_form": form if isinstance(form, str) and len(form) <= 12 else None,
        "results": results if isinstance(results, int) and results >= 0 else 0,
        "nearest_km": float(nearest) if isinstance(nearest, int | float) else None,
        "language_relaxed": bool(value.get("language_relaxed")),
    }
