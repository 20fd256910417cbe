"""``make chat``: talk to the running assistant in the terminal (through the REST channel)."""

from __future__ import annotations

import json
import sys
import urllib.request
import uuid

from bot.config import load_settings


def main() -> int:
    url = f"{load_settings().rasa_url.rstrip('/')}/webhooks/rest/webhook"
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    print("Write a message (an empty line or Ctrl-D ends). Kirjoita viesti. Skriv ett meddelande.")
    while True:
        try:
            text = input("> ").strip()
        except EOFError:
            return 0
        if not text:
            return 0
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                replies = json.load(response)
        except OSError as exc:
            print(
                f"the assistant does not answer at {url} ({exc}); is 'make run' running?",
                file=sys.stderr,
            )
            return 1
        for reply in replies:
            if reply.get("text"):
                print(reply["text"])
            for button in reply.get("buttons", []):
                print(f"  [{button.get('title')}]  {button.get('payload')}")


if __name__ == "__main__":
    sys.exit(main())
