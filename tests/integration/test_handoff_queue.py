"""The handoff queue's rules on SQLite and PostgreSQL: who takes what, in which order, once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.db.engine import make_session_factory
from bot.db.models import AgentRow, HandoffRequestRow, HeldContactRow
from bot.handoff import Agents, HandoffQueue, HandoffRequests, QueueError
from bot.handoff.access import OutOfScopeError
from bot.handoff.passwords import WeakPasswordError, needs_rehash
from bot.handoff.sessions import ConsoleSessions

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)
PASSWORD = "kirjasto-2026-syksy"


@pytest.fixture
def parts(database):  # type: ignore[no-untyped-def]
    sessions = make_session_factory(database.engine)
    return (
        Agents(sessions),
        HandoffRequests(sessions),
        HandoffQueue(sessions, expire_after=dt.timedelta(hours=2)),
        sessions,
    )


def ask(requests: HandoffRequests, sessions, conversation: str, minutes: int, **kwargs):  # type: ignore[no-untyped-def]
    """A request recorded ``minutes`` after T0."""
    request = requests.record(conversation_id=conversation, channel="widget", **kwargs)
    with sessions.begin() as session:
        session.get(HandoffRequestRow, request.id).created_at = T0 + dt.timedelta(minutes=minutes)
    return request


def test_accounts_store_only_a_hash_and_check_passwords(parts):
    agents, _, _, sessions = parts
    anna = agents.add("Anna.K", PASSWORD, display_name="Anna K", languages=["fi", "sv"])
    assert (anna.username, anna.languages, anna.available) == ("anna.k", ("fi", "sv"), False)
    with sessions() as session:
        stored = session.scalar(select(AgentRow.password_hash))
    assert PASSWORD not in stored and stored.startswith("scrypt$") and not needs_rehash(stored)
    assert agents.authenticate("ANNA.K", PASSWORD) == anna
    assert agents.authenticate("anna.k", "wrong password here") is None
    assert agents.authenticate("nobody", PASSWORD) is None
    with pytest.raises(QueueError, match="already exists"):
        agents.add("anna.k", PASSWORD)
    with pytest.raises(WeakPasswordError):
        agents.add("bert", "short")
    for bad in ({"role": "boss"}, {"languages": ["de"]}, {"capacity": 0}):
        with pytest.raises(QueueError):
            agents.add("cecilia", PASSWORD, **bad)


def test_oldest_first_within_the_workers_languages_and_regions(parts):
    agents, requests, queue, sessions = parts
    # Lieksa is in region 12 (Pohjois-Karjala), Närpiö in 15 (Pohjanmaa).
    ask(requests, sessions, "sv-narpes", 1, language="sv", municipality_code="545")
    ask(requests, sessions, "fi-lieksa", 2, language="fi", municipality_code="422")
    ask(requests, sessions, "fi-nowhere", 3, language="fi")
    karelia = agents.add("kaisa", PASSWORD, languages=["fi"], region_codes=["12"])
    anywhere = agents.add("sven", PASSWORD, languages=["fi", "sv"])
    now = T0 + dt.timedelta(minutes=10)
    assert [r.conversation_id for r in queue.waiting_for(karelia, now)] == ["fi-lieksa"]
    assert [r.conversation_id for r in queue.waiting_for(anywhere, now)] == [
        "sv-narpes", "fi-lieksa", "fi-nowhere",
    ]  # fmt: skip
    taken = queue.claim(anywhere, now=now)
    assert (taken.conversation_id, taken.state, taken.claimed_by) == (
        "sv-narpes",
        "active",
        anywhere.id,
    )
    assert queue.claim(karelia, now=now).conversation_id == "fi-lieksa"
    with pytest.raises(QueueError) as refused:
        queue.claim(karelia, now=now)
    assert refused.value.code == "nothing_to_claim"


def test_a_request_is_taken_once_and_capacity_is_kept(parts):
    agents, requests, queue, sessions = parts
    first = ask(requests, sessions, "c1", 1, language="fi")
    ask(requests, sessions, "c2", 2, language="fi")
    one_at_a_time = agents.add("olli", PASSWORD, capacity=1)
    other = agents.add("pia", PASSWORD)
    now = T0 + dt.timedelta(minutes=5)
    queue.claim(one_at_a_time, first.id, now=now)
    with pytest.raises(QueueError) as taken:
        queue.claim(other, first.id, now=now)
    assert taken.value.code == "nothing_to_claim"  # no longer waiting
    with pytest.raises(QueueError) as full:
        queue.claim(one_at_a_time, now=now)
    assert full.value.code == "at_capacity"
    queue.hand_back(one_at_a_time, first.id, now=now)
    assert queue.claim(one_at_a_time, now=now).conversation_id == "c2"  # room again


def test_only_the_worker_who_has_the_chat_ends_it(parts):
    agents, requests, queue, sessions = parts
    request = ask(requests, sessions, "c1", 1, language="fi")
    mine, theirs = agents.add("mia", PASSWORD), agents.add("teo", PASSWORD)
    now = T0 + dt.timedelta(minutes=3)
    queue.claim(mine, request.id, now=now)
    with pytest.raises(QueueError) as refused:
        queue.close(theirs, request.id, "helped")
    assert refused.value.code == "not_yours"
    with pytest.raises(QueueError):
        queue.close(mine, request.id, "made up outcome")
    queue.close(mine, request.id, "helped", notes="Neuvottu OmaKannan käyttö.", now=now)
    with sessions() as session:
        row = session.get(HandoffRequestRow, request.id)
        assert (row.state, row.outcome, row.notes) == (
            "closed",
            "helped",
            "Neuvottu OmaKannan käyttö.",
        )
    with pytest.raises(QueueError):
        queue.hand_back(mine, request.id)  # already closed


def test_out_of_scope_requests_are_refused_before_anything_is_written(parts):
    agents, requests, queue, sessions = parts
    # Rovaniemi is in region 19 (Lappi), Joensuu in 12 (Pohjois-Karjala).
    callback = ask(
        requests, sessions, "lappi-cb", 1, language="fi", municipality_code="698",
        kind="callback", contact=("phone", "040 765 4321"),
    )  # fmt: skip
    chat = ask(requests, sessions, "lappi-chat", 2, language="fi", municipality_code="698")
    lappi = agents.add("liisa", PASSWORD, region_codes=["19"])
    karelia = agents.add("kaisa", PASSWORD, role="coordinator", region_codes=["12"])
    admin = agents.add("aaro", PASSWORD, role="admin", languages=["fi", "sv"], region_codes=["12"])
    now = T0 + dt.timedelta(minutes=5)
    queue.claim(lappi, chat.id, now=now)
    with sessions() as session:
        before = [
            (r.state, r.claimed_by, r.notes) for r in session.scalars(select(HandoffRequestRow))
        ]
    for outsider in (karelia, admin):
        for operation, arguments in [
            (queue.claim, (callback.id,)),
            (queue.set_notes, (callback.id, "ylikirjoitettu")),
            (queue.set_notes, (chat.id, "ylikirjoitettu")),
            (queue.close, (chat.id, "helped", "suljettu")),
            (queue.hand_back, (chat.id,)),
            (queue.get_for, (chat.id,)),
        ]:
            with pytest.raises(OutOfScopeError):
                operation(outsider, *arguments)
        assert queue.callbacks_for(outsider, now=now) == []  # administrators included
        assert queue.recent(outsider, now=now) == []
    with sessions() as session:
        after = [
            (r.state, r.claimed_by, r.notes) for r in session.scalars(select(HandoffRequestRow))
        ]
    assert after == before
    assert queue.get_for(lappi, chat.id).region_code == "19"
    assert queue.get_for(lappi, "no-such-id") is None


def test_abandoned_requests_expire_and_stay_visible(parts):
    agents, requests, queue, sessions = parts
    old = ask(requests, sessions, "old", 0, language="fi")
    ask(requests, sessions, "new", 170, language="fi")
    worker = agents.add("veera", PASSWORD)
    later = T0 + dt.timedelta(minutes=180)  # the first waited three hours
    assert [r.conversation_id for r in queue.waiting_for(worker, later)] == ["new"]
    with sessions() as session:
        row = session.get(HandoffRequestRow, old.id)
        assert (row.state, row.ended_at is not None) == ("expired", True)


def test_the_cli_adds_an_account_with_the_password_from_standard_input(database, cli, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    status, out, err = cli(
        database.url, "agents", "add", "Lotta", "--name", "Lotta L", "--languages", "fi,sv",
        "--regions", "Pohjanmaa", "--capacity", "2",
    )  # fmt: skip
    assert status == 0, err
    assert "added worker lotta (Lotta L): languages fi sv; 15; up to 2 chats" in out
    agents = Agents(make_session_factory(database.engine))
    assert agents.authenticate("lotta", PASSWORD) is not None
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    status, _, err = cli(database.url, "agents", "add", "matti")
    assert status == 1 and "at least 10 characters" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    status, _, err = cli(database.url, "agents", "add", "matti", "--regions", "Atlantis")
    assert status == 1 and "Atlantis" in err


def test_a_new_password_or_a_disabled_account_ends_its_console_sessions(database, cli, monkeypatch):
    import io

    sessions = make_session_factory(database.engine)
    agents = Agents(sessions)
    agent = agents.add("liisa", PASSWORD)
    logins = ConsoleSessions(sessions, dt.timedelta(hours=1))
    token, _ = logins.open(agent)
    new_password = "uusi-salasana-2027"
    monkeypatch.setattr("sys.stdin", io.StringIO(new_password + "\n"))
    status, out, err = cli(database.url, "agents", "passwd", "Liisa")
    assert status == 0 and "sessions have ended" in out, err
    assert logins.find(token) is None
    assert agents.authenticate("liisa", PASSWORD) is None
    assert agents.authenticate("liisa", new_password) is not None

    token, _ = logins.open(agent)
    status, _, err = cli(database.url, "agents", "disable", "liisa")
    assert status == 0, err
    assert logins.find(token) is None
    assert agents.authenticate("liisa", new_password) is None
    status, _, err = cli(database.url, "agents", "disable", "nobody")
    assert status == 1 and "nobody" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli(database.url, "agents", "passwd", "liisa")[0] == 1


def test_a_held_contact_is_taken_once_and_a_stale_one_is_dropped(parts):
    _, requests, _, sessions = parts
    with pytest.raises(ValueError):
        requests.hold_contact("c-1", "fax", "09 123")
    requests.hold_contact("c-1", "phone", "040 111 2222")
    requests.hold_contact("c-1", "email", " nimi@example.fi ")  # the latest answer wins
    assert requests.take_held_contact("c-1") == ("email", "nimi@example.fi")
    assert requests.take_held_contact("c-1") is None

    requests.hold_contact("c-2", "phone", "040 111 2222")
    requests.hold_contact("c-3", "phone", "040 333 4444")
    with sessions.begin() as session:
        session.get(HeldContactRow, "c-2").held_at = dt.datetime.now(
            dt.timezone.utc
        ) - dt.timedelta(days=2)
    assert requests.take_held_contact("c-2") is None  # too old to use, and deleted
    requests.hold_contact("c-4", "phone", "040 555 6666")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1, minutes=1)
    assert requests.drop_stale_contacts(later) == 2  # c-3 and c-4
    assert requests.take_held_contact("c-3") is None
