"""An output channel that sends each bot message whole, through ``send_response``.

Rasa's :class:`~rasa.core.channels.channel.OutputChannel` splits a message into its
text, buttons and custom JSON and sends each part on its own; our channels send one
message with all of it (a widget frame, a Messenger message with its quick replies),
so every part comes back to ``send_response``.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import OutputChannel


class WholeMessageOutput(OutputChannel):
    """Subclasses implement ``send_response``; the part-by-part senders lead to it."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"custom": json_message})
