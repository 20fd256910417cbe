"""Rasa custom actions: thin wrappers that call the services of ``bot``.

``rasa run actions --actions actions`` imports this package once its logging is set
up and before it serves, and runs no other code of ours: the action server's
process-wide set-up is therefore done here, on import. Each step is cheap and
idempotent, connects to nothing, and listens only when ``DIGITUKI_METRICS_PORT`` is
set, so importing the package elsewhere (tests) is harmless.
"""

from actions.metrics import count_action_runs
from bot.config import load_settings
from bot.observability import database_check, start_process_observability
from bot.privacy import install_log_redaction

install_log_redaction()  # the action server logs nothing personal
count_action_runs()  # digituki_action_runs_total, digituki_action_seconds
# /health, /ready and /metrics on DIGITUKI_METRICS_PORT; nothing without it. The
# database is first touched by a /ready probe, not here.
start_process_observability("actions", {"database": database_check(load_settings().database_url)})
