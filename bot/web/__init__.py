"""The web service (aiohttp): provider API now; widget, console and handoff API later."""
