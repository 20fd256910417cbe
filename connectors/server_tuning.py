"""A measured fix for the Rasa server process (Rasa 3.6), installed when our channels load.

Rasa checks every action server response with ``jsonschema.validate(result,
schema)``. That function first checks the *schema itself* against the JSON Schema
meta-schema, on every call. Profiled under 20 concurrent conversations, this was
63 % of the Rasa server's CPU: several custom actions answer each message.
Here the same schema is compiled once and responses are validated against it:
the same checks, the same errors, without re-checking the schema.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_installed = False


def validate_action_responses_with_a_compiled_schema() -> None:
    """Replaces ``RemoteAction._validate_action_result`` (idempotent)."""
    global _installed
    if _installed:
        return
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # once
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, make sure your "
                "response from the Action endpoint is valid. For more information about "
                f"the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise
        return True

    RemoteAction._validate_action_result = _validate_action_result
    _installed = True
    log.debug("action server responses are validated with a compiled schema")
