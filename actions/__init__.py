"""Rasa custom actions: thin wrappers that call the services of ``bot``."""
