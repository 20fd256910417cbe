"""Log lines of every process: one JSON object a line (or plain text), nothing personal in them.

Our own processes (web service, events worker) call :func:`configure_logging`.
Rasa and its action server configure logging themselves when started with ``rasa run``;
they apply a ``logging.config.dictConfig`` file given with ``--logging-config-file``,
which :func:`write_logging_config` writes. What each of them does, in order:

* ``rasa run actions``: Rasa applies the file, replaces its console handler with a
  colored one, and rasa_sdk applies the file again, last: the file decides what the
  action server prints from its first log line on.
* ``rasa run``: Rasa applies the file, then replaces its console handler with a
  colored one, and Sanic (with ``--enable-api``) gives its own loggers text handlers
  when the app is made. The file alone is not enough: the Rasa server prints JSON
  once :func:`configure_logging` runs in it, which takes both back. Our channel's
  ``from_credentials`` runs before the app is made, its ``blueprint`` after.

Python's warnings at import (Sanic turns DeprecationWarnings back on, whatever
``PYTHONWARNINGS`` says) come before any of this, as plain lines on stderr.

Rasa 3.6 also logs through structlog (``structlogger.debug("processor.message.parse",
parse_data_text=...)``), with the conversation's text in the fields: at DEBUG for
every message, at WARNING and ERROR when a message or event fails. Rasa renders those
as a JSON string handed to the standard logger, where masking the string misses
what JSON escaping hides (``"call me\\n040 ..."``) and may cut it mid-string.
:func:`configure_logging` therefore re-routes structlog: every field is masked as a
value, and the fields reach our formatters as a ``fields`` object.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import yaml

from bot.privacy import install_log_redaction, redact_pii

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "TextFormatter",
    "config_file_formatter",
    "configure_logging",
    "log_format",
    "service_name",
    "write_logging_config",
]

LOG_FORMATS = ("json", "text")
FORMAT_ENV = "DIGITUKI_LOG_FORMAT"
SERVICE_ENV = "DIGITUKI_SERVICE_NAME"

# Attributes every LogRecord has; anything else on a record came with ``extra=``.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Where structlog's fields travel on a record (see _structlog_to_logging).
_FIELDS = "digituki_fields"
# Sanic's loggers do not propagate (Rasa and rasa_sdk set it so); they need our handler.
_SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access")


def service_name(default: str) -> str:
    """``DIGITUKI_SERVICE_NAME`` (``rasa-2``: the starter knows the replica) or ``default``."""
    return os.environ.get(SERVICE_ENV, "").strip() or default


def log_format(fmt: str | None = None) -> str:
    """``fmt``, else ``DIGITUKI_LOG_FORMAT``, else ``text``; ``json`` or ``text``."""
    chosen = (fmt or os.environ.get(FORMAT_ENV, "").strip() or "text").lower()
    if chosen not in LOG_FORMATS:
        raise ValueError(f"log format {chosen!r}: expected json or text")
    return chosen


def _jsonable(value: Any) -> Any:
    """``value`` as JSON types, every string in it masked (objects by their ``str``)."""
    if isinstance(value, str):
        return redact_pii(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    # Rasa's events and messages print their text: mask what they print.
    return redact_pii(str(value))


class _MaskingFormatter(logging.Formatter):
    """A formatter naming the service, whose tracebacks and stacks are masked."""

    def __init__(self, service: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service or service_name("digituki")

    def formatException(self, ei: Any) -> str:
        return redact_pii(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact_pii(super().formatStack(stack_info))


class JsonFormatter(_MaskingFormatter):
    """One JSON object a line: time, level, logger, service, message, exception, extras.

    Extras are the ``extra=`` values that are strings, numbers, booleans or ``None``.
    The message, the exception and every string are masked here, whether or not
    :func:`~bot.privacy.install_log_redaction` masked the record already.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            key: redact_pii(value) if isinstance(value, str) else value
            for key, value in record.__dict__.items()
            if key not in _RECORD_ATTRIBUTES
            and (value is None or isinstance(value, str | int | float | bool))
        }
        entry.update(
            time=dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            level=record.levelname,
            logger=record.name,
            service=self.service,
            message=redact_pii(record.getMessage()),
        )
        fields = getattr(record, _FIELDS, None)
        if fields:
            entry["fields"] = fields
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = redact_pii(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(_MaskingFormatter):
    """``time LEVEL service logger: message``, masked like :class:`JsonFormatter`."""

    def __init__(self, service: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(service)s %(name)s: %(message)s")
        super().__init__(service, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        # A copy: other handlers of the same record keep their own view of it.
        copy = logging.makeLogRecord(record.__dict__)
        message = redact_pii(record.getMessage())
        fields = getattr(record, _FIELDS, None)
        if fields:
            message += " " + json.dumps(fields, ensure_ascii=False, default=str)
        copy.msg, copy.args, copy.service = message, (), self.service
        if record.exc_info:
            copy.exc_text = None  # not another formatter's cached, unmasked traceback
        elif record.exc_text:
            copy.exc_text = redact_pii(record.exc_text)
        return super().format(copy)


class _ConsoleHandler(logging.StreamHandler):
    """Our handler on the root logger: found and replaced when configured again."""


def _formatter(service: str, fmt: str) -> logging.Formatter:
    return JsonFormatter(service) if fmt == "json" else TextFormatter(service)


def _writes_to_console(handler: logging.Handler) -> bool:
    """A handler that prints to stdout or stderr (Rasa's colored one, ``basicConfig``'s)."""
    stream = getattr(handler, "stream", None)
    return isinstance(handler, logging.StreamHandler) and stream in (
        sys.stdout,
        sys.stderr,
        sys.__stdout__,
        sys.__stderr__,
    )


def configure_logging(service: str, level: str = "INFO", fmt: str | None = None) -> None:
    """Everything this process logs goes to stderr as ``fmt`` lines, masked.

    ``service`` names the process in every line (``DIGITUKI_SERVICE_NAME`` wins, so a
    starter can tell replicas apart); ``fmt`` defaults to ``DIGITUKI_LOG_FORMAT``.
    Other console handlers of the root logger are removed (they would print each
    line twice); file handlers and counters stay. Calling it again replaces our
    handler, it does not add one.
    """
    install_log_redaction()
    handler = _ConsoleHandler(sys.stderr)
    handler.setFormatter(_formatter(service_name(service), log_format(fmt)))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _ConsoleHandler) or _writes_to_console(old):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # Python's warnings as log lines, not bare text on stderr
    for name in _SANIC_LOGGERS:
        sanic_logger = logging.getLogger(name)
        if not sanic_logger.propagate:
            for old in list(sanic_logger.handlers):
                if isinstance(old, _ConsoleHandler) or _writes_to_console(old):
                    sanic_logger.removeHandler(old)
            sanic_logger.addHandler(handler)
    _route_structlog_through_logging()


def config_file_formatter(service: str, fmt: str) -> logging.Formatter:
    """The formatter of :func:`write_logging_config`'s file, made by ``dictConfig``.

    It also turns Python's warnings into log lines (rasa_sdk warns on requests from
    another Rasa version), which a dictConfig file cannot say by itself.
    """
    logging.captureWarnings(True)
    return _formatter(service, log_format(fmt))


def _mask_event(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """structlog processor: every field masked, as JSON types."""
    return {
        key: value if key in ("exc_info", "stack_info") else _jsonable(value)
        for key, value in event_dict.items()
    }


def _structlog_to_logging(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """structlog's last processor: the event as the message, the fields in one ``extra``.

    One key, because Rasa's field names (``message``, ...) may not be set on a record.
    """
    event = event_dict.pop("event", "")
    kwargs: dict[str, Any] = {
        key: event_dict.pop(key) for key in ("exc_info", "stack_info") if key in event_dict
    }
    event_dict.pop("level", None)
    return {"msg": str(event), "extra": {_FIELDS: event_dict}, **kwargs}


def _route_structlog_through_logging() -> None:
    """Rasa's structlog events reach our handler masked, their fields as an object."""
    try:
        import structlog
    except ImportError:  # only Rasa's processes have it
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.processors.UnicodeDecoder(),
            _mask_event,
            _structlog_to_logging,
        ],
        context_class=dict,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def write_logging_config(
    path: Path, service: str, level: str = "INFO", fmt: str | None = None
) -> Path:
    """Writes the ``--logging-config-file`` for ``rasa run`` / ``rasa run actions``.

    A ``logging.config.dictConfig`` in YAML: our formatter for ``service`` on stderr,
    for the root logger and Sanic's non-propagating loggers; ``fmt`` defaults to
    ``DIGITUKI_LOG_FORMAT``. Returns ``path``.
    """
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "digituki": {
                "()": f"{__name__}.{config_file_formatter.__name__}",
                "service": service_name(service),
                "fmt": log_format(fmt),
            }
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "digituki",
            }
        },
        "root": {"level": level.upper(), "handlers": ["console"]},
        "loggers": {name: {"handlers": ["console"], "propagate": False} for name in _SANIC_LOGGERS},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
