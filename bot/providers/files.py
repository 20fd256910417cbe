"""Reading provider files (CSV, YAML) into raw rows, checking only the file's shape.

The rows' values are validated by :mod:`bot.providers.importer`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

COLUMNS: tuple[str, ...] = (
    "id",
    "name_fi",
    "name_sv",
    "name_en",
    "organisation",
    "org_type",
    "municipality",
    "street_address",
    "postal_code",
    "lat",
    "lon",
    "support_forms",
    "topics",
    "languages",
    "target_groups",
    "service_area",
    "opening_hours",
    "phone",
    "email",
    "website",
    "free_of_charge",
    "wheelchair_accessible",
    "booking_required",
    "description_fi",
    "description_sv",
    "description_en",
)
"""The CSV header, in the documented order (YAML uses the same keys)."""


class ProviderFileError(ValueError):
    """The file cannot be read at all (missing, wrong format, bad header)."""


RawRow = tuple[int, Mapping[str, Any]]
"""A row as read from a file: its line number and its values by column."""


def detect_format(path: Path) -> str:
    """``csv`` or ``yaml`` from the file name (``.json`` is PTV's, read by :mod:`bot.providers.ptv`)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".yml", ".yaml"):
        return "yaml"
    raise ProviderFileError(
        f"{path.name}: unknown file type {suffix!r} (use .csv, .yml, .yaml, or .json for PTV)"
    )


def read_raw_rows(path: Path, file_format: str | None = None) -> list[RawRow]:
    """Read the rows of a CSV or YAML provider file, checking its overall shape."""
    file_format = file_format or detect_format(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProviderFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ProviderFileError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    if file_format == "csv":
        return list(csv_rows(text))
    if file_format == "yaml":
        return yaml_rows(text)
    raise ProviderFileError(f"unknown format {file_format!r} (use csv or yaml)")


def csv_rows(text: str) -> Iterator[RawRow]:
    """Rows of a CSV text; the header must hold exactly :data:`COLUMNS`."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ProviderFileError("the file is empty (expected a header line)") from None
    except csv.Error as exc:
        raise ProviderFileError(f"line 1: {exc}") from None
    if len(header) == 1 and ";" in header[0]:
        raise ProviderFileError(
            "line 1: the header is separated by ';' — columns must be separated by ','"
        )
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(unknown)}")
    if duplicated:
        problems.append(f"repeated columns: {', '.join(duplicated)}")
    if problems:
        raise ProviderFileError("line 1: header: " + "; ".join(problems))
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ProviderFileError(f"line {reader.line_num}: {exc}") from None
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) != len(header):
            yield line, {"__shape__": f"{len(values)} fields, the header has {len(header)}"}
            continue
        yield line, dict(zip(header, values, strict=False))


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that remembers the line where each mapping starts."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def yaml_rows(text: str) -> list[RawRow]:
    """Rows of a YAML text: a list of providers, or a mapping with a ``providers`` list."""
    try:
        document = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ProviderFileError(f"{where}not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if isinstance(document, dict) and "providers" in document:
        document = document["providers"]
    if document is None:
        return []
    if not isinstance(document, list):
        raise ProviderFileError(
            "expected a list of providers (or a mapping with a 'providers' list)"
        )
    rows: list[RawRow] = []
    for item in document:
        if not isinstance(item, dict):
            raise ProviderFileError(f"every provider must be a mapping, got {type(item).__name__}")
        line = item.pop("__line__")
        rows.append((line, {str(k): v for k, v in item.items()}))
    return rows
