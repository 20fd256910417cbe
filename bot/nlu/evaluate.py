"""Held-out evaluation of the NLU model, per language (``make evaluate``).

Reads ``data/nlu_test/<lang>/*.yml``, parses every message with the trained
model and reports intent accuracy and macro-F1, support-form accuracy,
municipality exact-value accuracy, topic value recall and language-detection
accuracy, with the messages it got wrong. The evaluation is honest: a message
the model leaves to ``nlu_fallback`` is a miss, as it is in the conversation.

The precision of the municipality extractor is measured on place-free messages
(:func:`place_free_messages`): districts, villages and former municipalities
(``data/nlu_test/place_free.yml``) and every held-out and training message
without a municipality. A place found in any of them is a false place.
``--json`` writes the figures for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config import PROJECT_ROOT
from bot.nlu.language import LANGUAGE_DETECTION
from bot.nlu.text import words

LANGUAGES = ("fi", "sv", "en")


@dataclass
class LanguageReport:
    """The figures of one language's held-out set."""

    language: str
    messages: int = 0
    intent_accuracy: float = 0.0
    intent_macro_f1: float = 0.0
    municipality_accuracy: float = 0.0
    municipality_count: int = 0
    municipality_false_positives: int = 0
    form_accuracy: float = 0.0
    form_count: int = 0
    place_free_precision: float = 0.0
    place_free_count: int = 0
    place_free_false: int = 0
    topic_recall: float = 0.0
    topic_count: int = 0
    detection_accuracy: float = 0.0
    detection_count: int = 0
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


def normalise(text: str) -> str:
    """Case, punctuation and spacing removed: for finding test messages in training data."""
    return " ".join(w.lower for w in words(text))


def read_examples(folder: Path) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(text, intent, entities) of every example in the YAML files of ``folder``."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for path in sorted(folder.glob("*.yml")):
        data = load_data(str(path))
        for message in data.intent_examples:
            examples.append(
                (message.get("text"), message.get("intent"), message.get("entities") or [])
            )
    return examples


def place_free_messages(
    language: str, test_root: Path, train_root: Path = PROJECT_ROOT / "data" / "nlu"
) -> list[str]:
    """Messages of ``language`` that name no municipality, for the extractor's precision.

    The templates of ``place_free.yml`` filled with its districts and villages, then every
    held-out and training message without a ``municipality`` label (ordinary words,
    slang, typos, service and brand names), each text once.
    """
    data = yaml.safe_load((test_root / "place_free.yml").read_text(encoding="utf-8"))
    places = data["places"]
    texts: list[str] = []
    for template in data["templates"][language]:
        if language == "fi":
            for name, (inside, from_, to) in places["fi"].items():
                texts.append(template.format(name=name, to=to, **{"in": inside, "from": from_}))
        else:
            names = places["sv"] if language == "sv" else [*places["fi"], *places["sv"]]
            texts.extend(template.format(name=name) for name in names)
    for root in (test_root, train_root):
        texts.extend(
            text
            for text, _, entities in read_examples(root / language)
            if not any(e["entity"] == "municipality" for e in entities)
        )
    return list(dict.fromkeys(texts))


def overlap(train_root: Path, test_root: Path) -> list[str]:
    """Test messages that also occur (after normalising) in the training data."""
    train = {normalise(t) for lang in LANGUAGES for t, _, _ in read_examples(train_root / lang)}
    return sorted(
        t
        for lang in LANGUAGES
        for t, _, _ in read_examples(test_root / lang)
        if normalise(t) in train
    )


def _macro_f1(pairs: list[tuple[str, str]]) -> tuple[float, dict[str, dict[str, float]]]:
    labels = sorted({gold for gold, _ in pairs})
    per: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    return (sum(v["f1"] for v in per.values()) / len(per) if per else 0.0), per


