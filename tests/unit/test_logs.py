"""Log lines: JSON or text, with the service's name, and never a phone, e-mail or identity code."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from bot.logs import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    log_format,
    service_name,
    write_logging_config,
)

PERSONAL = ("040 123 4567", "maija.meikalainen@example.fi", "010203A123B")
SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access")


def make_record(
    msg: str,
    *args: Any,
    level: int = logging.WARNING,
    exc_info: Any = None,
    extra: dict[str, Any] | None = None,
) -> logging.LogRecord:
    """A record as a logger makes it, but without the process-wide masking factory,
    so that what is masked here is masked by the formatter itself."""
    record = logging.LogRecord("rasa.core.processor", level, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra or {})
    return record


def raised(error: Exception) -> Any:
    try:
        raise error
    except Exception:
        return sys.exc_info()


def assert_nothing_personal(line: str) -> None:
    for value in PERSONAL:
        assert value not in line


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Whatever a test does to the root logger, Sanic's loggers and structlog is undone."""
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved_sanic = {
        name: (lg.handlers[:], lg.propagate, lg.level)
        for name, lg in ((n, logging.getLogger(n)) for n in SANIC_LOGGERS)
    }
    saved_structlog = structlog.get_config()
    yield
    root.handlers[:], root.level = saved_root
    for name, (handlers, propagate, level) in saved_sanic.items():
        lg = logging.getLogger(name)
        lg.handlers[:], lg.propagate, lg.level = handlers, propagate, level
    structlog.configure(**saved_structlog)
    logging.captureWarnings(False)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- the JSON formatter ---------------------------------------------------------


