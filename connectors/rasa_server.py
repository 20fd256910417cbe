"""``python -m connectors.rasa_server [rasa run options]``: ``rasa run`` with its secrets kept out of ``ps``.

``rasa run --auth-token T`` puts the HTTP API's token on the command line, where
every user of the machine reads it (``ps``, ``/proc/<pid>/cmdline``). This launcher
takes it from the environment instead and hands it to Rasa inside the process; the
command line the system shows stays the one it was started with.

Environment:

- ``DIGITUKI_RASA_TOKEN``: the token of Rasa's HTTP API. When set, the API is on
  (``--enable-api``) and every call needs ``?token=``; without it the API is off
  (``--enable-api`` alone, which would open it to anyone, is refused).
- ``DIGITUKI_RASA_HOST``: the interface to listen on, ``127.0.0.1`` unless set
  (``0.0.0.0`` in a container behind its own network policy). ``--interface``
  overrides it.
- ``DIGITUKI_RASA_CREDENTIALS``: the channels' file when ``--credentials`` is not
  given (default ``credentials.yml``: the widget and Messenger).

Every other option is ``rasa run``'s (``--model``, ``--port``, ``--endpoints``, ...).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

DEFAULT_HOST = "127.0.0.1"
DEFAULT_CREDENTIALS = "credentials.yml"


class LaunchError(ValueError):
    """The options or the environment would start the server unsafely."""


def _given(args: Sequence[str], *names: str) -> bool:
    return any(arg in names or arg.split("=", 1)[0] in names for arg in args)


def rasa_arguments(args: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The full ``rasa run`` argument list (secrets included) for ``args`` and ``environ``."""
    if _given(args, "--auth-token", "-t"):
        raise LaunchError("give the API token in DIGITUKI_RASA_TOKEN, not on the command line")
    token = environ.get("DIGITUKI_RASA_TOKEN", "").strip()
    if _given(args, "--enable-api") and not token:
        raise LaunchError("--enable-api without DIGITUKI_RASA_TOKEN would open the API to anyone")
    full = ["run", *args]
    if not _given(args, "--interface", "-i"):
        full += ["--interface", environ.get("DIGITUKI_RASA_HOST", "").strip() or DEFAULT_HOST]
    if not _given(args, "--credentials"):
        credentials = environ.get("DIGITUKI_RASA_CREDENTIALS", "").strip() or DEFAULT_CREDENTIALS
        full += ["--credentials", credentials]
    if token:
        if not _given(args, "--enable-api"):
            full.append("--enable-api")
        full += ["--auth-token", token]
    return full


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        full = rasa_arguments(args, os.environ)
    except LaunchError as error:
        print(f"rasa_server: {error}", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    # Rasa parses sys.argv; the process's own command line (what ps shows) is unchanged.
    sys.argv = ["rasa", *full]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
