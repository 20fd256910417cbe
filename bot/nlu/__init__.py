"""Language understanding helpers: language detection, places, entity values.

The pure logic lives in plain modules (no Rasa imports); ``bot.nlu.components``
wraps it as Rasa graph components.
"""
