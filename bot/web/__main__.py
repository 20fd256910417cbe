"""``python -m bot.web``: the web service alone."""

from __future__ import annotations

from aiohttp import web

from bot.config import load_settings
from bot.logs import configure_logging
from bot.web.app import init_app


def main() -> None:
    settings = load_settings()
    configure_logging("web", settings.log_level)  # masked; JSON with DIGITUKI_LOG_FORMAT=json
    web.run_app(init_app(settings), host=settings.web_host, port=settings.web_port, print=None)


if __name__ == "__main__":
    main()
