"""How `eldercare bench breaches` judges a day: breaches flagged early enough, and the precision of the flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.dispatch.breach import Labelled
from backend.simulation.breaches import Day, judge

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def test_a_breach_counts_as_foreseen_only_when_flagged_at_least_the_lead_before_it() -> None:
    day = Day(
        seed=1,
        method="rule",
        labelled=Labelled.empty(),
        breaches={1: minutes(60), 2: minutes(60), 3: minutes(3), 4: minutes(60)},  # 3: an emergency's 3 minutes
        fine={5, 6},
        flags={1: minutes(12), 2: minutes(55), 3: minutes(1), 5: minutes(20), 7: minutes(30)},  # 7: outcome unknown
        created={i: minutes(0) for i in range(1, 8)},
    )
    judged = judge([day], lead_minutes=10)
    assert judged["breaches"] == 4 and judged["flagged_ahead"] == 1 and judged["recall_ahead"] == 0.25
    assert judged["breaches_lasting_lead"] == 3 and judged["recall_ahead_of_those"] == round(1 / 3, 4)
    assert judged["flagged"] == 4 and judged["precision"] == 0.75  # 1, 2, 3 breached; 5 did not; 7 unknown
