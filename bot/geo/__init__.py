"""Places: the municipality gazetteer and great-circle distance."""

from bot.geo.distance import haversine_km
from bot.geo.gazetteer import Gazetteer, Municipality, Region, UnknownPlaceError

__all__ = ["Gazetteer", "Municipality", "Region", "UnknownPlaceError", "haversine_km"]
