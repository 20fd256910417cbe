"""Rasa graph components of our own: language detection, municipalities, entity values.

Each wraps a plain helper of ``bot.nlu`` and is named in ``config.yml``.
"""

from __future__ import annotations

import json
import pickle
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.config import DEFAULT_DATA_DIR
from bot.geo import Gazetteer
from bot.nlu.forms import FormReader
from bot.nlu.intents import LinearTextModel
from bot.nlu.language import LANGUAGE_DETECTION, LanguageDetector
from bot.nlu.places import MunicipalityMatcher
from bot.nlu.values import ValueLexicon, simplemma_lemmas

SPOTTED_ENTITIES = ("support_form", "language")
"""Entities also found by exact learned phrases when the statistical extractor misses them."""
ANSWER_ROLE = "answer"
"""Role of a support form read only as the answer to "how would you like help?"."""
COURSE_WORD = re.compile(r"(?i)(?:kurs|course|koulutu)")
"""Where a course word starts inside a compound or phrase; the part before may name the topic."""


def _entity(name: str, start: int, end: int, value: str, extractor: str) -> dict[str, Any]:
    return {"entity": name, "start": start, "end": end, "value": value, "extractor": extractor}


def _overlaps(entities: list[dict[str, Any]], start: int, end: int) -> bool:
    """Whether a span from ``start`` to ``end`` overlaps any of ``entities``."""
    return any(e["start"] < end and start < e["end"] for e in entities)


def _data_dir(config: dict[str, Any]) -> Path:
    return Path(config.get("data_dir") or DEFAULT_DATA_DIR)


