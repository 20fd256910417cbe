"""Great-circle distance on a spherical Earth."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG); the spherical error stays under 0.5 % for Finland."""

KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) of a box that contains the circle of ``radius_km``."""
    dlat = radius_km / KM_PER_DEGREE_LAT
    max_abs_lat = min(89.9, abs(lat) + dlat)
    dlon = radius_km / (KM_PER_DEGREE_LAT * math.cos(math.radians(max_abs_lat)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon
