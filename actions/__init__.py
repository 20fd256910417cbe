"""Rasa custom actions: thin wrappers that call the services of ``bot``."""

from bot.privacy import install_log_redaction

install_log_redaction()  # the action server logs nothing personal
