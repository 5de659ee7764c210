"""Logging that never writes personal data: phone and resident ID numbers are masked on the way out."""

from __future__ import annotations

import copy
import logging
import re
import traceback
from typing import Any

_SEP = r"(?:[-. ]|%20|%2D)?"  # separators people type, raw or URL-encoded
_MOBILE = re.compile(rf"(?<!\d)(?:(?:\+|%2B|00)?86{_SEP})?(1[3-9]\d){_SEP}\d{{4}}{_SEP}(\d{{4}})(?!\d)")
_LANDLINE = re.compile(rf"(?<!\d)\(?(0\d{{2,3}})\)?{_SEP}\d{{3,4}}{_SEP}(\d{{4}})(?!\d)")
_ID_NUMBER = re.compile(rf"(?<![0-9A-Za-z])(\d{{4}})\d{{2}}{_SEP}\d{{8}}{_SEP}(\d{{3}}[0-9Xx])(?![0-9A-Za-z])")


def redact(text: str) -> str:
    """The text with resident ID numbers and phone numbers masked."""
    text = _ID_NUMBER.sub(r"\1**********\2", text)
    text = _MOBILE.sub(r"\1****\2", text)
    return _LANDLINE.sub(r"\1****\2", text)


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


def configure_logging(level: str) -> None:
    """Root logging for the CLI processes, with the personal-data filter on every handler."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactPersonalData())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per sweep is noise


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """Uvicorn's default logging, its access log included, with the personal-data filter."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"personal_data": {"()": RedactPersonalData}}
    for handler in config["handlers"].values():
        handler["filters"] = ["personal_data"]
    for logger in config["loggers"].values():
        logger["level"] = level.upper()
    return config
