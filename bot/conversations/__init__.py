"""Rasa's conversation events, from the Rasa server to our database: one pipeline.

Each step is a plain module, with neither Rasa's broker nor the tracker store in it;
the Rasa adapters (``connectors.event_store``, ``connectors.rabbitmq_broker``,
``connectors.tracker_store``) call into it, never the other way round.

- :mod:`~bot.conversations.messages`: the messages in an event (what the person, the
  bot or a support worker wrote) and which of them are the bot's own, kept unmasked;
- :mod:`~bot.conversations.facts`: the facts in an event that the reports count;
- :mod:`~bot.conversations.encoding`: an event masked and encoded for RabbitMQ, its
  identity (the same in RabbitMQ and in the tracker store), and decoded again;
- :mod:`~bot.conversations.store`: an event's message and facts into the database,
  once per receipt;
- :mod:`~bot.conversations.worker` (``python -m bot.conversations.worker``, settings
  in :mod:`~bot.conversations.settings`): the events worker, RabbitMQ into the store;
- :mod:`~bot.conversations.recovery`: the events RabbitMQ never brought, from the
  tracker store;
- :mod:`~bot.conversations.retention` (``digituki retention apply``): conversations
  older than N days deleted, handoff requests anonymised.
"""
