"""Provider upkeep for coordinators (``/api/v1/providers``): list, edit, deactivate, upload.

A coordinator limited to regions sees and changes the providers of those regions
only, and may not move one out of them. Edits and uploads go through the same
validation as ``digituki providers import`` (``bot.providers.files``,
``bot.providers.importer``), so the rules are written once; an upload is previewed (what would be new, changed,
unchanged) before it is applied.

Two coordinators may open the same provider. Each read carries the provider's
``version`` (also its ``ETag``); an edit that names the version it started from
(``version`` in the body, or ``If-Match``) is refused with 409 ``changed`` when the
provider has changed since, with what it is now, so nobody overwrites another's
work unseen. An edit without a version is applied as it is (scripts).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import Settings
from bot.geo import Gazetteer
from bot.providers import ptv
from bot.providers.files import COLUMNS, ProviderFileError, csv_rows, yaml_rows
from bot.providers.importer import (
    ImportIssue,
    ParsedFile,
    provider_row,
    validate_rows,
)
from bot.providers.model import Provider
from bot.web.api_common import AGENT_KEY, error_response, json_response, object_schema, read_json
from bot.web.keys import GAZETTEER, PROVIDER_EDITS, PROVIDERS, SETTINGS
from bot.web.reports_api import allowed_regions

MAX_UPLOAD = 5 * 1024 * 1024
MAX_LISTED = 500
UPLOAD_FORMATS = ("csv", "yaml", "ptv")


def _region(provider: Provider, gazetteer: Gazetteer) -> str:
    return gazetteer.municipality(provider.municipality_code).region_code


def _may_change(request: web.Request, provider: Provider) -> bool:
    regions = allowed_regions(request[AGENT_KEY])
    return regions is None or _region(provider, request.app[GAZETTEER]) in regions


def _summary(provider: Provider, gazetteer: Gazetteer) -> dict[str, Any]:
    municipality = gazetteer.municipality(provider.municipality_code)
    return {
        "id": provider.id,
        "name_fi": provider.name_fi,
        "name_sv": provider.name_sv,
        "municipality_code": municipality.code,
        "municipality": municipality.name_fi,
        "region": municipality.region_code,
        "org_type": provider.org_type,
        "support_forms": sorted(provider.support_forms),
        "topics": sorted(provider.topics),
        "languages": sorted(provider.languages),
        "active": provider.active,
        "source": provider.source,
    }


def _issues(issues: list[ImportIssue]) -> list[dict[str, Any]]:
    return [{"line": i.line, "column": i.column, "message": i.reason} for i in issues]


async def list_providers(request: web.Request) -> web.Response:
    """Providers of my regions; ``q`` matches id, name or municipality, ``active`` filters."""
    gazetteer = request.app[GAZETTEER]
    everything = await asyncio.to_thread(request.app[PROVIDERS].all)
    words = (request.query.get("q") or "").casefold().split()
    active = request.query.get("active")
    found = []
    for provider in everything:
        if not _may_change(request, provider):
            continue
        if active in ("true", "false") and provider.active != (active == "true"):
            continue
        summary = _summary(provider, gazetteer)
        haystack = " ".join(
            str(summary[k] or "") for k in ("id", "name_fi", "name_sv", "municipality")
        ).casefold()
        if all(word in haystack for word in words):
            found.append(summary)
    return json_response({"providers": found[:MAX_LISTED], "total": len(found)})


async def _own(request: web.Request) -> Provider | web.Response:
    provider = await asyncio.to_thread(
        request.app[PROVIDERS].get, request.match_info["provider_id"]
    )
    if provider is None:
        return error_response(404, "not_found", "no such provider")
    if not _may_change(request, provider):
        return error_response(403, "outside_regions", "this provider is not in your regions")
    return provider


def provider_version(row: dict[str, str]) -> str:
    """The version of a provider's fields (:func:`provider_row`): a hash of their values."""
    canonical = json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def _expected_version(request: web.Request, body: dict[str, Any]) -> str | None:
    """The version an edit started from: ``version`` in the body, else ``If-Match``."""
    given = body.get("version")
    if isinstance(given, str) and given:
        return given
    header = request.headers.get("If-Match", "").strip()
    if header and header != "*":
        return header.removeprefix("W/").strip('"')
    return None


