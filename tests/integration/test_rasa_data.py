"""The Rasa project's data: valid, consistent, and the held-out sets kept apart."""

from __future__ import annotations

from bot.config import PROJECT_ROOT
from bot.training import fingerprint, model_path, responses_sent_by_actions, validate_data


def test_rasa_data_validate_reports_nothing_about_our_data():
    assert validate_data() == []


def test_every_response_an_action_sends_exists_in_the_domain():
    import yaml

    responses: set[str] = set()
    for path in (PROJECT_ROOT / "domain").glob("*.yml"):
        responses |= set(
            (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses", {})
        )
    assert responses_sent_by_actions() <= responses


def test_held_out_messages_are_not_in_the_training_data():
    from bot.nlu.evaluate import overlap  # imports Rasa: keep it inside the test

    assert overlap(PROJECT_ROOT / "data" / "nlu", PROJECT_ROOT / "data" / "nlu_test") == []


def test_the_model_name_follows_its_inputs(tmp_path):
    for name in ("config.yml", "domain/a.yml", "data/nlu/fi/x.yml", "bot/nlu/c.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("one")
    first = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == first
    (tmp_path / "data/nlu/fi/x.yml").write_text("two")
    assert fingerprint(tmp_path) != first
    assert model_path(tmp_path).name == f"digituki-{fingerprint(tmp_path)}.tar.gz"
    changed = fingerprint(tmp_path)
    (tmp_path / "data/nlu/README.md").write_text("how the data is labelled")
    assert fingerprint(tmp_path) == changed  # documentation does not decide the model


async def test_every_response_renders_in_each_language_without_a_template_error(monkeypatch):
    """What Rasa sends is what the domain says: the button payloads' JSON (``{"rating": ..}``)
    must not be read as a slot template, which logs an error in every conversation."""
    import json
    import re

    from rasa.core.nlg import interpolator
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    errors: list[dict] = []

    class Recorder:
        def exception(self, event: str, **fields: object) -> None:
            errors.append({"event": event, **fields})

    monkeypatch.setattr(interpolator, "structlogger", Recorder())
    domain = Domain.load(str(PROJECT_ROOT / "domain"))
    generator = TemplatedNaturalLanguageGenerator(domain.responses)
    payload = re.compile(r"^/\w+(\{.*\})?$")
    # What actions pass with a response (``utter_message(response=..., authority=...)``).
    variables = {
        name: f"<{name}>"
        for name in re.findall(r"\{(\w+)\}", json.dumps(domain.responses, ensure_ascii=False))
    }
    checked = 0
    for language in ("fi", "sv", "en"):
        tracker = DialogueStateTracker.from_events(
            "rendering", [SlotSet("language", language)], slots=domain.slots
        )
        for name in domain.responses:
            message = await generator.generate(name, tracker, "widget", **variables)
            assert message is not None, name
            for button in message.get("buttons") or []:
                match = payload.match(button["payload"])
                assert match, (name, language, button)
                if match.group(1):
                    json.loads(match.group(1))
                checked += 1
    assert errors == []
    assert checked > 0