def test_a_json_line_has_time_level_logger_service_and_message() -> None:
    line = JsonFormatter("rasa-2").format(make_record("model %s loaded", "fi"))

    entry = json.loads(line)
    assert entry == {
        "time": entry["time"],
        "level": "WARNING",
        "logger": "rasa.core.processor",
        "service": "rasa-2",
        "message": "model fi loaded",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert "\n" not in line


def test_personal_data_is_masked_in_the_message_its_arguments_and_the_traceback() -> None:
    error = ValueError("no provider for 010203A123B")
    args = ("040 123 4567", "maija.meikalainen@example.fi")
    record = make_record("call %s or write to %s", *args, exc_info=raised(error))

    line = JsonFormatter("actions-1").format(record)

    assert_nothing_personal(line)
    entry = json.loads(line)
    assert entry["message"] == "call [phone] or write to [email]"
    assert "Traceback (most recent call last)" in entry["exception"]
    assert "ValueError: no provider for [identity_code]" in entry["exception"]


def test_scalar_extras_are_kept_and_masked_objects_dropped_core_fields_not_overridden() -> None:
    record = make_record(
        "handoff queued",
        extra={
            "channel": "widget",
            "waiting": 3,
            "took_s": 0.25,
            "live": True,
            "note": "soita 040 123 4567",
            "slots": {"phone": "040 123 4567"},
            "service": "spoofed",
        },
    )

    entry = json.loads(JsonFormatter("web").format(record))

    assert entry["channel"] == "widget"
    assert (entry["waiting"], entry["took_s"], entry["live"]) == (3, 0.25, True)
    assert entry["note"] == "soita [phone]"
    assert "slots" not in entry
    assert entry["service"] == "web"


def test_the_text_format_is_masked_too_and_names_the_service() -> None:
    error = KeyError("010203A123B")
    record = make_record("write to %s", "maija.meikalainen@example.fi", exc_info=raised(error))

    line = TextFormatter("events").format(record)

    assert " WARNING events rasa.core.processor: write to [email]" in line
    assert "KeyError: '[identity_code]'" in line
    assert_nothing_personal(line)


# --- settings -------------------------------------------------------------------


def test_format_and_service_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITUKI_LOG_FORMAT", raising=False)
    monkeypatch.delenv("DIGITUKI_SERVICE_NAME", raising=False)
    assert log_format() == "text"
    assert service_name("rasa") == "rasa"

    monkeypatch.setenv("DIGITUKI_LOG_FORMAT", "json")
    monkeypatch.setenv("DIGITUKI_SERVICE_NAME", "rasa-3")
    assert log_format() == "json"
    assert log_format("text") == "text"
    assert service_name("rasa") == "rasa-3"

    with pytest.raises(ValueError, match="json or text"):
        log_format("xml")


# --- configure_logging ------------------------------------------------------------


@pytest.mark.usefixtures("restored_logging")
def test_configure_logging_prints_masked_json_once_however_often_it_is_called(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGITUKI_SERVICE_NAME", raising=False)
    root = logging.getLogger()
    root.addHandler(logging.StreamHandler(sys.stderr))  # as Rasa's colored handler
    elsewhere = io.StringIO()
    root.addHandler(logging.StreamHandler(elsewhere))  # a file, a collector: kept

    configure_logging("web", fmt="json")
    configure_logging("web", fmt="json")
    logging.getLogger("bot.web.app").warning("callback to %s", "040 123 4567")

    lines = json_lines(capsys.readouterr().err)
    assert [(e["service"], e["logger"], e["message"]) for e in lines] == [
        ("web", "bot.web.app", "callback to [phone]")
    ]
    assert "[phone]" in elsewhere.getvalue()


@pytest.mark.usefixtures("restored_logging")
def test_configure_logging_takes_over_sanics_own_loggers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error_logger = logging.getLogger("sanic.error")
    error_logger.propagate = False  # as Rasa and rasa_sdk set it
    error_logger.handlers[:] = [logging.StreamHandler(sys.stderr)]

    configure_logging("rasa-1", fmt="json")
    error_logger.error("Exception occurred while handling uri: '/conversations/maija@example.fi'")

    (entry,) = json_lines(capsys.readouterr().err)
    assert entry["logger"] == "sanic.error"
    assert entry["message"].endswith("'/conversations/[email]'")


@pytest.mark.usefixtures("restored_logging")
def test_python_warnings_become_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("events", fmt="json")
    warnings.warn("old API", UserWarning, stacklevel=1)

    (entry,) = json_lines(capsys.readouterr().err)
    assert entry["logger"] == "py.warnings"
    assert "UserWarning: old API" in entry["message"]


@pytest.mark.usefixtures("restored_logging")
def test_rasas_structlog_events_are_masked_field_by_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("rasa-1", fmt="json")
    structlogger = structlog.get_logger()

    # Rasa logs the person's text like this; "\n" is what JSON escaping would hide.
    structlogger.warning(
        "processor.message.parse",
        parse_data_text="soita\n040 123 4567",
        rasa_event={"event": "user", "text": "maija.meikalainen@example.fi"},
        confidence=0.93,
    )
    structlogger.debug("processor.slots.log", slot_values="below the level: not printed")
    try:
        raise RuntimeError("bad 010203A123B")
    except RuntimeError:
        structlogger.exception("rest.message.received.failure", text="010203A123B")

    out = capsys.readouterr().err
    assert_nothing_personal(out)
    parse, failure = json_lines(out)
    assert parse["message"] == "processor.message.parse"
    assert parse["level"] == "WARNING"
    assert parse["fields"] == {
        "parse_data_text": "soita\n[phone]",
        "rasa_event": {"event": "user", "text": "[email]"},
        "confidence": 0.93,
    }
    assert failure["level"] == "ERROR"
    assert failure["fields"] == {"text": "[identity_code]"}
    assert "RuntimeError: bad [identity_code]" in failure["exception"]


@pytest.mark.usefixtures("restored_logging")
def test_structlog_fields_follow_the_message_in_text_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("rasa-1", fmt="text")
    structlog.get_logger().warning(
        "event.deserialization.failed", rasa_event={"text": "010203A123B"}
    )

    line = capsys.readouterr().err.strip()
    assert line.endswith('event.deserialization.failed {"rasa_event": {"text": "[identity_code]"}}')


# --- the file for rasa run --logging-config-file -----------------------------------


def test_the_logging_config_file_gives_json_lines_for_root_sanic_and_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGITUKI_SERVICE_NAME", raising=False)
    monkeypatch.setenv("DIGITUKI_LOG_FORMAT", "json")
    path = write_logging_config(tmp_path / "logging.yml", "actions-2", level="info")
    # What Rasa and rasa_sdk do with --logging-config-file, in a process of its own
    # (dictConfig changes every logger of the process it runs in).
    script = f"""
import logging, logging.config, warnings, yaml
logging.config.dictConfig(yaml.safe_load(open({str(path)!r}).read()))
logging.getLogger("rasa_sdk.executor").info("Registered function for 'action_fallback'.")
logging.getLogger("sanic.error").error("request from 040 123 4567 failed")
warnings.warn("You are using an old version of rasa", UserWarning, stacklevel=1)
print(logging.getLogger("sanic.error").propagate)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    first, second, warned = json_lines(done.stderr)
    assert (first["service"], first["logger"], first["level"]) == (
        "actions-2",
        "rasa_sdk.executor",
        "INFO",
    )
    assert second["message"] == "request from [phone] failed"
    assert warned["logger"] == "py.warnings"
    assert done.stdout.strip() == "False"  # Sanic's loggers do not print twice
