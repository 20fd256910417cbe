"""Held-out quality floors per language (issue: the trilingual assistant, acceptance 2 and 3)."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import PROJECT_ROOT

pytestmark = pytest.mark.e2e

FLOORS = {
    "intent_accuracy": 0.92,
    "intent_macro_f1": 0.90,
    "municipality_accuracy": 0.95,
    "topic_recall": 0.90,
    "detection_accuracy": 0.97,
}


@pytest.fixture(scope="module")
def reports(trained_model):  # type: ignore[no-untyped-def]
    from bot.nlu.evaluate import evaluate, print_report

    result = asyncio.run(evaluate(trained_model, PROJECT_ROOT / "data" / "nlu_test"))
    print_report(result)
    return result


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_held_out_floor(reports, language, metric):
    report = reports[language]
    assert report.messages >= 150
    value = getattr(report, metric)
    assert value >= FLOORS[metric], f"{language} {metric} {value:.3f} < {FLOORS[metric]}"
