"""The compiled validation of action server responses checks exactly what Rasa's did."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from connectors.server_tuning import validate_action_responses_with_a_compiled_schema

GOOD = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "topic", "value": ["email"]}],
        "responses": [{"text": "hei"}],
    },
    {"events": [{"event": "active_loop", "name": None}]},
]
BAD = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [], "responses": ["text, not an object"]},
]


def validate_with(result: dict) -> bool:
    action = RemoteAction.__new__(RemoteAction)  # the check reads nothing of the action
    return action._validate_action_result(result)


@pytest.mark.parametrize("result", GOOD)
def test_valid_responses_pass_before_and_after(result):
    assert validate_with(result) is True  # Rasa's own check (or already the compiled one)
    validate_action_responses_with_a_compiled_schema()
    assert validate_with(result) is True


@pytest.mark.parametrize("result", BAD)
def test_invalid_responses_are_refused_with_rasas_message(result):
    validate_action_responses_with_a_compiled_schema()
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        validate_with(result)
