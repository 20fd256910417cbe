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
