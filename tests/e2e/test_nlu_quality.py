"""Held-out quality floors per language, measured honestly (``nlu_fallback`` is a miss).

The goal figures of the trilingual assistant and of "what a person sees and hears"
(floors below the goal where the goal is still open):
intent accuracy ≥ 0.95 and support-form accuracy ≥ 0.90 in each language, and a
municipality extractor that invents a place in at most 1 % of place-free messages.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.config import PROJECT_ROOT

pytestmark = pytest.mark.e2e

FLOORS = {
    "place_free_precision": 0.99,
    "intent_macro_f1": 0.90,
    "municipality_accuracy": 0.95,
    "topic_recall": 0.90,
    "detection_accuracy": 0.97,
}
INTENT_GOAL = 0.95
INTENT_FLOORS = {"fi": 0.945, "sv": 0.945, "en": 0.93}
FORM_GOAL = 0.90
FORM_FLOORS = {"fi": 0.835, "sv": 0.875, "en": 0.88}
"""Intent and support-form accuracy: the goals are 0.95 and 0.90 in every language. The held-out
set includes three fresh parts (``fresh*.yml``: messages written by someone who had seen
neither the training data nor the other held-out files), where the model does worst; these
floors sit about 0.01 under what the committed model reaches (intent fi 0.957, sv 0.954,
en 0.940; forms fi 0.848, sv 0.888, en 0.892), so that it cannot get worse unnoticed while
the goals are still open."""


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


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_intent_accuracy_floor(reports, language):
    report = reports[language]
    assert report.intent_accuracy >= INTENT_FLOORS[language], (
        f"{language} intent_accuracy {report.intent_accuracy:.3f} < {INTENT_FLOORS[language]} "
        f"(goal {INTENT_GOAL})"
    )


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_support_form_floor(reports, language):
    report = reports[language]
    assert report.form_count >= 40
    assert report.form_accuracy >= FORM_FLOORS[language], (
        f"{language} form_accuracy {report.form_accuracy:.3f} < {FORM_FLOORS[language]} "
        f"(goal {FORM_GOAL})"
    )


def test_the_place_free_set_is_large_and_varied(reports):
    """At least 5 000 place-free messages across the languages, each language well covered."""
    counts = {language: report.place_free_count for language, report in reports.items()}
    assert sum(counts.values()) >= 5000, counts
    assert min(counts.values()) >= 1000, counts
    assert all(report.form_count >= 40 for report in reports.values())
