"""PTV coordinates: ETRS-TM35FIN (EPSG:3067) metres to WGS84 degrees.

PTV names its fields ``latitude`` and ``longitude`` but fills them with
TM35FIN northing and easting, as strings.
"""

from __future__ import annotations

from functools import lru_cache

from pyproj import Transformer


@lru_cache(maxsize=1)
def _transformer() -> Transformer:
    """Built on first use, not at import: PROJ reads its bundled database (no network)."""
    return Transformer.from_crs(3067, 4326, always_xy=True)


def tm35fin_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """``(lat, lon)`` in WGS84 degrees of a TM35FIN point."""
    lon, lat = _transformer().transform(easting, northing)
    return lat, lon
