"""Generated requests against every operation of the handoff API's OpenAPI document.

Our own small schemathesis. The operations are read from ``GET /api/v1/openapi.json``
of a real aiohttp test server (SQLite, a fake Rasa), never listed here, so an
endpoint added to the API is fuzzed without touching this file. For every
operation and every identity (no session, worker, coordinator, admin, and a
worker whose ``X-CSRF-Token`` is wrong, down to bytes that are not UTF-8)
hypothesis generates path parameters (real request ids, random UUIDs, arbitrary
and very long text, raw bytes, all percent-quoted), the declared query
parameters, and bodies (from the operation's ``requestBody`` schema, arbitrary
JSON, wrong types, missing fields, raw bytes, empty bodies, wrong content types
and charsets, one oversize body), sometimes with Rasa down. Requests are written
to the socket byte for byte (see ``http_request``).

The contract checked on every answer: no 5xx; a status the document lists or a
plain refusal (400/401/403/404/405/409/413/415/422, and 502 only when Rasa is down
and the request reached it); an empty 204; a JSON object with an ``error`` string
for every error. Besides, an operation that needs a session answers 401 without
one (or 404 when the path matches no route), and an unsafe method never succeeds
with a wrong CSRF token.

How hypothesis meets asyncio: the servers live in the test's event loop, while
``@given`` functions are synchronous. Each test runs the hypothesis loop in a
worker thread (``asyncio.to_thread``) and every request goes back to the event
loop with ``asyncio.run_coroutine_threadsafe`` and waits for its answer, so the
servers keep serving while hypothesis runs. One ``@given`` run per (operation,
identity) guarantees that no pair is skipped, and a check after the run asserts
it.

A fuzzer that stops at its first failure hides the rest, so every pair runs and
the test fails at the end with all the broken contracts, grouped by operation
and kind, each with the request that broke it. Failures are not shrunk: that
costs hundreds of requests (and a scrypt hash per login). To get a minimal
example of the first failure of each test, run with ``DIGITUKI_FUZZ_SHRINK=1``.
The database changes during the run (claims, closes, logouts): after any
successful unsafe request the fuzzer tops the queue up and reopens ended
sessions. No example database is written (``database=None``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import re
import string
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.handoff import Agent, Agents, HandoffQueue, HandoffRequests
from bot.handoff.sessions import ConsoleSessions
from bot.web.app import init_app
from bot.web.keys import LOGIN_THROTTLE
from bot.web.throttle import LoginThrottle
from tests.conftest import Database
from tests.helpers import FakeRasa

PASSWORD = "kirjasto-2026-syksy"
OPENAPI = "/api/v1/openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
MAX_BODY = 64 * 1024  # init_app's client_max_size
REFUSALS = frozenset({400, 401, 403, 404, 405, 409, 413, 415, 422})
ROLES = ("anonymous", "worker", "coordinator", "admin", "forged_csrf")
REQUESTS_PER_TEST = 300
"""Shared by the (operation, identity) pairs, at least two each: the file's run time
stays about the same as endpoints are added (15 operations: 4 examples a pair)."""
LONG = dt.timedelta(days=1)
"""Sessions and waiting requests outlive the run."""
EVERYONE = Agent(0, "fuzzer", "fuzzer", "admin", ("fi", "sv", "en"), (), 20, False)
"""Whom the fuzzer asks for the request ids to aim at: every language and region."""


# --- the operations of the document -------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One method on one path of the document, with what it declares."""

    method: str
    path: str
    spec: Mapping[str, Any]
    parameters: tuple[Mapping[str, Any], ...]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_names(self) -> tuple[str, ...]:
        """Every ``{name}`` of the path, declared or not."""
        return tuple(re.findall(r"{([^}]+)}", self.path))

    @property
    def query(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(p for p in self.parameters if p.get("in") == "query")

    @property
    def body_schema(self) -> Mapping[str, Any] | None:
        content = (self.spec.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json")
        return None if media is None else media.get("schema", {})

    @property
    def produces(self) -> str:
        """The media type of a successful answer (JSON unless the document says otherwise)."""
        content = (self.spec.get("responses", {}).get("200") or {}).get("content") or {}
        return next(iter(content), "application/json")

    @property
    def needs_session(self) -> bool:
        return bool(self.spec.get("security"))

    @property
    def documented(self) -> frozenset[int]:
        return frozenset(int(code) for code in self.spec.get("responses", {}) if code.isdigit())


def operations(document: Mapping[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI 3 document, path-level parameters merged in."""
    found = []
    for path, item in document["paths"].items():
        shared = tuple(item.get("parameters", ()))
        for method, spec in item.items():
            if method in HTTP_METHODS:
                parameters = shared + tuple(spec.get("parameters", ()))
                found.append(Operation(method.upper(), path, spec, parameters))
    return found


# --- JSON schema (the subset the document uses) to strategies ------------------------------


def texts(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any text; half of it may hold lone surrogates, which JSON carries as ``\\ud800``.

    ``st.text`` never makes surrogates (they cannot be encoded), but a JSON parser
    hands them to the application all the same.
    """
    surrogates = st.integers(0xD800, 0xDFFF).map(chr)
    with_surrogates = st.lists(st.characters() | surrogates, min_size=min_size, max_size=max_size)
    return st.text(min_size=min_size, max_size=max_size) | with_surrogates.map("".join)


TEXT = texts()

ANY_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)

JSON_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(),
    "number": st.floats(),
    "string": TEXT,
    "array": st.lists(ANY_JSON, max_size=4),
    "object": st.dictionaries(TEXT, ANY_JSON, max_size=4),
}


def _resolve(schema: Mapping[str, Any], document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema a ``$ref`` points to (``#/components/schemas/...``), or the schema itself."""
    ref = schema.get("$ref")
    if not ref:
        return schema
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(target, document)


def from_schema(schema: Mapping[str, Any], document: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for ``schema``: object, string, boolean, integer, number, array, enum, nullable."""
    schema = _resolve(schema, document)
    kind = schema.get("type")
    strategy: st.SearchStrategy[Any]
    if "enum" in schema:
        strategy = st.sampled_from(schema["enum"])
    elif kind == "object":
        properties = {
            name: from_schema(sub, document) for name, sub in schema.get("properties", {}).items()
        }
        required = set(schema.get("required", ()))
        strategy = (
            st.fixed_dictionaries(
                {k: v for k, v in properties.items() if k in required},
                optional={k: v for k, v in properties.items() if k not in required},
            )
            if properties
            else st.dictionaries(TEXT, ANY_JSON, max_size=5)
        )
    elif kind == "string" and schema.get("format") == "uuid":
        strategy = st.uuids().map(str)
    elif kind == "string":
        strategy = texts(schema.get("minLength", 0), min(schema.get("maxLength", 80), 80))
    elif kind == "boolean":
        strategy = st.booleans()
    elif kind == "integer":
        strategy = st.integers(schema.get("minimum"), schema.get("maximum"))
    elif kind == "number":
        strategy = st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False)
    elif kind == "array":
        strategy = st.lists(
            from_schema(schema.get("items", {}), document),
            min_size=schema.get("minItems", 0),
            max_size=schema.get("maxItems", 5),
        )
    else:
        strategy = ANY_JSON
    return strategy | st.none() if schema.get("nullable") else strategy


def _invalid(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values that break ``schema``: another type, off the enum, a string too long or short.

    Built, not filtered: hypothesis' filters are slow when they reject often.
    """
    kind = schema.get("type")
    if kind not in JSON_TYPES:
        return st.nothing()  # anything goes
    excluded = {kind, "integer"} if kind == "number" else {kind}
    if schema.get("nullable"):
        excluded.add("null")
    wrong = st.one_of([s for name, s in JSON_TYPES.items() if name not in excluded])
    if "enum" in schema:
        wrong |= TEXT.map(lambda v: v if v not in schema["enum"] else v + "?")
    if kind == "string":
        char = st.sampled_from("aä€\U0001f600\ud800 ")
        if "maxLength" in schema:
            wrong |= char.map(lambda c: c * (schema["maxLength"] + 1))
        if schema.get("minLength", 0) > 0:
            wrong |= st.sampled_from(["", " " * schema["minLength"]])
    return wrong


def wrong_types(schema: Mapping[str, Any], document: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Bodies that break the schema: another JSON type, or some of the properties broken."""
    schema = _resolve(schema, document)
    properties = schema.get("properties") or {}
    if schema.get("type") != "object" or not properties:
        return _invalid(schema)
    mixed = {
        name: from_schema(sub, document) | _invalid(_resolve(sub, document))
        for name, sub in properties.items()
    }
    return _invalid(schema) | st.fixed_dictionaries({}, optional=mixed)


def missing_fields(
    schema: Mapping[str, Any], document: Mapping[str, Any]
) -> st.SearchStrategy[Any]:
    """Valid objects with some of their keys taken away."""

    def drop_some(value: Any) -> st.SearchStrategy[Any]:
        if not isinstance(value, dict) or not value:
            return st.just(value)
        return st.sets(st.sampled_from(sorted(value))).map(
            lambda gone: {k: v for k, v in value.items() if k not in gone}
        )

    return from_schema(schema, document).flatmap(drop_some)


# --- generated requests -------------------------------------------------------------------


@dataclass(frozen=True)
class KnownId:
    """The n-th request id in the database when the request is sent (modulo their number)."""

    n: int


@dataclass(frozen=True)
class Body:
    content: bytes | None  # None: no body at all
    content_type: str | None  # None: no Content-Type header at all
    label: str


@dataclass(frozen=True)
class Case:
    path: Mapping[str, KnownId | str]  # str: already percent-quoted
    query: Mapping[str, str]
    body: Body
    rasa_down: bool
    forged_csrf: bytes = b""  # the header the forged_csrf identity sends


def json_bodies(values: st.SearchStrategy[Any], label: str) -> st.SearchStrategy[Body]:
    """``values`` as JSON, escaped to ASCII or as raw UTF-8 (lone surrogates stay invalid)."""

    def encode(drawn: tuple[Any, bool]) -> Body:
        value, ascii_only = drawn
        text = json.dumps(value, ensure_ascii=ascii_only)
        return Body(text.encode("utf-8", "surrogatepass"), "application/json", label)

    return st.tuples(values, st.booleans()).map(encode)


CONTENT_TYPES = st.sampled_from(
    [
        None,
        "",
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "application/json; charset=no-such-charset",
        "text/plain",
        "text/html",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/octet-stream",
    ]
)

RAW_BODIES = st.one_of(
    st.builds(lambda ct: Body(None, ct, "no body"), CONTENT_TYPES),
    st.builds(lambda ct: Body(b"", ct, "empty"), CONTENT_TYPES),
    st.builds(lambda b, ct: Body(b, ct, "bytes"), st.binary(max_size=200), CONTENT_TYPES),
    st.builds(
        lambda t, ct: Body(t.encode(), ct, "not JSON"),
        st.sampled_from(["{", "[1,", '{"a": }', "NaN", "a=1&b=2", "<x/>", "--xyz--"]),
        CONTENT_TYPES,
    ),
    st.builds(
        lambda v, ct: Body(json.dumps(v).encode(), ct, "JSON, another content type"),
        ANY_JSON,
        CONTENT_TYPES,
    ),
)

URL_TEXT = st.text(max_size=60)


def _quoted(text: str) -> str:
    return quote(text, safe="")


def _repeated(text: str, length: int) -> str:
    """``text`` repeated to ``length`` characters, quoted (cheaper than drawing each one)."""
    return _quoted((text * length)[:length])


PATH_VALUES: st.SearchStrategy[KnownId | str] = st.one_of(
    st.builds(KnownId, st.integers(0, 1000)),
    st.uuids().map(str),
    URL_TEXT.map(_quoted),
    st.text("/%.?#&=;\\ ", min_size=1, max_size=8).map(_quoted),
    st.sampled_from([".", "..", "%", "%00", "null", "-1", "0", " "]).map(_quoted),
    st.binary(min_size=1, max_size=40).map(lambda b: quote_from_bytes(b, safe="")),
    # Long, but within aiohttp's 8190-byte request line: beyond it the HTTP parser
    # answers 400 before the application sees the request.
    st.builds(_repeated, st.text(string.printable, min_size=1, max_size=8), st.just(2000)),
    st.builds(_repeated, st.text("äöåÄÖÅ€", min_size=1, max_size=4), st.just(400)),
)

FIELD_BYTES = [b for b in range(0x20, 0x100) if b != 0x7F]
"""What HTTP allows in a header value: visible ASCII, space, and "obs-text" (0x80–0xFF)."""

FORGED_CSRF = st.one_of(
    st.text(string.ascii_letters + string.digits + "-_", min_size=43, max_size=43).map(str.encode),
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=80).map(
        str.encode
    ),
    st.lists(st.sampled_from(FIELD_BYTES), max_size=80).map(bytes),  # not always UTF-8
)


def cases(
    operation: Operation,
    document: Mapping[str, Any],
    *,
    path: st.SearchStrategy[KnownId | str],
    body: st.SearchStrategy[Body],
) -> st.SearchStrategy[Case]:
    """Requests for one operation; the test chooses how path values and bodies are made."""
    query = {
        p["name"]: from_schema(p.get("schema", {}), document).map(
            # A URL carries UTF-8: a lone surrogate cannot even be sent.
            lambda v: (v if isinstance(v, str) else json.dumps(v))
            .encode("utf-8", "replace")
            .decode()
        )
        | URL_TEXT
        for p in operation.query
    }
    return st.builds(
        Case,
        path=st.fixed_dictionaries({name: path for name in operation.path_names}),
        query=st.fixed_dictionaries({}, optional=query),
        body=body,
        rasa_down=st.sampled_from([False, False, False, True]),
    )


def schema_bodies(operation: Operation, document: Mapping[str, Any]) -> st.SearchStrategy[Body]:
    """What a client that read the document would send."""
    schema = operation.body_schema
    if schema is None:
        return st.just(Body(None, None, "no body")) | json_bodies(ANY_JSON, "arbitrary JSON")
    return json_bodies(from_schema(schema, document), "from the schema")


def bad_json_bodies(operation: Operation, document: Mapping[str, Any]) -> st.SearchStrategy[Body]:
    """Valid bodies mixed with arbitrary JSON, wrong types and missing fields."""
    schema = operation.body_schema or {}
    return st.one_of(
        json_bodies(from_schema(schema, document), "from the schema"),
        json_bodies(ANY_JSON, "arbitrary JSON"),
        json_bodies(wrong_types(schema, document), "wrong types"),
        json_bodies(missing_fields(schema, document), "missing fields"),
    )


# --- the contract -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


class ContractBroken(AssertionError):
    """An answer that breaks the contract; ``kind`` says which rule."""

    def __init__(self, kind: str, answer: Answer, shown: str) -> None:
        super().__init__(f"{kind}: {shown}")
        self.kind = kind
        self.answer = answer


def _parsed(body: bytes) -> Any:
    """The JSON value of ``body``; ``None`` when it is not JSON (or is ``null``)."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def check(
    operation: Operation, role: str, case: Case, answer: Answer, reached_rasa: bool, shown: str
) -> None:
    """The contract every answer keeps."""
    rasa_excuse = case.rasa_down and reached_rasa

    def require(condition: bool, kind: str) -> None:
        if not condition:
            raise ContractBroken(kind, answer, shown)

    require(answer.status < 500 or (answer.status == 502 and rasa_excuse), "server error")
    allowed = operation.documented | REFUSALS | ({502} if rasa_excuse else set())
    require(answer.status in allowed, "status neither documented nor a plain refusal")
    if answer.status == 204:
        require(answer.body == b"", "204 with a body")
    elif answer.status >= 400:
        require(answer.content_type == "application/json", "error not in JSON")
        error = _parsed(answer.body)
        require(isinstance(error, dict) and isinstance(error.get("error"), str), "no error code")
    elif operation.produces != "application/json":
        require(answer.content_type == operation.produces, "success not in the documented type")
    else:
        require(answer.content_type == "application/json", "success not in JSON")
        require(_parsed(answer.body) is not None, "success not in JSON")
    if role == "anonymous" and operation.needs_session:  # 404: the path matched no route
        require(answer.status in (401, 404), "no 401 without a session")
    if role == "forged_csrf" and operation.needs_session and operation.method in UNSAFE:
        require(not 200 <= answer.status < 300, "succeeded with a wrong CSRF token")


# --- HTTP, byte for byte ------------------------------------------------------------------
# aiohttp's client re-quotes paths, drops "." segments and re-encodes header values as
# UTF-8; a browser extension or a proxy sends whatever bytes it likes. So the fuzzer
# writes its requests itself, one connection each, and reads the answer to the end.


async def http_request(
    address: tuple[str, int],
    method: str,
    target: str,
    headers: Mapping[str, bytes],
    body: bytes | None,
) -> Answer:
    """One HTTP/1.1 request exactly as given (``body=None``: no body, no Content-Length)."""
    fields = {"Host": f"{address[0]}:{address[1]}".encode(), "Connection": b"close", **headers}
    if body is not None:
        fields["Content-Length"] = str(len(body)).encode()
    head = f"{method} {target} HTTP/1.1\r\n".encode() + b"".join(
        name.encode() + b": " + value + b"\r\n" for name, value in fields.items()
    )
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(head + b"\r\n" + (body or b""))
        await writer.drain()
        raw = await reader.read()  # the server closes after its answer
    finally:
        writer.close()
    return parse_answer(raw)


def parse_answer(raw: bytes) -> Answer:
    """Status, media type and (de-chunked) body of an HTTP/1.1 answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    if fields.get("transfer-encoding", "").lower() == "chunked":
        chunks, rest = [], body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            chunks.append(rest[:size])
            rest = rest[size + 2 :]
        body = b"".join(chunks)
    content_type = fields.get("content-type", "").split(";")[0].strip().lower()
    return Answer(int(status_line.split()[1]), content_type, body)


# --- the fuzzer ---------------------------------------------------------------------------


@dataclass
class Identity:
    role: str
    agent: Agent | None = None
    cookie: str | None = None
    csrf: str | None = None


@dataclass(frozen=True)
class Failure:
    operation: Operation
    role: str
    error: Exception


class Fuzzer:
    """Sends generated requests from a hypothesis thread to the servers in the event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        address: tuple[str, int],
        rasa: FakeRasa,
        database: Database,
        identities: dict[str, Identity],
        document: Mapping[str, Any],
    ) -> None:
        self.loop = loop
        self.address = address
        self.rasa = rasa
        self.document = document
        self.operations = operations(document)
        self.identities = identities
        sessions = make_session_factory(database.engine)
        self.requests = HandoffRequests(sessions)
        self.queue = HandoffQueue(sessions, expire_after=LONG)
        self.console = ConsoleSessions(sessions, LONG)
        self.sent: Counter[tuple[str, str]] = Counter()
        self._ids: list[str] = []
        self._changed = True

    def _prepare(self) -> list[str]:
        """Waiting requests to claim, live sessions for everyone; the ids to aim at.

        Only a successful unsafe request changes these, so the database is read
        again only after one.
        """
        if not self._changed:
            return self._ids
        for n in range(len(self.requests.waiting()), 2):
            self.requests.record(
                conversation_id=f"fuzz-{uuid.uuid4().hex[:8]}-{n}",
                channel="widget",
                language="fi",
                topics=["kela"],
                municipality_code=None,
            )
        for identity in self.identities.values():
            if identity.agent and self.console.find(identity.cookie) is None:  # logged out
                identity.cookie, csrf = self.console.open(identity.agent)
                if identity.role != "forged_csrf":
                    identity.csrf = csrf
        self._ids = [r.id for r in self.queue.recent(EVERYONE, limit=50)]
        self._changed = False
        return self._ids

    def _path(self, operation: Operation, case: Case, ids: list[str]) -> str:
        path = operation.path
        for name, value in case.path.items():
            quoted = _quoted(ids[value.n % len(ids)]) if isinstance(value, KnownId) else value
            path = path.replace("{" + name + "}", quoted)
        return path + (f"?{urlencode(case.query)}" if case.query else "")

    def _headers(self, role: str, case: Case) -> dict[str, bytes]:
        identity = self.identities[role]
        headers = {}
        if identity.cookie:
            headers["Cookie"] = f"digituki_session={identity.cookie}".encode()
        csrf = case.forged_csrf if role == "forged_csrf" else (identity.csrf or "").encode()
        if role != "anonymous":
            headers["X-CSRF-Token"] = csrf
        if case.body.content_type is not None:
            headers["Content-Type"] = case.body.content_type.encode()
        return headers

    def send(self, operation: Operation, role: str, case: Case) -> None:
        """Sends one case (from the hypothesis thread) and checks the answer."""
        path = self._path(operation, case, self._prepare())
        headers = self._headers(role, case)
        self.rasa.down, rasa_calls = case.rasa_down, len(self.rasa.calls)
        try:
            answer = asyncio.run_coroutine_threadsafe(
                http_request(self.address, operation.method, path, headers, case.body.content),
                self.loop,
            ).result(timeout=30)
        finally:
            self.rasa.down = False
        self.sent[(operation.key, role)] += 1
        self._changed |= operation.method in UNSAFE and 200 <= answer.status < 300
        shown = (
            f"{operation.method} {path} as {role} (Rasa {'down' if case.rasa_down else 'up'})\n"
            f"  headers: {headers}\n"
            f"  body ({case.body.label}): {case.body.content!r:.300}\n"
            f"  → {answer.status} {answer.content_type}: {answer.body[:300]!r}"
        )
        check(operation, role, case, answer, len(self.rasa.calls) > rasa_calls, shown)

    def fuzz(self, strategy: Callable[[Operation], st.SearchStrategy[Case]]) -> None:
        """A hypothesis run for every (operation, identity) pair of the document."""
        made = {op.key: strategy(op) for op in self.operations}  # hypothesis caches per object
        examples = max(2, REQUESTS_PER_TEST // (len(self.operations) * len(ROLES)))

        def run_pair(operation: Operation, role: str, first: bool) -> None:
            phases = [Phase.explicit, Phase.reuse, Phase.generate]
            shrink = first and os.environ.get("DIGITUKI_FUZZ_SHRINK") == "1"

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[*phases, Phase.shrink] if shrink else phases,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.filter_too_much,
                    HealthCheck.data_too_large,
                    HealthCheck.large_base_example,
                ],
            )
            @given(
                case=made[operation.key],
                forged_csrf=FORGED_CSRF if role == "forged_csrf" else st.just(b""),
            )
            def run(case: Case, forged_csrf: bytes) -> None:
                self.send(operation, role, dataclasses.replace(case, forged_csrf=forged_csrf))

            run()

        self.each_pair(run_pair)

    def each_pair(self, run_pair: Callable[[Operation, str, bool], None]) -> None:
        """``run_pair(operation, role, first)`` for every pair; fails at the end with every failure.

        ``first``: no failure so far in this test.
        """
        failures: list[Failure] = []
        for operation in self.operations:
            for role in ROLES:
                try:
                    run_pair(operation, role, not failures)
                # A broken contract, or a request that got no answer at all.
                except Exception as error:
                    failures.append(Failure(operation, role, error))
        expected = {(op.key, role) for op in self.operations for role in ROLES}
        missing = sorted(expected - {pair for pair, n in self.sent.items() if n})
        assert not missing, f"never requested: {missing}"
        if failures:
            pytest.fail(report(failures), pytrace=False)


def _leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside hypothesis' groups (several bugs, or a flaky one)."""
    inner = getattr(error, "exceptions", None)
    return [leaf for sub in inner for leaf in _leaves(sub)] if inner else [error]


def report(failures: list[Failure]) -> str:
    """Failures grouped by operation and kind, each with its first example."""
    groups: dict[tuple[str, str], tuple[list[str], BaseException, list[str]]] = {}
    for failure in failures:
        notes = [str(n) for n in getattr(failure.error, "__notes__", [])]
        for leaf in _leaves(failure.error):
            if isinstance(leaf, ContractBroken):
                kind = f"{leaf.kind} ({leaf.answer.status} {leaf.answer.content_type})"
            else:
                kind = f"{type(leaf).__name__}: {str(leaf).splitlines()[0] if str(leaf) else ''}"
            own = (
                [str(n) for n in getattr(leaf, "__notes__", [])]
                if leaf is not failure.error
                else []
            )
            roles, _, _ = groups.setdefault((failure.operation.key, kind), ([], leaf, notes + own))
            roles.append(failure.role)
    lines = [f"{len(groups)} broken contracts (operation — kind — identities):"]
    for (operation, kind), (roles, leaf, notes) in groups.items():
        lines += ["", f"{operation} — {kind} — {', '.join(dict.fromkeys(roles))}", str(leaf)]
        lines += [n for n in notes if n.strip()]
    return "\n".join(lines)


# --- fixture and tests --------------------------------------------------------------------


@pytest.fixture
async def fuzzer(make_database: Callable[[str], Database]) -> AsyncIterator[Fuzzer]:
    """The API on SQLite with three accounts, logged in, and requests in several states.

    One waiting request (Swedish, from Lappi) is outside the coordinator's and the
    administrator's scope: their operations on it answer 403.
    """
    database = make_database("sqlite")
    sessions = make_session_factory(database.engine)
    agents = Agents(sessions)
    accounts = {
        "worker": agents.add("wilma", PASSWORD, role="worker", languages=["fi", "sv"]),
        "coordinator": agents.add("kalle", PASSWORD, role="coordinator", languages=["fi"]),
        "admin": agents.add("aino", PASSWORD, role="admin", languages=["fi", "en"]),
    }
    requests, queue = HandoffRequests(sessions), HandoffQueue(sessions, expire_after=LONG)
    seeded = [
        requests.record(
            conversation_id=f"seed-{n}",
            channel="widget",
            language="fi",
            topics=["kela"],
            municipality_code=None,
        )
        for n in range(6)
    ]
    requests.record(
        conversation_id="seed-lappi-sv",
        channel="widget",
        language="sv",
        municipality_code="698",
        kind="callback",
        contact=("phone", "040 765 4321"),
    )
    queue.claim(accounts["worker"], seeded[0].id)
    queue.claim(accounts["coordinator"], seeded[1].id)
    queue.claim(accounts["worker"], seeded[2].id)
    queue.close(accounts["worker"], seeded[2].id, "helped", "seed")
    rasa = FakeRasa()
    async with TestServer(rasa.app()) as rasa_server:
        app = init_app(
            dataclasses.replace(
                Settings(),
                database_url=database.url,
                rasa_url=str(rasa_server.make_url("")),
                rasa_token=rasa.token,
            )
        )
        # Thousands of failed logins come from one address: the throttle (tested on its
        # own) would answer all but the first twenty with 429, hiding the login handler
        # and making failures impossible to replay.
        app[LOGIN_THROTTLE] = LoginThrottle(per_name=10**9, per_address=10**9)
        async with TestClient(TestServer(app)) as client:
            identities = {"anonymous": Identity("anonymous")}
            for role, username in [
                ("worker", "wilma"),
                ("coordinator", "kalle"),
                ("admin", "aino"),
                ("forged_csrf", "wilma"),  # a second session of the worker
            ]:
                response = await client.post(
                    "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
                )
                assert response.status == 200, await response.text()
                identities[role] = Identity(
                    role,
                    accounts.get(role, accounts["worker"]),
                    response.cookies["digituki_session"].value,
                    (await response.json())["csrf_token"],
                )
            document = await (await client.get(OPENAPI)).json()
            address = (str(client.host), int(client.port))
            fuzz = Fuzzer(asyncio.get_running_loop(), address, rasa, database, identities, document)
            assert fuzz.operations, "the document lists no operations"
            started = time.monotonic()
            yield fuzz
            print(
                f"\n{sum(fuzz.sent.values())} requests to {len(fuzz.operations)} operations"
                f" in {time.monotonic() - started:.1f} s"
            )


async def test_generated_path_parameters_and_queries(fuzzer: Fuzzer) -> None:
    def strategy(operation: Operation) -> st.SearchStrategy[Case]:
        body = schema_bodies(operation, fuzzer.document)
        return cases(operation, fuzzer.document, path=PATH_VALUES, body=body)

    await asyncio.to_thread(fuzzer.fuzz, strategy)


async def test_generated_json_bodies(fuzzer: Fuzzer) -> None:
    def strategy(operation: Operation) -> st.SearchStrategy[Case]:
        path = st.builds(KnownId, st.integers(0, 1000)) | st.uuids().map(str)
        body = bad_json_bodies(operation, fuzzer.document)
        return cases(operation, fuzzer.document, path=path, body=body)

    await asyncio.to_thread(fuzzer.fuzz, strategy)


async def test_raw_bodies_and_content_types(fuzzer: Fuzzer) -> None:
    def strategy(operation: Operation) -> st.SearchStrategy[Case]:
        path = st.builds(KnownId, st.integers(0, 1000))
        return cases(operation, fuzzer.document, path=path, body=RAW_BODIES)

    await asyncio.to_thread(fuzzer.fuzz, strategy)


async def test_an_oversize_body_is_refused_cleanly(fuzzer: Fuzzer) -> None:
    content = json.dumps({"text": "a" * (MAX_BODY + 1024)}).encode()
    oversize = Case({}, {}, Body(content, "application/json", "oversize"), False, b"forged")

    def send_once(operation: Operation, role: str, first: bool) -> None:
        path = {name: KnownId(0) for name in operation.path_names}
        fuzzer.send(operation, role, dataclasses.replace(oversize, path=path))

    await asyncio.to_thread(fuzzer.each_pair, send_once)