def _versioned(payload: dict[str, Any], status: int = 200) -> web.Response:
    response = json_response(payload, status)
    response.headers["ETag"] = f'"{payload["version"]}"'
    return response


async def get_provider(request: web.Request) -> web.Response:
    """One provider as the fields of the import format, with its state and version."""
    provider = await _own(request)
    if isinstance(provider, web.Response):
        return provider
    row = provider_row(provider, request.app[GAZETTEER])
    return _versioned(
        {
            "fields": row,
            "version": provider_version(row),
            "active": provider.active,
            "source": provider.source,
            "columns": COLUMNS,
        }
    )


async def edit_provider(request: web.Request) -> web.Response:
    """Changes some fields; the whole provider is validated as an import row would be."""
    body = await read_json(request)
    async with request.app[PROVIDER_EDITS]:
        return await _edit(request, body)


async def _edit(request: web.Request, body: dict[str, Any]) -> web.Response:
    provider = await _own(request)
    if isinstance(provider, web.Response):
        return provider
    gazetteer = request.app[GAZETTEER]
    now = provider_row(provider, gazetteer)
    version = provider_version(now)
    expected = _expected_version(request, body)
    if expected is not None and expected != version:
        return _versioned(
            {
                "error": "changed",
                "message": "someone changed this provider after you opened it: "
                "nothing was saved",
                "fields": now,
                "version": version,
            },
            409,
        )
    changes = body.get("fields")
    if not isinstance(changes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in changes.items()
    ):
        return error_response(400, "bad_json", "fields must map column names to text")
    if changes.get("id", provider.id) != provider.id:
        return error_response(400, "invalid", "the id of a provider does not change")
    row = {**now, **changes}
    parsed = validate_rows([(1, row)], gazetteer, source=provider.source)
    if parsed.errors:
        return json_response(
            {"error": "invalid", "message": "not saved", "errors": _issues(parsed.errors)}, 400
        )
    [changed] = parsed.providers
    changed = dataclasses.replace(changed, active=provider.active)
    if not _may_change(request, changed):
        return error_response(403, "outside_regions", "that municipality is not in your regions")
    await asyncio.to_thread(request.app[PROVIDERS].upsert, [changed])
    saved = provider_row(changed, gazetteer)
    return _versioned(
        {"fields": saved, "version": provider_version(saved), "warnings": _issues(parsed.warnings)}
    )


async def set_active(request: web.Request) -> web.Response:
    """Deactivates (or activates again) a provider; nothing is deleted."""
    provider = await _own(request)
    if isinstance(provider, web.Response):
        return provider
    body = await read_json(request)
    if not isinstance(body.get("active"), bool):
        return error_response(400, "bad_json", "active must be true or false")
    await asyncio.to_thread(
        request.app[PROVIDERS].upsert, [dataclasses.replace(provider, active=body["active"])]
    )
    return web.Response(status=204)


