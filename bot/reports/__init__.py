"""Reports for coordinators: need and supply, from the conversation event stream.

- :mod:`~bot.reports.analytics`: conversations, needs, unmet needs and handoffs per
  week, region, municipality, topic, language and support form.
"""
