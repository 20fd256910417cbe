"""``python -m bot.cli``: the ``digituki`` command."""

import sys

from bot.cli import main

sys.exit(main())
