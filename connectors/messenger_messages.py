"""The bot's messages in the shapes the Messenger Send API accepts, within its limits.

Texts longer than the platform allows are split at paragraph, line, sentence or
word boundaries; buttons become quick replies (at most 13, titles of at most 20
characters); provider cards become a generic template (at most 10 elements) with a
call button and a web button. A card whose number or address the platform cannot use
keeps that fact in its subtitle instead of losing it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_PAYLOAD = 1000
MAX_ELEMENTS = 10
MAX_ELEMENT_TITLE = 80
MAX_SUBTITLE = 80
MAX_BUTTON_TITLE = 20
MAX_BUTTONS = 3

# Used only when a message arrives without its labels (they come from data/labels.yml).
_FALLBACK_LABELS = {"call": "Call", "web": "Web page", "map": "Map", "demo": "Demo data"}


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at a word where one is near, with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:–-") + "…"


_BREAKS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?])\s+"),
    re.compile(r"\s+"),
)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, broken where a reader would break it."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = None
        for pattern in _BREAKS:
            ends = [m for m in pattern.finditer(window) if 0 < m.start() <= limit]
            if ends and ends[-1].start() >= limit // 3:
                cut = (ends[-1].start(), ends[-1].end())
                break
        start, end = cut or (limit, limit)
        parts.append(rest[:start].rstrip())
        rest = rest[end:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def quick_replies(buttons: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Rasa buttons as quick replies: the first 13, titles shortened, payloads kept whole."""
    replies = []
    for button in buttons:
        if not isinstance(button, dict):
            continue
        title = shorten(str(button.get("title") or ""), MAX_QUICK_REPLY_TITLE)
        payload = str(button.get("payload") or button.get("title") or "")
        if not title or not payload or len(payload) > MAX_PAYLOAD:
            continue
        replies.append({"content_type": "text", "title": title, "payload": payload})
        if len(replies) == MAX_QUICK_REPLIES:
            break
    return replies


def phone_number(raw: str) -> str | None:
    """A Finnish or international number as ``+358…`` (the call button needs that form)."""
    if any(c.isdigit() and not c.isascii() for c in raw):
        return None  # digits of other scripts: not a number the platform can call
    digits = "".join(c for c in raw if c.isdigit())
    if raw.strip().startswith("+"):
        number = "+" + digits
    elif digits.startswith("00"):
        number = "+" + digits[2:]
    elif digits.startswith("0"):
        number = "+358" + digits[1:]
    elif digits.startswith("358"):
        number = "+" + digits
    else:
        return None
    return number if 8 <= len(number) - 1 <= 15 else None


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")


def web_url(raw: str) -> str | None:
    """An address a web button may open: http(s) with a host, nothing else."""
    raw = raw.strip()
    if not raw:
        return None
    if "://" not in raw:
        if _SCHEME.match(raw):  # javascript:, tel:, mailto: … (a port number is not a scheme)
            return None
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:  # an unbalanced bracket, a bad port
        return None
    return raw if parts.scheme in ("http", "https") and parts.netloc and len(raw) <= 2000 else None


def _element(card: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    name = str(card.get("name") or "")
    if card.get("demo"):  # the label stays, however long the name
        label = f" – {labels['demo']}"
        name = shorten(name, max(MAX_ELEMENT_TITLE - len(label), 10)) + label
    lines = [
        " – ".join(
            x for x in (str(card.get("address") or ""), str(card.get("distance_text") or "")) if x
        ),
        # The hours in words, as the card has them: whether it is open now, then the week.
        str(card.get("hours_status") or ""),
        str(card.get("opening_hours") or ""),
        ", ".join(str(x) for x in card.get("helps_with") or []),
    ]
    buttons = []
    phone = phone_number(str(card.get("phone") or ""))
    if phone:
        buttons.append(
            {
                "type": "phone_number",
                "title": shorten(labels["call"], MAX_BUTTON_TITLE),
                "payload": phone,
            }
        )
    elif card.get("phone"):
        lines.insert(0, str(card["phone"]))
    website = web_url(str(card.get("website") or ""))
    if website:
        buttons.append(
            {"type": "web_url", "title": shorten(labels["web"], MAX_BUTTON_TITLE), "url": website}
        )
    map_url = web_url(str(card.get("map_url") or ""))
    if map_url:
        buttons.append(
            {"type": "web_url", "title": shorten(labels["map"], MAX_BUTTON_TITLE), "url": map_url}
        )
    element: dict[str, Any] = {
        "title": shorten(name, MAX_ELEMENT_TITLE) or "–",
        "subtitle": shorten(" · ".join(x for x in lines if x), MAX_SUBTITLE),
    }
    if buttons:
        element["buttons"] = buttons[:MAX_BUTTONS]
    return element


def generic_template(custom: dict[str, Any]) -> dict[str, Any] | None:
    """Provider cards (``{"type": "provider_cards", "cards": [...]}``) as a generic template."""
    cards = custom.get("cards")
    if custom.get("type") != "provider_cards" or not isinstance(cards, list):
        return None
    given = custom.get("labels")
    labels = dict(_FALLBACK_LABELS)
    if isinstance(given, dict):
        labels.update({str(k): str(v) for k, v in given.items() if v})
    elements = [_element(card, labels) for card in cards[:MAX_ELEMENTS] if isinstance(card, dict)]
    if not elements:
        return None
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "generic", "elements": elements},
        }
    }


def messages_for(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``message`` objects of the Send API for one bot response, in order.

    Cards go as a template (the response's text is their plain rendering and is then
    left out); the text is split at the length limit and its buttons become quick
    replies on the last part.
    """
    custom = response.get("custom") or response.get("json_message")
    template = generic_template(custom) if isinstance(custom, dict) else None
    text = str(response.get("text") or "")
    agent = response.get("agent")
    if isinstance(agent, str) and agent.strip() and text:
        # A support worker's message reads as a person's: their name first.
        text = f"👤 {agent.strip()[:80]}: {text}"
    parts = [] if template else split_text(text)
    replies = quick_replies(list(response.get("buttons") or response.get("quick_replies") or []))
    messages: list[dict[str, Any]] = [{"text": part} for part in parts]
    if template:
        messages.append(template)
    if replies:
        if messages:
            messages[-1]["quick_replies"] = replies
        else:  # buttons with no text: the platform needs some text to show them with
            messages.append({"text": "…", "quick_replies": replies})
    return messages


def plain_text_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The response as text only: what is sent when the platform refuses a template."""
    return [{"text": part} for part in split_text(str(response.get("text") or ""))]
