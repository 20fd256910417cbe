"""Digituki: the application core (no Rasa imports needed)."""
