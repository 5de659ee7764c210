"""What a visit's page says of its proof and length: the same rules the month's settlement pays by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.orders.models import ProofItem, Visit, VisitProof
from backend.orders.proof_status import shortest_minutes, too_short, visit_public

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _visit(minutes: float | None, confirmed_by: str | None = None) -> Visit:
    checkout = START + timedelta(minutes=minutes) if minutes is not None else None
    return Visit(
        id=1,
        request_id=7,
        caregiver_id=3,
        checkin_at=START,
        checkin_lat=31.3,
        checkin_lon=120.6,
        checkin_distance_m=12.0,
        checkout_at=checkout,
        confirmed_by=confirmed_by,
    )


def _proof(kind: str) -> VisitProof:
    return VisitProof(
        id=1,
        request_id=7,
        caregiver_id=3,
        kind=kind,
        sha256="ab" * 32,
        content_type="image/png",
        size_bytes=10,
        storage_key="proofs/" + "ab" * 32,
        taken_at=START,
    )


def test_a_visit_is_too_short_below_the_share_of_its_services_usual_minutes() -> None:
    assert shortest_minutes(60, 0.25) == 15.0
    assert shortest_minutes(None, 0.25) is None and shortest_minutes(0, 0.25) is None
    assert too_short(START, START + timedelta(minutes=14, seconds=59), 60, 0.25)
    assert not too_short(START, START + timedelta(minutes=15), 60, 0.25)
    assert not too_short(START, None, 60, 0.25)  # not finished: not judged yet
    assert not too_short(START, START + timedelta(seconds=1), None, 0.25)  # no usual length: never too short


def test_the_visit_as_the_order_shows_it_says_what_is_missing_and_whether_it_was_too_short() -> None:
    required = ["arrival_photo", "departure_photo", "confirmation"]
    short = visit_public(_visit(5), [_proof("arrival_photo")], required, usual_minutes=60, share=0.25)
    assert short.too_short and short.min_minutes == 15.0
    assert short.proof_missing == [ProofItem.departure_photo, ProofItem.confirmation]
    assert [p.kind for p in short.proofs] == ["arrival_photo"]

    proved = [_proof("arrival_photo"), _proof("departure_photo")]
    full = visit_public(_visit(40, confirmed_by="code"), proved, required, usual_minutes=60, share=0.25)
    assert not full.too_short and full.proof_missing == []
    under_way = visit_public(_visit(None), [], [], usual_minutes=60, share=0.25)
    assert not under_way.too_short and under_way.proof_missing == [] and under_way.min_minutes == 15.0
