"""Provider import through the CLI, on SQLite and PostgreSQL: all rows or none."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from bot.providers.files import COLUMNS
from tests.conftest import FIXTURES

GOOD = {
    "id": "good-1",
    "name_fi": "Testituki Oulu",
    "name_sv": "Teststöd Uleåborg",
    "name_en": "",
    "organisation": "Testiyhdistys ry",
    "org_type": "association",
    "municipality": "Oulu",
    "street_address": "Testikatu 1",
    "postal_code": "90100",
    "lat": "65.0121",
    "lon": "25.4682",
    "support_forms": "in_person;phone",
    "topics": "basics;identification",
    "languages": "fi;sv",
    "target_groups": "seniors",
    "service_area": "region:Pohjois-Pohjanmaa",
    "opening_hours": "Mo-Fr 09:00-16:00; PH off",
    "phone": "+358 000 0000 001",
    "email": "tuki@example.org",
    "website": "https://example.org/tuki",
    "free_of_charge": "yes",
    "wheelchair_accessible": "1",
    "booking_required": "false",
    "description_fi": "Testitietue.",
    "description_sv": "",
    "description_en": "",
}


def write_csv(path: Path, rows: list[dict[str, str]], header: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def row(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


def test_valid_csv_is_imported_with_every_field(database, cli, tmp_path):
    path = write_csv(
        tmp_path / "p.csv", [row(), row(id="good-2", lat="", lon="", municipality="Vasa")]
    )
    status, out, err = cli(database.url, "providers", "import", str(path))
    assert status == 0, err
    assert "2 providers imported (2 new, 0 updated" in out
    assert "line 3: lat: no coordinates: using the centre of Vaasa" in err
    stored = database.repository.get_many(["good-1", "good-2"])
    one = stored["good-1"]
    assert (one.name_sv, one.org_type, one.municipality_code, one.postal_code) == (
        "Teststöd Uleåborg",
        "association",
        "564",
        "90100",
    )
    assert one.support_forms == {"in_person", "phone"}
    assert one.topics == {"basics", "identification"}
    assert one.languages == {"fi", "sv"}
    assert one.target_groups == {"seniors"}
    assert [str(a) for a in one.service_areas] == ["region:17"]
    assert (one.free_of_charge, one.wheelchair_accessible, one.booking_required) == (
        True,
        True,
        False,
    )
    assert one.name_en is None and not one.location_is_municipality_centre
    two = stored["good-2"]
    assert two.location_is_municipality_centre and two.municipality_code == "905"


def test_valid_yaml_is_imported(database, cli, tmp_path):
    status, out, err = cli(
        database.url, "providers", "import", str(FIXTURES / "search_providers.yml")
    )
    assert status == 0, err
    assert "13 providers imported (13 new" in out
    library = database.repository.get_many(["oulu-library"])["oulu-library"]
    assert library.languages == {"fi", "sv", "en"} and library.free_of_charge is True


def test_reimport_is_idempotent_and_updates_by_id(database, cli, tmp_path):
    path = write_csv(tmp_path / "p.csv", [row(), row(id="good-2")])
    assert cli(database.url, "providers", "import", str(path))[0] == 0
    first = database.repository.get_many(["good-1", "good-2"])
    status, out, _ = cli(database.url, "providers", "import", str(path))
    assert status == 0 and "(0 new, 2 updated" in out
    assert database.repository.get_many(["good-1", "good-2"]) == first
    assert database.repository.count() == 2
    # A changed row replaces the stored one, lists included.
    write_csv(path, [row(topics="email", languages="en", service_area="nationwide")])
    assert cli(database.url, "providers", "import", str(path))[0] == 0
    changed = database.repository.get_many(["good-1"])["good-1"]
    assert changed.topics == {"email"} and changed.languages == {"en"}
    assert [str(a) for a in changed.service_areas] == ["nationwide"]
    assert database.repository.count() == 2


BAD_ROWS: list[tuple[dict[str, str], str]] = [
    (
        row(id="bad-municipality", municipality="Ouluu"),
        "municipality: unknown municipality 'Ouluu' (did you mean: Oulu",
    ),
    (row(id="bad-lat", lat="abc"), "lat: 'abc' is not a number"),
    (row(id="bad-topic", topics="basics;emial"), "topics: unknown value 'emial'"),
    (row(id="bad-bool", free_of_charge="maybe"), "free_of_charge: 'maybe' is not a boolean"),
    (row(id="bad-hours", opening_hours="Mo-Fr 9-16"), "opening_hours: 'Mo-Fr 9-16'"),
    (row(), "id: 'good-1' already on line 2"),
    (row(id="no-name", name_fi=""), "name_fi: required"),
    (row(id="bad-email", email="not-an-email"), "email: 'not-an-email' is not an e-mail address"),
    (row(id="bad-area", service_area="region:Atlantis"), "service_area: unknown region 'Atlantis'"),
    (row(id="half-point", lon=""), "lon: give both lat and lon, or neither"),
    (row(id="abroad", lat="48.85", lon="2.35"), "lat: 48.85, 2.35 is outside Finland"),
    (row(id="bad-form", support_forms="remote"), "support_forms: unknown value 'remote'"),
    (row(id="bad-org", org_type="club"), "org_type: 'club' is not one of"),
    (row(id="bad-postcode", postal_code="123"), "postal_code: '123' is not a postal code"),
    (row(id="bad-language", languages="fi;klingon"), "languages: unknown value 'klingon'"),
    (row(id="bad id!"), "id: 'bad id!': use letters"),
]


def test_a_file_with_bad_rows_is_rejected_whole_with_every_error(database, cli, tmp_path):
    existing = write_csv(tmp_path / "existing.csv", [row(name_fi="Ennallaan")])
    assert cli(database.url, "providers", "import", str(existing))[0] == 0
    before = database.repository.get_many(["good-1"])

    rows = [row(id="good-1", name_fi="Muuttunut"), *(r for r, _ in BAD_ROWS), row(id="fine-last")]
    path = write_csv(tmp_path / "bad.csv", rows)
    # A row with the wrong number of fields, appended by hand.
    with path.open("a", encoding="utf-8") as fh:
        fh.write("short-row,Vain kaksi kenttää\n")

    status, out, err = cli(database.url, "providers", "import", str(path))
    assert status == 1
    for number, (_, message) in enumerate(BAD_ROWS, start=3):
        assert f"line {number}: {message}" in err, (number, message, err)
    assert f"line {len(rows) + 2}: row: 2 fields, the header has 26" in err
    assert "rejected, nothing imported" in err
    assert "Traceback" not in err
    # Nothing changed: neither the valid rows of the file nor the existing provider.
    assert database.repository.count() == 1
    assert database.repository.get_many(["good-1"]) == before


def test_file_level_problems_are_reported_without_a_traceback(database, cli, tmp_path):
    missing = tmp_path / "missing.csv"
    status, _, err = cli(database.url, "providers", "import", str(missing))
    assert status == 1 and "no such file" in err

    header = tmp_path / "header.csv"
    write_csv(header, [row()], header=(*(c for c in COLUMNS if c != "topics"), "colour"))
    status, _, err = cli(database.url, "providers", "import", str(header))
    assert status == 1
    assert "line 1: header: missing columns: topics; unknown columns: colour" in err

    semicolons = tmp_path / "excel.csv"
    semicolons.write_text(";".join(COLUMNS) + "\n", encoding="utf-8")
    status, _, err = cli(database.url, "providers", "import", str(semicolons))
    assert status == 1 and "separated by ';'" in err

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(",".join(COLUMNS).encode() + "\nx,Närpiö\n".encode("latin-1"))
    status, _, err = cli(database.url, "providers", "import", str(latin1))
    assert status == 1 and "not UTF-8" in err

    text = tmp_path / "notes.txt"
    text.write_text("hello")
    status, _, err = cli(database.url, "providers", "import", str(text))
    assert status == 1 and "unknown file type '.txt'" in err
    assert database.repository.count() == 0


def test_yaml_errors_carry_the_line_of_the_provider(database, cli, tmp_path):
    document = {
        "providers": [
            {k: v for k, v in GOOD.items() if v},
            {
                **{k: v for k, v in GOOD.items() if v},
                "id": "second",
                "topics": ["tv"],
                "colour": "red",
            },
        ]
    }
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    second_line = next(
        n
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "id: second" in text
    )
    status, _, err = cli(database.url, "providers", "import", str(path))
    assert status == 1
    assert f"line {second_line}: topics: unknown value 'tv'" in err
    assert f"line {second_line}: colour: unknown field" in err

    broken = tmp_path / "broken.yml"
    broken.write_text("providers:\n  - id: x\n    name_fi: [unclosed\n", encoding="utf-8")
    status, _, err = cli(database.url, "providers", "import", str(broken))
    assert status == 1 and "not valid YAML" in err


def test_import_needs_a_migrated_database(cli, tmp_path):
    path = write_csv(tmp_path / "p.csv", [row()])
    status, _, err = cli(f"sqlite:///{tmp_path / 'empty.db'}", "providers", "import", str(path))
    assert status == 1 and "run 'digituki db upgrade' first" in err


def test_large_files_show_progress(database, cli, tmp_path):
    if database.backend != "sqlite":
        pytest.skip("one backend is enough for the progress bar")
    rows = [row(id=f"bulk-{i:05d}", lat="", lon="") for i in range(2500)]
    path = write_csv(tmp_path / "bulk.csv", rows)
    status, out, err = cli(database.url, "providers", "import", str(path))
    assert status == 0
    assert "checking" in err and "writing" in err and "2500/2500" in err
    assert "... and 2470 more warnings" in err
    assert database.repository.count() == 2500


def test_dry_run_writes_nothing(database, cli, tmp_path):
    path = write_csv(tmp_path / "p.csv", [row()])
    status, out, _ = cli(database.url, "providers", "import", "--dry-run", str(path))
    assert status == 0 and "1 providers are valid (dry run" in out
    assert database.repository.count() == 0


def test_csv_with_byte_order_mark_and_crlf(database, cli, tmp_path):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(row())
    path = tmp_path / "excel-export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    status, _, err = cli(database.url, "providers", "import", str(path))
    assert status == 0, err


def test_quiet_import_counts_warnings_without_listing_them(database, cli, tmp_path):
    path = write_csv(tmp_path / "p.csv", [row(lat="", lon="")])
    status, out, err = cli(database.url, "providers", "import", "--quiet", str(path))
    assert status == 0 and "1 warnings" in out
    assert "warning:" not in err
