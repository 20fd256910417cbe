"""The PTV importer on the reference documents in ``shared/reference/ptv`` (read, never copied).

They are real API responses (two Naantali service locations, three pages of a
test municipality) with their quirks: an example ``displayNameType``,
``coordinateState`` ``NotReceived`` with ``"0"`` coordinates, municipality code
``"1"``, the same channel in two pages with different hours.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.geo import haversine_km
from bot.providers.opening_hours import parse_opening_hours
from bot.providers.ptv import convert_ptv, load_mapping, read_ptv_input
from bot.providers.ptv.hours import convert_service_hours

REFERENCE_PTV = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ptv"

pytestmark = pytest.mark.skipif(
    not REFERENCE_PTV.is_dir(),
    reason=f"PTV reference documents not found at {REFERENCE_PTV} (shared/ is not beside the repo)",
)

NAANTALI_DAYCARE = "1bd39cda-3006-482e-acff-93ab8ddc9f1b"
NAANTALI_SCHOOL = "abac25e1-bd15-4c1a-b22e-9d9a705d9220"  # coordinateState NotReceived
HEALTH_STATION = "0001a1c4-6273-424f-8d17-2ac62be89741"  # in two pages, hours differ
PHONE_SERVICE = "00090e9c-f8be-4aaa-a874-721c7f7643e1"  # a Phone channel, no address
TODAY = dt.date(2026, 3, 16)

# Our own mapping for these documents: none of them is digital support, so the test
# names them. Its organisation places the phone channel, whose area code is unknown.
MAPPING = f"""
channel_types:
  ServiceLocation: [in_person]
  Phone: [phone]
rules:
  - keywords: {{fi: [terveys]}}
    topics: [basics]
channels:
  {NAANTALI_DAYCARE}: {{topics: [basics]}}
  {NAANTALI_SCHOOL}: {{topics: [computer], forms: [training]}}
  {PHONE_SERVICE}: {{topics: [smartphone]}}
organisations:
  000f4f57-e845-4f1f-8eb2-0c1b50c1184e: {{name: Testiorganisaatio, municipality: Naantali}}
