"""Running the assistant on one machine: ``make run``, ``make run-prod`` and ``make chat``.

- :mod:`~bot.ops.run`: trains if needed and starts every process of a profile;
- :mod:`~bot.ops.haproxy`: the production profile's HAProxy configuration;
- :mod:`~bot.ops.chat`: talk to the running assistant in the terminal.
"""
