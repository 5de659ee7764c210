"""Logs never carry whole phone or resident ID numbers, in messages or in tracebacks."""

from __future__ import annotations

import logging
import sys

import pytest

from backend.core.logging import RedactPersonalData, redact

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("GET /api/v1/elders?phone=13727512198 HTTP/1.1", "GET /api/v1/elders?phone=137****2198 HTTP/1.1"),
        ("138-1234-5678", "138****5678"),
        ("138%201234%205678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("%2B8613812345678", "138****5678"),
        ("008613812345678", "138****5678"),
        ("(0512) 6523-4567", "0512****4567"),
        ("0512-65223456", "0512****3456"),
        ("320502-19450302-001X", "3205**********001X"),
        ("id 32050219450302001x.", "id 3205**********001x."),
    ],
)
def test_personal_numbers_are_masked(raw: str, masked: str) -> None:
    assert redact(raw) == masked


@pytest.mark.parametrize("plain", ["order 12 at 2026-11-28 13:05:04", "offer 1234567", "seq 20261128130504", "id=42"])
def test_other_numbers_are_left_alone(plain: str) -> None:
    assert redact(plain) == plain


def test_tracebacks_are_masked_too() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactPersonalData())
    try:
        raise ValueError("duplicate key (id_number)=(32050219450302001X) phone 13812345678")
    except ValueError:
        failure = sys.exc_info()
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "insert failed for %s", ("13812345678",), failure)
    assert handler.filter(record)
    text = handler.format(record)
    assert "13812345678" not in text and "32050219450302001X" not in text
    assert "138****5678" in text and "3205**********001X" in text


def test_the_access_log_keeps_its_arguments_and_masks_them() -> None:
    """Uvicorn's access formatter unpacks the record's arguments: they stay a tuple, each masked."""
    from uvicorn.logging import AccessFormatter

    handler = logging.StreamHandler()
    handler.addFilter(RedactPersonalData())
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    args = ("127.0.0.1:5000", "GET", "/api/v1/elders?phone=13812345678", "1.1", 200)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)
    assert handler.filter(record)
    assert handler.format(record) == '127.0.0.1:5000 - "GET /api/v1/elders?phone=138****5678 HTTP/1.1" 200 OK'


def test_numbers_inside_an_argument_object_are_masked_too() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactPersonalData())
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "caller %s", (ValueError("13812345678"),), None)
    assert handler.filter(record)
    assert handler.format(record) == "caller 138****5678"