"""


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


@pytest.fixture
def converted(gazetteer, mapping_file):
    mapping = load_mapping(mapping_file, gazetteer)
    return convert_ptv(read_ptv_input(REFERENCE_PTV), mapping, gazetteer, today=TODAY)


def by_id(result) -> dict:
    return {p.id.removeprefix("ptv-"): p for p in result.providers}


def test_every_reference_document_is_read():
    files = sorted(REFERENCE_PTV.glob("*.json"))
    assert len(files) >= 5
    counts = {f.name: len(read_ptv_input(f).channels) for f in files}
    assert all(counts.values()), counts
    assert len(read_ptv_input(REFERENCE_PTV).channels) == sum(counts.values())


def test_naantali_coordinates_are_converted_from_tm35fin(converted):
    daycare = by_id(converted)[NAANTALI_DAYCARE]
    metres = haversine_km(daycare.lat, daycare.lon, 60.46792, 22.01798) * 1000
    print(f"Naantali: {daycare.lat:.6f} N, {daycare.lon:.6f} E, {metres:.2f} m from the reference")
    assert metres < 50
    assert not daycare.location_is_municipality_centre
    assert (daycare.municipality_code, daycare.street_address, daycare.postal_code) == (
        "529",
        "Mannerheiminkatu 14",
        "21110",
    )


def test_the_not_received_channel_falls_back_with_a_warning(converted, gazetteer):
    school = by_id(converted)[NAANTALI_SCHOOL]
    naantali = gazetteer.municipality("529")
    assert (school.lat, school.lon) == (naantali.lat, naantali.lon)
    assert school.location_is_municipality_centre
    assert any(
        w.where.startswith(f"channel {NAANTALI_SCHOOL}")
        and "coordinateState is NotReceived" in w.reason
        for w in converted.warnings
    ), [str(w) for w in converted.warnings]


def test_every_hours_value_is_valid_opening_hours():
    seen = []
    for file in sorted(REFERENCE_PTV.glob("*.json")):
        for item in read_ptv_input(file).channels:
            converted = convert_service_hours(item.data.get("serviceHours") or [], TODAY)
            if converted.text is not None:
                parse_opening_hours(converted.text)
                seen.append((file.name, item.data["id"], converted.text))
    assert (
        "smbackend_municipality_channels.json",
        HEALTH_STATION,
        "We 08:00-16:00; Fr 08:00-14:00",
    ) in seen
    assert (
        "smbackend_municipality_channels_2.json",
        HEALTH_STATION,
        "Mo-Th 08:00-16:00; Fr 08:00-14:00",
    ) in seen


def test_the_mapping_decides_what_is_imported(converted):
    providers = by_id(converted)
    assert set(providers) == {
        NAANTALI_DAYCARE,
        NAANTALI_SCHOOL,
        HEALTH_STATION,
        PHONE_SERVICE,
        "0009b6a3-ff15-47cd-a461-48f5c452d9be",
    }
    assert [u.name for u in converted.unmapped] == ["Peruskoulu"]
    assert providers[PHONE_SERVICE].support_forms == {"phone"}
    assert providers[PHONE_SERVICE].municipality_code == "529"  # from its organisation
    assert providers[NAANTALI_SCHOOL].support_forms == {"training"}
    assert providers[HEALTH_STATION].name_sv == "Hälsostationen"
    assert not converted.errors


def test_cli_import_is_idempotent_and_a_full_import_deactivates(
    database, cli, tmp_path, mapping_file
):
    args = ("providers", "import", "--mapping", str(mapping_file))
    status, out, err = cli(database.url, *args, str(REFERENCE_PTV))
    assert status == 0, err
    assert "5 providers imported (5 new, 0 updated, 0 unchanged, 0 deactivated" in out
    assert "unmapped: 00006fe3-7df2-409e-9cd6-cce4bf4338b1 Peruskoulu" in err
    assert f"channel {NAANTALI_SCHOOL} (Naantalin lukio): coordinates: coordinateState" in err
    ids = [f"ptv-{g}" for g in (NAANTALI_DAYCARE, NAANTALI_SCHOOL, HEALTH_STATION)]
    first = database.repository.get_many(ids)
    stamps = {i: p.updated_at for i, p in first.items()}

    status, out, err = cli(database.url, *args, "--full", "--quiet", str(REFERENCE_PTV))
    assert status == 0, err
    assert "(0 new, 0 updated, 5 unchanged, 0 deactivated" in out and "warning:" not in err
    again = database.repository.get_many(ids)
    assert again == first and {i: p.updated_at for i, p in again.items()} == stamps

    # The same input without the daycare: a full import marks it inactive, keeps the rest.
    reduced = tmp_path / "reduced"
    reduced.mkdir()
    for file in REFERENCE_PTV.glob("*.json"):
        if NAANTALI_DAYCARE not in file.name:
            (reduced / file.name).write_bytes(file.read_bytes())
    status, out, err = cli(database.url, *args, "--full", str(reduced))
    assert status == 0, err
    assert "4 providers imported (0 new, 0 updated, 4 unchanged, 1 deactivated" in out
    stored = database.repository.get_many(ids)
    assert not stored[ids[0]].active and stored[ids[1]].active and stored[ids[2]].active
    assert database.repository.count() == 4


def test_cli_dry_run_on_a_reference_file(database, cli, mapping_file):
    page = REFERENCE_PTV / "smbackend_municipality_channels.json"
    if not page.exists():
        pytest.skip(f"{page.name} is not among the reference documents")
    status, out, _ = cli(
        database.url, "providers", "import", "--dry-run", "--mapping", str(mapping_file), str(page)
    )
    assert status == 0
    assert "2 providers are valid (dry run, nothing written; " in out
    assert database.repository.count() == 0