@lru_cache(maxsize=4)
def _matcher(data_dir: Path) -> MunicipalityMatcher:
    """One matcher per process, shared by the components that need it."""
    gazetteer = Gazetteer.from_dir(data_dir / "geo")
    return MunicipalityMatcher.from_files(gazetteer, data_dir / "geo" / "place_words.yml")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetection(GraphComponent):
    """Adds ``language_detection`` ({language, confidence, reason}) to each parsed message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"data_dir": None}

    def __init__(self, detector: LanguageDetector) -> None:
        self._detector = detector

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetection:
        places = _matcher(_data_dir(config))
        return cls(LanguageDetector.with_lingua(ignore=places.is_place_word))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            detection = self._detector.detect(message.get(TEXT) or "")
            message.set(
                LANGUAGE_DETECTION,
                {
                    "language": detection.language,
                    "confidence": round(detection.confidence, 3),
                    "reason": detection.reason,
                },
                add_to_output=True,
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class MunicipalityExtractor(GraphComponent, EntityExtractorMixin):
    """Municipality entities with the official Finnish name; reconciles what DIET found."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"data_dir": None, "keep_unresolved_model_entities": False}

    def __init__(self, matcher: MunicipalityMatcher, config: dict[str, Any]) -> None:
        self._matcher = matcher
        self._config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MunicipalityExtractor:
        return cls(_matcher(_data_dir(config)), config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            found = self._matcher.find(text)
            ours = [
                {
                    "entity": "municipality",
                    "start": m.start,
                    "end": m.end,
                    "value": m.value,
                    "confidence_entity": m.confidence,
                    "extractor": self.name,
                    "processors": [m.how],
                }
                for m in found
            ]
            kept = []
            for entity in message.get(ENTITIES, []):
                if entity.get("entity") != "municipality":
                    kept.append(entity)
                    continue
                overlaps = any(
                    o["start"] < entity["end"] and entity["start"] < o["end"] for o in ours
                )
                if overlaps:
                    continue  # ours is normalised already
                resolved = self._matcher.find(text[entity["start"] : entity["end"]])
                # A name that is also a word needs the context test, which the whole message failed.
                if resolved and not self._matcher.is_ambiguous(resolved[0].code):
                    kept.append({**entity, "value": resolved[0].value})
                elif self._config.get("keep_unresolved_model_entities"):
                    kept.append(entity)
            message.set(ENTITIES, sorted(kept + ours, key=lambda e: e["start"]), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class EntityValueNormalizer(GraphComponent, EntityExtractorMixin):
    """Maps topic, support_form and language spans to contract values; drops the unknown."""

    FILENAME = "value_lexicon.json"

    def __init__(
        self, lexicon: ValueLexicon, model_storage: ModelStorage, resource: Resource
    ) -> None:
        self._lexicon = lexicon
        self._storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityValueNormalizer:
        return cls(ValueLexicon(lemmatize=simplemma_lemmas), model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        for example in training_data.entity_examples:
            text = example.get(TEXT) or ""
            for entity in example.get(ENTITIES, []):
                self._lexicon.learn(
                    entity["entity"],
                    text[entity["start"] : entity["end"]],
                    str(entity.get("value")),
                )
        # Then how often each spotted phrase occurs without its label: its purity.
        for example in training_data.intent_examples:
            text = example.get(TEXT) or ""
            for name in SPOTTED_ENTITIES:
                labelled = [
                    (e["start"], e["end"]) for e in example.get(ENTITIES, []) if e["entity"] == name
                ]
                self._lexicon.count_occurrences(name, text, labelled)
        with self._storage.write_to(self._resource) as folder:
            (folder / self.FILENAME).write_text(
                json.dumps(self._lexicon.to_json(), ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EntityValueNormalizer:
        with model_storage.read_from(resource) as folder:
            data = json.loads((folder / cls.FILENAME).read_text(encoding="utf-8"))
        return cls(ValueLexicon.from_json(data, simplemma_lemmas), model_storage, resource)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            kept = []
            for entity in message.get(ENTITIES, []):
                if entity.get("entity") == "municipality":
                    kept.append(entity)
                    continue
                span = text[entity["start"] : entity["end"]]
                value = self._lexicon.resolve(entity["entity"], span, str(entity.get("value")))
                if value is not None:
                    kept.append({**entity, "value": value})
            for name in SPOTTED_ENTITIES:
                # A language is read as the answer even when it is said of other things
                # ("can we talk in finnish"); a support form only where its phrase is pure.
                found = self._lexicon.spot(name, text, answer=name == "language")
                answers = (
                    [s for s in self._lexicon.spot(name, text, answer=True) if s not in found]
                    if name == "support_form"
                    else []
                )
                for start, end, value in found + answers:
                    # A learned phrase that contains a shorter guess is the better reading:
                    # "by phone" is how to help, although "phone" alone may be a device.
                    kept = [
                        e
                        for e in kept
                        if e["entity"] == "municipality"
                        or not (
                            start <= e["start"]
                            and e["end"] <= end
                            and end - start > e["end"] - e["start"]
                        )
                    ]
                    if not _overlaps(kept, start, end):
                        spotted = _entity(name, start, end, value, self.name)
                        if (start, end, value) in answers:
                            # "online is fine for me": the form only when the form was asked
                            # (the slot mapping's condition in domain/session.yml).
                            spotted["role"] = ANSWER_ROLE
                        kept.append(spotted)
            if (message.get(INTENT) or {}).get("name") == "change_language" and not any(
                e["entity"] == "language" for e in kept
            ):
                # "can we talk in finnish? i want to practise": asking to change the language,
                # the one language named is the one asked for, however long the message.
                named = self._lexicon.spot("language", text, answer=True, answer_words=None)
                if len({value for _, _, value in named}) == 1:
                    start, end, value = named[0]
                    if not _overlaps(kept, start, end):
                        kept.append(_entity("language", start, end, value, self.name))
            kept += self._course_topics(text, kept)
            message.set(ENTITIES, sorted(kept, key=lambda e: e["start"]), add_to_output=True)
        return messages

    def _course_topics(self, text: str, kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The topic inside a course word: "datorkurs", "tietokonekurssi", "computer course"."""
        found = []
        for entity in kept:
            if entity["entity"] != "support_form" or entity.get("value") != "training":
                continue
            span = text[entity["start"] : entity["end"]]
            course = COURSE_WORD.search(span)
            head = span[: course.start()].rstrip(" -") if course else ""
            if len(head) < 3:
                continue
            topic = self._lexicon.resolve("topic", head)
            start = entity["start"]
            topics = [e for e in kept if e["entity"] == "topic"]
            if topic and not _overlaps(topics, start, start + len(head)):
                found.append(_entity("topic", start, start + len(head), topic, self.name))
        return found

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


_Component = TypeVar("_Component", bound="_PickledModelComponent")


class _PickledModelComponent(GraphComponent):
    """A trainable component whose model is one pickled object of ours (``FILENAME``)."""

    FILENAME = ""

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls: type[_Component],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _Component:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls: type[_Component],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> _Component:
        # The file is our own model artefact, written by ``_save``.
        with model_storage.read_from(resource) as folder:
            model = pickle.loads((folder / cls.FILENAME).read_bytes())
        return cls(config, model_storage, resource, model)

    def _save(self, model: Any) -> Resource:
        self._model = model
        with self._storage.write_to(self._resource) as folder:
            (folder / self.FILENAME).write_bytes(pickle.dumps(model))
        return self._resource


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(_PickledModelComponent):
    """Intents from :class:`bot.nlu.intents.LinearTextModel` (chars, words, lemmas)."""

    FILENAME = "linear_intents.pkl"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 30.0, "ranking_length": 10}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        return self._save(
            LinearTextModel(c=float(self._config["C"])).fit(
                [m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples]
            )
        )

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if self._model is None or not message.get(TEXT):
                continue
            ranking = self._model.predict(message.get(TEXT))[: int(self._config["ranking_length"])]
            name, confidence = ranking[0]
            message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [{"name": n, "confidence": c} for n, c in ranking],
                add_to_output=True,
            )
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class SupportFormReader(_PickledModelComponent, EntityExtractorMixin):
    """The support form read from the whole message (:mod:`bot.nlu.forms`).

    Runs after :class:`EntityValueNormalizer`. Where no form was found and the
    message-level model is at least ``add`` sure of one, that form is added at
    its clearest word; a form found only as an answer (role ``answer``) that the
    model is as sure of becomes a plain form. Where a form was found but the model
    is at least ``doubt`` sure the message asks for none ("someone called me from
    the bank"), the form keeps only the role ``answer``: it fills the slot when the
    form was asked.
    """

    FILENAME = "support_forms.pkl"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 30.0, "add": 0.7, "doubt": 0.9}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        return self._save(
            FormReader(c=float(self._config["C"])).fit(
                [m.get(TEXT) for m in examples],
                [
                    [e["value"] for e in m.get(ENTITIES, []) if e["entity"] == "support_form"]
                    for m in examples
                ],
            )
        )

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if self._model is None or not text:
                continue
            entities = list(message.get(ENTITIES, []))
            forms = [e for e in entities if e["entity"] == "support_form"]
            reading = self._model.read(text)
            sure = reading.probability >= self._config["add"]
            answers = [e for e in forms if e.get("role") == ANSWER_ROLE]
            if sure and reading.value and answers and len(answers) == len(forms):
                # "thanks, phone is fine": a phrase often said of other things, and the
                # whole message asks for that very form: more than an answer.
                entities = [
                    {k: v for k, v in e.items() if k != "role"}
                    if e in answers and e["value"] == reading.value
                    else e
                    for e in entities
                ]
            elif sure and reading.value and not forms:
                cue = self._model.cue(
                    text, reading.value, [(e["start"], e["end"]) for e in entities]
                )
                if cue is None:
                    continue
                added = _entity("support_form", cue[0], cue[1], reading.value, self.name)
                entities.append({**added, "confidence_entity": reading.probability})
            elif reading.value is None and reading.probability >= self._config["doubt"]:
                entities = [
                    {**e, "role": ANSWER_ROLE} if e in forms and not e.get("role") else e
                    for e in entities
                ]
            else:
                continue
            message.set(ENTITIES, sorted(entities, key=lambda e: e["start"]), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
