"""``digituki providers import --format ptv`` on synthetic documents, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ptv_samples import MAPPING_YAML, guid, location, texts, write_json


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yml"
    path.write_text(MAPPING_YAML, encoding="utf-8")
    return path


@pytest.fixture
def ptv(cli, database, mapping_file):
    """Run the PTV import with the test mapping: ``ptv(path, *options)``."""

    def run(path: Path, *options: str) -> tuple[int, str, str]:
        return cli(
            database.url, "providers", "import", "--mapping", str(mapping_file), *options, str(path)
        )

    return run


def test_json_is_recognised_as_ptv_and_found_by_the_search(ptv, cli, database, tmp_path):
    path = write_json(tmp_path / "page.json", {"pageNumber": 1, "itemList": [location()]})
    status, out, err = ptv(path)
    assert status == 0, err
    assert "1 providers imported (1 new, 0 updated, 0 unchanged, 0 deactivated, 0 warnings" in out
    status, out, _ = cli(database.url, "providers", "search", "-m", "Oulu", "--json")
    assert status == 0
    results = json.loads(out)["results"]
    assert [r["id"] for r in results] == [f"ptv-{guid('1')}"]


def test_format_ptv_reads_any_file_name(ptv, tmp_path):
    path = write_json(tmp_path / "export.data", [location()])
    status, out, _ = ptv(path, "--format", "ptv")
    assert status == 0 and "1 providers imported" in out


def test_a_channel_with_errors_rejects_the_whole_input(ptv, database, tmp_path):
    path = write_json(tmp_path / "one.json", [location()])
    assert ptv(path)[0] == 0
    before = database.repository.get_many([f"ptv-{guid('1')}"])

    changed = location(serviceChannelNames=texts(fi="Digitukipiste uusi nimi"))
    nameless = location(id=guid("9"), serviceChannelNames=[])
    path = write_json(tmp_path / "two.json", [changed, nameless, location(id="x")])
    status, out, err = ptv(path)
    assert status == 1 and out == ""
    assert f"error: channel {guid('9')}: serviceChannelNames: no name in Finnish" in err
    assert "error: two.json item 3: id: 'x' is not a PTV id (a GUID)" in err
    assert "rejected, nothing imported: 2 errors in 2 of 3 channels" in err
    assert database.repository.get_many([f"ptv-{guid('1')}"]) == before
    assert database.repository.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"itemList": [', "broken.json: not valid JSON: Expecting value at line 1, column 15"),
        ('"just text"', "broken.json: not a PTV document"),
    ],
)
def test_unreadable_documents_are_reported_without_a_traceback(
    ptv, database, tmp_path, content, message
):
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    status, _, err = ptv(path)
    assert status == 1 and message in err and "Traceback" not in err
    assert database.repository.count() == 0


def test_a_folder_with_one_bad_file_is_rejected_whole(ptv, database, tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    write_json(folder / "1.json", [location()])
    (folder / "2.json").write_text("{", encoding="utf-8")
    status, _, err = ptv(folder)
    assert status == 1 and "pages: 2.json: not valid JSON" in err
    assert database.repository.count() == 0


def test_mapping_problems_stop_the_import(cli, database, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("channel_types: {ServiceLocation: [remote]}\n", encoding="utf-8")
    path = write_json(tmp_path / "one.json", location())
    status, _, err = cli(database.url, "providers", "import", "--mapping", str(bad), str(path))
    assert status == 1
    assert "bad.yml: channel_types.ServiceLocation: unknown 'remote'" in err


def test_options_that_do_not_fit_the_format_are_refused(ptv, cli, database, tmp_path):
    path = write_json(tmp_path / "one.json", location())
    status, _, err = ptv(path, "--source", "kunta")
    assert status == 1 and "PTV providers always have the source 'ptv'" in err
    csv = tmp_path / "p.csv"
    csv.write_text("id\n", encoding="utf-8")
    status, _, err = cli(database.url, "providers", "import", "--full", str(csv))
    assert status == 1 and "--full is for PTV imports" in err


def test_full_import_deactivates_only_ptv_providers_and_brings_them_back(ptv, database, tmp_path):
    both = write_json(tmp_path / "both.json", [location(), location(id=guid("2"))])
    assert ptv(both, "--full")[0] == 0
    one = write_json(tmp_path / "one.json", [location()])
    status, out, _ = ptv(one, "--full")
    assert status == 0 and "(0 new, 0 updated, 1 unchanged, 1 deactivated" in out
    assert not database.repository.get_many([f"ptv-{guid('2')}"])[f"ptv-{guid('2')}"].active
    status, out, _ = ptv(both)
    assert status == 0 and "(0 new, 1 updated, 1 unchanged, 0 deactivated" in out
    assert database.repository.count() == 2


def test_full_import_with_nothing_mapped_is_refused(ptv, database, tmp_path):
    assert ptv(write_json(tmp_path / "one.json", location()))[0] == 0
    other = location(serviceChannelNames=texts(fi="Uimahalli"), serviceChannelDescriptions=[])
    status, _, err = ptv(write_json(tmp_path / "pool.json", other), "--full")
    assert status == 1 and "--full would deactivate every PTV provider" in err
    assert database.repository.count() == 1


def test_dry_run_reports_and_writes_nothing(ptv, database, tmp_path):
    channels = [
        location(),
        location(
            id=guid("2"), serviceChannelNames=texts(fi="Uimahalli"), serviceChannelDescriptions=[]
        ),
        location(id=guid("3"), serviceChannelType="WebPage"),
        location(id=guid("8")),
    ]
    status, out, err = ptv(write_json(tmp_path / "mixed.json", channels), "--dry-run")
    assert status == 0
    assert "1 providers are valid (dry run, nothing written; 0 warnings, 1 unmapped)" in out
    assert "skipped channels: 1 WebPage, 1 excluded by the mapping" in out
    assert f"unmapped: {guid('2')} Uimahalli" in err
    assert database.repository.count() == 0


def test_big_inputs_show_progress_and_cap_the_lists(ptv, database, tmp_path):
    if database.backend != "sqlite":
        pytest.skip("one backend is enough for the progress bar")
    fallback = [dict(location()["addresses"][0])]
    fallback[0]["streetAddress"] = {**fallback[0]["streetAddress"], "coordinateState": "Failed"}
    channels = [
        location(id=f"{n:08x}-0000-4000-8000-000000000000", addresses=fallback) for n in range(2050)
    ]
    channels += [
        location(
            id=f"{n:08x}-1111-4111-8111-111111111111",
            serviceChannelNames=texts(fi=f"Uimahalli {n}"),
            serviceChannelDescriptions=[],
        )
        for n in range(40)
    ]
    path = write_json(tmp_path / "big.json", {"pageNumber": 1, "itemList": channels})
    status, out, err = ptv(path)
    assert status == 0, err[-2000:]
    assert "checking" in err and "writing" in err and "2090/2090" in err
    assert "... and 2020 more warnings" in err
    assert "... and 10 more unmapped channels (--list-unmapped lists all)" in err
    assert "2050 providers imported (2050 new" in out and "40 unmapped" in out
    status, _, err = ptv(path, "--quiet", "--list-unmapped", "--dry-run")
    assert status == 0 and err.count("unmapped: ") == 40 and "warning:" not in err
