"""A visit on a public holiday is marked on the statement, and public money pays the configured premium for it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from backend.core.runtime import Runtime
from backend.orders.models import Status
from backend.settlement.lines import Month, build, read_month

pytestmark = pytest.mark.unit


def _order(request_id: int, day: date, paid_by: str) -> SimpleNamespace:
    checkin = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 in Suzhou
    return SimpleNamespace(
        request_id=request_id,
        status=Status.completed.value,
        service_type="meal",
        paid_by=paid_by,
        window_start=None,
        created_at=checkin,
        caregiver_id=1,
        elder_id=1,
        district_id=1,
        visit_id=request_id,
        checkin_at=checkin,
        checkout_at=checkin + timedelta(minutes=50),
        location_flagged=False,
        confirmed_by=None,
    )


def test_public_money_pays_the_premium_on_a_holiday_rounded_half_up_and_the_elder_never_does() -> None:
    month = Month(
        orders=[
            _order(1, date(2026, 10, 1), "government"),  # 国庆节
            _order(2, date(2026, 10, 1), "self"),
            _order(3, date(2026, 10, 10), "government"),  # 调休: a working Saturday, no premium
            _order(4, date(2026, 10, 2), "emergency"),
        ],
        proofs={},
        prices={"meal": 1005},
        usual={"meal": 60},
        required={},
        rates={"meal": 1850},
        holidays={date(2026, 10, 1): "国庆节", date(2026, 10, 2): "国庆节"},
        holiday_percent=Decimal(50),
    )
    lines = {line.request_id: line for line in build(month, min_visit_share=0.25)}
    assert (lines[1].holiday, lines[1].premium_fen, lines[1].amount_fen) == ("国庆节", 503, 1508)  # 502.5 → 503
    assert (lines[2].holiday, lines[2].premium_fen, lines[2].amount_fen) == ("国庆节", 0, 1850)  # self-pay: as priced
    assert (lines[3].holiday, lines[3].premium_fen, lines[3].amount_fen) == (None, 0, 1005)
    assert (lines[4].premium_fen, lines[4].amount_fen) == (503, 1508)
    without = build(Month(**{**vars(month), "holiday_percent": Decimal(0)}), min_visit_share=0.25)
    assert [(line.holiday, line.premium_fen) for line in without][:2] == [("国庆节", 0), ("国庆节", 0)]


async def test_the_month_knows_its_public_holidays_by_name(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        october = await read_month(session, 0, "2026-10", Decimal(20))
    assert october.holidays[date(2026, 10, 1)] == "国庆节" and date(2026, 10, 10) not in october.holidays
    assert october.holiday_percent == Decimal(20) and october.orders == []
