"""Logging that never writes personal data: phone and resident ID numbers are masked on the way out."""

from __future__ import annotations

import logging
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog

from backend.core.context import current
from backend.core.masking import mask_text


def redact(text: str) -> str:
    """The text with resident ID numbers and phone numbers masked (the one masking rule of the platform)."""
    return mask_text(text)


class RedactPersonalData(logging.Filter):
    """A handler filter that masks personal data in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            # Mask argument by argument first: formatters such as uvicorn's access log unpack the arguments.
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            if isinstance(record.msg, str):
                record.msg = redact(record.msg)
        message = record.getMessage()
        masked = redact(message)
        if masked != message:  # still there (inside an object's text): the whole message, masked
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:  # tracebacks quote values too
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _request(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Every line says which request (or the task a request enqueued) it belongs to, and who asked."""
    context = current()
    if context is not None:
        event.setdefault("request_id", context.request_id)
        if context.user_id is not None:
            event.setdefault("user_id", context.user_id)
            event.setdefault("username", context.username)
            event.setdefault("role", context.role)
    return event


def _masked(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Phone and ID numbers masked in every value of a structured line (stdlib records are masked by the filter)."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
    return event


def configure_logging(level: str, fmt: str = "text") -> None:
    """One handler on the root logger for every library (uvicorn, Celery, SQLAlchemy, ours): JSON lines or text,
    each with the request id and the signed-in user, personal data masked (``ELDERCARE_LOG_FORMAT``)."""
    chain: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _request,
    ]
    structlog.configure(
        # A line below the level is dropped before anything is done for it (masking looks for numbers in every value).
        processors=[
            structlog.stdlib.filter_by_level,
            *chain,
            _masked,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler()
    handler.addFilter(RedactPersonalData())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=chain,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per sweep is noise
    logging.getLogger("uvicorn.access").disabled = True  # the platform writes its own access line