async def evaluate(model: Path, test_root: Path) -> dict[str, LanguageReport]:
    """Parse every held-out message with ``model`` and compute the figures per language."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # The report is the output: Rasa's per-message debug lines would bury it.
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    reports = {}
    for lang in LANGUAGES:
        report = LanguageReport(lang)
        pairs: list[tuple[str, str]] = []
        found_places = places = false_places = 0
        found_topics = topics = 0
        detected = detectable = 0
        forms = right_forms = 0
        for text, intent, entities in read_examples(test_root / lang):
            parsed = await agent.parse_message(text)
            predicted = (parsed.get("intent") or {}).get("name") or ""
            pairs.append((intent, predicted))  # nlu_fallback is a miss
            got = parsed.get("entities") or []
            # The forms the person asked for: the same form found twice is still that form.
            gold_forms = {e["value"] for e in entities if e["entity"] == "support_form"}
            # A form read only as an answer (role "answer") counts only where the form was
            # asked; a held-out message stands alone, so it is not a form here.
            got_forms = {
                e["value"] for e in got if e["entity"] == "support_form" and not e.get("role")
            }
            if gold_forms or got_forms:
                forms += 1
                right_forms += gold_forms == got_forms
            gold_places = [e["value"] for e in entities if e["entity"] == "municipality"]
            got_places = [e["value"] for e in got if e["entity"] == "municipality"]
            places += len(gold_places)
            found_places += sum((Counter(gold_places) & Counter(got_places)).values())
            false_places += sum((Counter(got_places) - Counter(gold_places)).values())
            gold_topics = [e["value"] for e in entities if e["entity"] == "topic"]
            got_topics = [e["value"] for e in got if e["entity"] == "topic"]
            topics += len(gold_topics)
            found_topics += sum((Counter(gold_topics) & Counter(got_topics)).values())
            if len(words(text)) >= 3:
                detectable += 1
                detected += (parsed.get(LANGUAGE_DETECTION) or {}).get("language") == lang
            wrong_entities = Counter(gold_places + gold_topics) != Counter(
                got_places + got_topics
            ) or (gold_forms != got_forms)
            if predicted != intent or wrong_entities:
                report.errors.append(
                    {
                        "text": text,
                        "intent": intent,
                        "predicted": predicted,
                        "gold": sorted(gold_places + gold_topics + sorted(gold_forms)),
                        "got": sorted(got_places + got_topics + sorted(got_forms)),
                    }
                )
        report.messages = len(pairs)
        report.intent_accuracy = sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0
        report.intent_macro_f1, report.per_intent = _macro_f1(pairs)
        report.municipality_count, report.municipality_false_positives = places, false_places
        report.municipality_accuracy = found_places / places if places else 1.0
        report.topic_count = topics
        report.topic_recall = found_topics / topics if topics else 1.0
        report.detection_count = detectable
        report.detection_accuracy = detected / detectable if detectable else 1.0
        report.form_count = forms
        report.form_accuracy = right_forms / forms if forms else 1.0
        place_free = place_free_messages(lang, test_root)
        for text in place_free:
            parsed = await agent.parse_message(text)
            invented = [
                e["value"] for e in parsed.get("entities") or [] if e["entity"] == "municipality"
            ]
            if invented:
                report.place_free_false += 1
                report.errors.append(
                    {
                        "text": text,
                        "intent": "",
                        "predicted": "",
                        "gold": [],
                        "got": invented,
                        "kind": "place",
                    }
                )
        report.place_free_count = len(place_free)
        report.place_free_precision = (
            1 - report.place_free_false / len(place_free) if place_free else 1.0
        )
        reports[lang] = report
    return reports


def print_report(reports: dict[str, LanguageReport]) -> None:
    """A readable report: summary table, per-intent F1, the errors."""
    print(
        f"{'lang':5} {'msgs':>5} {'intent acc':>10} {'macro F1':>9} {'form acc':>9} "
        f"{'place acc':>10} {'topic rec':>10} {'lang det':>9} {'place-free':>16} {'precision':>9}"
    )
    for r in reports.values():
        print(
            f"{r.language:5} {r.messages:>5} {r.intent_accuracy:>10.3f} {r.intent_macro_f1:>9.3f} "
            f"{r.form_accuracy:>9.3f} {r.municipality_accuracy:>10.3f} {r.topic_recall:>10.3f} "
            f"{r.detection_accuracy:>9.3f} {f'{r.place_free_false}/{r.place_free_count}':>16} "
            f"{r.place_free_precision:>9.4f}"
        )
    false_places = sum(r.place_free_false for r in reports.values())
    place_free = sum(r.place_free_count for r in reports.values())
    print(
        f"false places: {false_places} in {place_free} place-free messages "
        f"({1000 * false_places / max(place_free, 1):.2f} per 1 000)"
    )
    for r in reports.values():
        print(f"\n[{r.language}] per intent (F1, support):")
        for intent, m in sorted(r.per_intent.items()):
            print(f"  {intent:20} {m['f1']:.3f} {int(m['support']):>4}")
        print(
            f"[{r.language}] municipalities: {r.municipality_count}, false positives "
            f"{r.municipality_false_positives}; support forms: {r.form_count} messages"
        )
        print(f"[{r.language}] {len(r.errors)} messages with an error:")
        by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in r.errors:
            kind = e.get("kind") or ("intent" if e["intent"] != e["predicted"] else "entities")
            by_kind[kind].append(e)
        for kind, errors in by_kind.items():
            for e in errors:
                detail = (
                    f"{e['intent']} -> {e['predicted']}"
                    if kind == "intent"
                    else f"{e['gold']} -> {e['got']}"
                )  # a place-free message: [] -> the places it invented
                print(f"  {kind:8} {detail:45} {e['text']}")


def main(argv: list[str] | None = None) -> None:
    from bot.training import ensure_model

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--model", type=Path, help="model to evaluate (default: the current one, trained if needed)"
    )
    parser.add_argument("--test-data", type=Path, default=PROJECT_ROOT / "data" / "nlu_test")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    leaked = overlap(PROJECT_ROOT / "data" / "nlu", args.test_data)
    if leaked:
        raise SystemExit(
            f"{len(leaked)} held-out messages are also in the training data: {leaked[:10]}"
        )
    model = args.model or ensure_model()
    reports = asyncio.run(evaluate(model, args.test_data))
    print_report(reports)
    if args.json:
        args.json.write_text(
            json.dumps({k: asdict(v) for k, v in reports.items()}, ensure_ascii=False, indent=1)
        )


if __name__ == "__main__":
    main()
