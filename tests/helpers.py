"""Small helpers shared by tests."""

from __future__ import annotations

from pathlib import Path

from bot.geo import Gazetteer
from bot.providers.importer import read_raw_rows, validate_rows
from bot.providers.model import Provider


def load_providers(path: Path, gazetteer: Gazetteer) -> list[Provider]:
    """Providers of a fixture file; fails loudly if the fixture itself is invalid."""
    parsed = validate_rows(read_raw_rows(path), gazetteer)
    assert parsed.ok, [str(e) for e in parsed.errors]
    return parsed.providers
