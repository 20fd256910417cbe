"""``make run``: start the services of the embedded profile and print where they are."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.config import load_settings
from bot.web.app import init_app


def main() -> None:
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    base = f"http://{settings.web_host}:{settings.web_port}"
    print(
        "\nDigituki is running (Ctrl+C stops it):\n"
        f"  web service      {base}/health\n"
        f"  provider search  {base}/api/v1/providers/search?municipality=Lieksa&topic=smartphone\n"
        f"  database         {settings.database_url}\n",
        flush=True,
    )
    web.run_app(init_app(settings), host=settings.web_host, port=settings.web_port, print=None)


if __name__ == "__main__":
    main()