async def _read_upload(request: web.Request) -> bytes | None:
    """The uploaded file, or ``None`` when it is over :data:`MAX_UPLOAD`."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_UPLOAD:
            return None
    return bytes(body)


async def upload(request: web.Request) -> web.Response:
    """``?format=csv|yaml|ptv&apply=false``: what the file would change; ``apply=true`` writes it.

    Nothing is written when any row is invalid or any provider lies outside my regions.
    """
    file_format = request.query.get("format", "csv")
    if file_format not in UPLOAD_FORMATS:
        return error_response(
            400, "bad_query", f"format must be one of {', '.join(UPLOAD_FORMATS)}"
        )
    apply = request.query.get("apply") == "true"
    raw = await _read_upload(request)
    if raw is None:
        return error_response(
            413, "too_large", f"files are limited to {MAX_UPLOAD // 1024 // 1024} MB"
        )
    gazetteer = request.app[GAZETTEER]
    unmapped: list[str] = []
    try:
        if file_format == "ptv":
            parsed, unmapped, count = await asyncio.to_thread(
                _read_ptv, raw, gazetteer, request.app[SETTINGS]
            )
        else:
            text = raw.decode("utf-8-sig")
            rows = list(csv_rows(text)) if file_format == "csv" else yaml_rows(text)
            count = len(rows)
            # Escapes in YAML can make lone surrogates: text no database can store.
            json.dumps(
                [dict(values) for _, values in rows], ensure_ascii=False, default=str
            ).encode("utf-8")
            parsed = await asyncio.to_thread(validate_rows, rows, gazetteer)
    except (UnicodeDecodeError, UnicodeEncodeError):
        return error_response(400, "invalid", "the file is not valid UTF-8 text")
    except (ProviderFileError, ptv.MappingError) as error:
        return error_response(400, "invalid", str(error))
    existing = await asyncio.to_thread(
        request.app[PROVIDERS].get_many, [p.id for p in parsed.providers]
    )
    new, changed, unchanged, outside = [], [], 0, []
    to_write = []
    for provider in parsed.providers:
        old = existing.get(provider.id)
        if not _may_change(request, provider) or (old and not _may_change(request, old)):
            outside.append(provider.id)
        if old is None:
            new.append(provider.id)
            to_write.append(provider)
            continue
        provider = dataclasses.replace(provider, source=old.source)  # an upload reactivates
        to_write.append(provider)
        before, after = provider_row(old, gazetteer), provider_row(provider, gazetteer)
        fields = [c for c in COLUMNS if before[c] != after[c]]
        if fields or not old.active:
            changed.append(
                {"id": provider.id, "fields": fields + ([] if old.active else ["active"])}
            )
        else:
            unchanged += 1
    preview = {
        "rows": count,
        "unmapped": unmapped,
        "new": new,
        "changed": changed,
        "unchanged": unchanged,
        "outside_regions": outside,
        "errors": _issues(parsed.errors),
        "warnings": _issues(parsed.warnings),
        "applied": False,
    }
    if apply:
        if parsed.errors or outside:
            return json_response({**preview, "error": "not_applied"}, 409 if outside else 400)
        await asyncio.to_thread(request.app[PROVIDERS].upsert, to_write)
        preview["applied"] = True
    return json_response(preview)


def _read_ptv(
    raw: bytes, gazetteer: Gazetteer, settings: Settings
) -> tuple[ParsedFile, list[str], int]:
    """A PTV document (a channel, a list or a page of one) as a parsed file, and what no rule maps."""
    mapping = ptv.load_mapping(settings.data_dir / "ptv_mapping.yml", gazetteer)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.json"
        path.write_bytes(raw)
        documents = ptv.read_ptv_input(path)
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    result = ptv.convert_ptv(documents, mapping, gazetteer, today=today)

    def issues(found: list[ptv.PtvIssue]) -> list[ImportIssue]:
        return [ImportIssue(0, f"{i.where}: {i.field}", i.reason) for i in found]

    parsed = ParsedFile()
    parsed.providers.extend(result.providers)
    parsed.errors.extend(issues(result.errors))
    parsed.warnings.extend(issues(result.warnings))
    parsed.warnings.extend(  # shown where warnings are: nothing is imported for these
        ImportIssue(0, f"{u.guid} {u.name}", "no rule of the mapping file matches: not imported")
        for u in result.unmapped
    )
    return parsed, [str(u) for u in result.unmapped], len(documents.channels)


PROVIDER = "/api/v1/providers/{provider_id}"
EDIT_BODY = object_schema(
    ("fields",),
    fields={"type": "object", "additionalProperties": {"type": "string"}},
    version={"type": "string", "description": "the version read; 409 if it changed since"},
)
ACTIVE_BODY = object_schema(("active",), active={"type": "boolean"})
LIST_QUERY = (
    {"name": "q", "in": "query", "schema": {"type": "string"}},
    {"name": "active", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
)
UPLOAD_QUERY = (
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(UPLOAD_FORMATS)}},
    {"name": "apply", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
)
