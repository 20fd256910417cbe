"""``python -m bot.web``: the web service alone."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.config import load_settings
from bot.privacy import install_log_redaction
from bot.web.app import init_app


def main() -> None:
    settings = load_settings()
    install_log_redaction()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    web.run_app(init_app(settings), host=settings.web_host, port=settings.web_port, print=None)


if __name__ == "__main__":
    main()
