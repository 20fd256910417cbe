"""Our gazetteer (authored in data/geo) checked against the reference list of 2026.

The reference file is read here only; it is never copied into the project.
"""

from __future__ import annotations

import csv

import pytest

from bot.geo import Gazetteer, haversine_km
from tests.conftest import REFERENCE

REFERENCE_FILE = REFERENCE / "geo" / "municipalities_2026.csv"


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, str]]:
    if not REFERENCE_FILE.exists():
        pytest.skip(f"reference data not found at {REFERENCE_FILE} (../shared beside the checkout)")
    with REFERENCE_FILE.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


def test_every_code_of_2026_and_no_other(gazetteer: Gazetteer, reference) -> None:
    assert len(reference) == 308
    assert {m.code for m in gazetteer} == set(reference)


def test_names_and_regions_equal(gazetteer: Gazetteer, reference) -> None:
    wrong = []
    for m in gazetteer:
        ref = reference[m.code]
        region = gazetteer.region_of(m)
        ours = (m.name_fi, m.name_sv, region.name_fi, region.name_sv)
        theirs = (ref["name_fi"], ref["name_sv"], ref["region"], ref["region_sv"])
        if ours != theirs:
            wrong.append(f"{m.code}: ours {ours} != reference {theirs}")
    assert not wrong, "\n".join(wrong)


def test_centres_are_close_to_the_reference(gazetteer: Gazetteer, reference) -> None:
    distances = {
        m.code: haversine_km(
            m.lat, m.lon, float(reference[m.code]["lat"]), float(reference[m.code]["lon"])
        )
        for m in gazetteer
    }
    within_5 = sum(d <= 5.0 for d in distances.values()) / len(distances)
    far = {code: round(d, 1) for code, d in distances.items() if d > 20.0}
    off = sorted(((round(d, 1), code) for code, d in distances.items() if d > 5.0), reverse=True)
    print(f"\ncentres within 5 km: {within_5:.1%}; more than 5 km off: {off}")
    assert within_5 >= 0.95, off
    assert not far


def test_lookup_by_any_name_or_code(gazetteer: Gazetteer, reference) -> None:
    for code, ref in reference.items():
        for key in (
            code,
            ref["name_fi"],
            ref["name_sv"],
            ref["name_fi"].upper(),
            ref["name_sv"].lower(),
        ):
            assert gazetteer.municipality(key).code == code, key
