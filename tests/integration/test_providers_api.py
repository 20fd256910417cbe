"""Provider upkeep through the API: a coordinator's own regions only, the import's rules, a preview."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.handoff import Agents
from bot.providers.files import COLUMNS
from bot.providers.importer import provider_row
from bot.providers.repository import SqlProviderRepository
from bot.web.app import init_app
from tests import ptv_samples
from tests.conftest import FIXTURES
from tests.helpers import load_providers

PASSWORD = "kirjasto-2026-syksy"


@pytest.fixture
async def api(database, gazetteer):  # type: ignore[no-untyped-def]
    sessions = make_session_factory(database.engine)
    Agents(sessions).add(
        "pohjanmaa", PASSWORD, role="coordinator", languages=["sv"], region_codes=["15"]
    )
    Agents(sessions).add("tyontekija", PASSWORD, role="worker", languages=["fi"])
    repository = SqlProviderRepository(sessions)
    repository.upsert(load_providers(FIXTURES / "search_providers.yml", gazetteer))
    settings = dataclasses.replace(Settings(), database_url=database.url)
    async with TestClient(TestServer(init_app(settings))) as client:
        client.repository = repository  # type: ignore[attr-defined]
        client.gazetteer = gazetteer  # type: ignore[attr-defined]
        yield client


async def log_in(client: TestClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200
    return {"X-CSRF-Token": (await response.json())["csrf_token"]}


async def test_a_coordinator_lists_and_reads_only_their_regions_providers(api):
    await log_in(api, "pohjanmaa")
    body = await (await api.get("/api/v1/providers")).json()
    assert sorted(p["id"] for p in body["providers"]) == ["narpes-sv", "vaasa-sv"]
    assert {p["region"] for p in body["providers"]} == {"15"}
    found = await (await api.get("/api/v1/providers", params={"q": "närpes"})).json()
    assert [p["id"] for p in found["providers"]] == ["narpes-sv"]
    one = await (await api.get("/api/v1/providers/narpes-sv")).json()
    assert one["fields"]["name_sv"] == "Testpunkt Närpes" and one["active"] is True
    outside = await api.get("/api/v1/providers/oulu-library")
    assert outside.status == 403 and (await outside.json())["error"] == "outside_regions"
    assert (await api.get("/api/v1/providers/no-such")).status == 404


async def test_an_edit_is_validated_like_an_import_row_and_cannot_leave_the_regions(api):
    csrf = await log_in(api, "pohjanmaa")
    changed = await api.put(
        "/api/v1/providers/narpes-sv",
        json={"fields": {"opening_hours": "Mo-Fr 10:00-14:00", "languages": "sv;fi"}},
        headers=csrf,
    )
    assert changed.status == 200, await changed.text()
    stored = api.repository.get("narpes-sv")
    assert stored.opening_hours == "Mo-Fr 10:00-14:00" and stored.languages == {"sv", "fi"}
    assert stored.phone == "+358 000 0000 901"  # what was not sent stays

    bad = await api.put(
        "/api/v1/providers/narpes-sv",
        json={"fields": {"opening_hours": "whenever", "topics": "cooking"}},
        headers=csrf,
    )
    assert bad.status == 400
    assert {e["column"] for e in (await bad.json())["errors"]} == {"opening_hours", "topics"}
    moved = await api.put(
        "/api/v1/providers/narpes-sv", json={"fields": {"municipality": "Oulu"}}, headers=csrf
    )
    assert moved.status == 403 and api.repository.get("narpes-sv").municipality_code == "545"
    renamed = await api.put(
        "/api/v1/providers/narpes-sv", json={"fields": {"id": "other"}}, headers=csrf
    )
    assert renamed.status == 400
    foreign = await api.put(
        "/api/v1/providers/oulu-library", json={"fields": {"name_fi": "X"}}, headers=csrf
    )
    assert (
        foreign.status == 403 and api.repository.get("oulu-library").name_fi == "Testikirjasto Oulu"
    )


async def test_two_coordinators_editing_one_provider_never_overwrite_each_other_unseen(api):
    csrf = await log_in(api, "pohjanmaa")
    opened = await api.get("/api/v1/providers/narpes-sv")
    first = await opened.json()
    assert opened.headers["ETag"] == f'"{first["version"]}"'
    # Both opened version 1; the first saves.
    saved = await api.put(
        "/api/v1/providers/narpes-sv",
        json={"fields": {"phone": "+358 000 0000 902"}, "version": first["version"]},
        headers=csrf,
    )
    assert saved.status == 200
    after = await saved.json()
    assert after["version"] != first["version"]
    assert saved.headers["ETag"] == f'"{after["version"]}"'
    # The second, from the same version: refused, and told what is there now.
    stale = await api.put(
        "/api/v1/providers/narpes-sv",
        json={"fields": {"opening_hours": "Mo 10:00-12:00"}, "version": first["version"]},
        headers=csrf,
    )
    assert stale.status == 409
    conflict = await stale.json()
    assert conflict["error"] == "changed" and conflict["version"] == after["version"]
    assert conflict["fields"]["phone"] == "+358 000 0000 902"
    assert api.repository.get("narpes-sv").opening_hours != "Mo 10:00-12:00"
    # If-Match works as well, and the current version goes through.
    again = await api.put(
        "/api/v1/providers/narpes-sv",
        json={"fields": {"opening_hours": "Mo 10:00-12:00"}},
        headers={**csrf, "If-Match": f'"{first["version"]}"'},
    )
    assert again.status == 409
    current = await api.put(
        "/api/v1/providers/narpes-sv",
        json={"fields": {"opening_hours": "Mo 10:00-12:00"}},
        headers={**csrf, "If-Match": f'"{after["version"]}"'},
    )
    assert current.status == 200
    assert api.repository.get("narpes-sv").opening_hours == "Mo 10:00-12:00"
    # Reading it twice gives one version; deactivating does not change it.
    one = (await (await api.get("/api/v1/providers/narpes-sv")).json())["version"]
    assert one == (await current.json())["version"]
    await api.put("/api/v1/providers/narpes-sv/active", json={"active": False}, headers=csrf)
    assert (await (await api.get("/api/v1/providers/narpes-sv")).json())["version"] == one


async def test_deactivating_keeps_the_provider_but_takes_it_out_of_search(api):
    csrf = await log_in(api, "pohjanmaa")
    before = api.repository.count()
    off = await api.put("/api/v1/providers/vaasa-sv/active", json={"active": False}, headers=csrf)
    assert off.status == 204
    assert api.repository.count() == before - 1 and api.repository.get("vaasa-sv").active is False
    listed = await (await api.get("/api/v1/providers", params={"active": "false"})).json()
    assert [p["id"] for p in listed["providers"]] == ["vaasa-sv"]
    on = await api.put("/api/v1/providers/vaasa-sv/active", json={"active": True}, headers=csrf)
    assert on.status == 204 and api.repository.count() == before


def _csv(*rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def test_an_upload_is_previewed_then_applied_and_refused_outside_the_regions(api):
    csrf = await log_in(api, "pohjanmaa")
    narpes = {
        **provider_row(api.repository.get("narpes-sv"), api.gazetteer),
        "phone": "+358 000 0000 903",
    }
    vaasa = provider_row(api.repository.get("vaasa-sv"), api.gazetteer)
    new = {
        **vaasa,
        "id": "korsholm-new",
        "name_fi": "Testipiste Mustasaari",
        "municipality": "Korsholm",
    }
    body = _csv(narpes, vaasa, new)
    preview = await (await api.post("/api/v1/providers/upload", data=body, headers=csrf)).json()
    assert (preview["new"], preview["changed"], preview["unchanged"]) == (
        ["korsholm-new"], [{"id": "narpes-sv", "fields": ["phone"]}], 1,
    )  # fmt: skip
    assert preview["applied"] is False and api.repository.get("korsholm-new") is None

    applied = await api.post(
        "/api/v1/providers/upload", params={"apply": "true"}, data=body, headers=csrf
    )
    assert applied.status == 200 and (await applied.json())["applied"] is True
    assert api.repository.get("korsholm-new") is not None
    assert api.repository.get("narpes-sv").phone == "+358 000 0000 903"

    oulu = {
        **provider_row(api.repository.get("oulu-library"), api.gazetteer),
        "name_fi": "Muutettu",
    }
    refused = await api.post(
        "/api/v1/providers/upload", params={"apply": "true"}, data=_csv(oulu), headers=csrf
    )
    assert refused.status == 409 and (await refused.json())["outside_regions"] == ["oulu-library"]
    assert api.repository.get("oulu-library").name_fi == "Testikirjasto Oulu"

    broken = {**narpes, "topics": "cooking"}
    invalid = await api.post(
        "/api/v1/providers/upload", params={"apply": "true"}, data=_csv(broken), headers=csrf
    )
    assert invalid.status == 400 and (await invalid.json())["errors"][0]["column"] == "topics"
    not_csv = await api.post("/api/v1/providers/upload", data=b"\xff\xfe nonsense", headers=csrf)
    assert not_csv.status == 400


async def test_workers_cannot_touch_providers(api):
    csrf = await log_in(api, "tyontekija")
    assert (await api.get("/api/v1/providers")).status == 403
    assert (
        await api.put("/api/v1/providers/narpes-sv/active", json={"active": False}, headers=csrf)
    ).status == 403


async def test_a_ptv_document_is_previewed_with_the_same_rules_and_refused_outside_the_regions(
    api, database
):
    Agents(make_session_factory(database.engine)).add(
        "kaikki", PASSWORD, role="admin", languages=["fi"]
    )
    document = json.dumps(
        {"pageNumber": 1, "pageCount": 1, "itemList": [ptv_samples.location()]}
    ).encode()
    csrf = await log_in(api, "pohjanmaa")
    preview = await (
        await api.post(
            "/api/v1/providers/upload", params={"format": "ptv"}, data=document, headers=csrf
        )
    ).json()
    [new] = preview["new"]
    assert new.startswith("ptv-") and preview["outside_regions"] == [new]  # an Oulu point
    refused = await api.post(
        "/api/v1/providers/upload",
        params={"format": "ptv", "apply": "true"},
        data=document,
        headers=csrf,
    )
    assert refused.status == 409 and api.repository.get(new) is None

    csrf = await log_in(api, "kaikki")
    applied = await api.post(
        "/api/v1/providers/upload",
        params={"format": "ptv", "apply": "true"},
        data=document,
        headers=csrf,
    )
    assert applied.status == 200, await applied.text()
    stored = api.repository.get(new)
    assert stored is not None and stored.source == "ptv" and stored.municipality_code == "564"
    broken = await api.post(
        "/api/v1/providers/upload", params={"format": "ptv"}, data=b"{not json", headers=csrf
    )
    assert broken.status == 400


async def test_an_upload_with_text_that_is_not_unicode_gets_a_clear_400(api):
    csrf = await log_in(api, "pohjanmaa")
    yaml_text = b'providers:\n  - id: x\n    name_fi: "bad \\ud800 name"\n'
    response = await api.post(
        "/api/v1/providers/upload", params={"format": "yaml"}, data=yaml_text, headers=csrf
    )
    assert response.status == 400 and (await response.json())["error"] == "invalid"
