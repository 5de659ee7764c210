"""What a phone that loses its signal needs: every POST takes an Idempotency-Key (a retry, or a queue kept offline
and replayed, is answered as the first time and changes nothing; the same key for another request is refused), and
en route, check-in and check-out keep the phone's own times."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from tests.client import offer_for


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}


async def test_a_retried_order_is_made_once_and_answered_as_the_first_time(stack, admin, make_world) -> None:
    world = await make_world()
    operator = await world.user("operator")
    elder = world.elders[0]
    body, key = {"elder_id": elder["id"], "service_type": "meal", "paid_by": "self"}, _key()
    first = await operator.post("/api/v1/requests", body, headers=key)
    again = await operator.post("/api/v1/requests", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    orders = await operator.ok("GET", f"/api/v1/requests?elder_id={elder['id']}")
    assert [o["id"] for o in orders] == [first.json()["id"]]

    other = await operator.post("/api/v1/requests", {**body, "service_type": "cleaning"}, headers=key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    bad_key = await operator.post("/api/v1/requests", body, headers={"Idempotency-Key": "two words"})
    assert bad_key.status_code == 422 and bad_key.json()["error"]["code"] == "bad_idempotency_key"
    # Another caller's key is their own: the same key makes them their own order.
    colleague = await world.user("operator")
    theirs = await colleague.post("/api/v1/requests", body, headers=key)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


async def test_a_refusal_is_replayed_too_and_concurrent_retries_make_one_order(stack, admin, make_world) -> None:
    world = await make_world()
    operator = await world.user("operator")
    elder = world.elders[0]
    key = _key()
    unknown = {"elder_id": elder["id"], "service_type": "massage"}
    first = await operator.post("/api/v1/requests", unknown, headers=key)
    again = await operator.post("/api/v1/requests", unknown, headers=key)
    assert first.status_code == again.status_code == 422 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"

    body, key = {"elder_id": elder["id"], "service_type": "meal", "paid_by": "self"}, _key()
    answers = await asyncio.gather(*(operator.post("/api/v1/requests", body, headers=key) for _ in range(6)))
    made = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(made) == 1, [(a.status_code, a.text) for a in answers]
    assert all(a.status_code in (201, 409) for a in answers)
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} <= {"idempotency_in_progress"}
    orders = await operator.ok("GET", f"/api/v1/requests?elder_id={elder['id']}")
    assert [o["id"] for o in orders] == list(made)


async def test_a_check_in_replayed_from_the_offline_queue_lands_once(stack, admin, make_world) -> None:
    world = await make_world()
    operator = await world.user("operator")
    caregiver = world.caregivers[0]
    rid = (
        await operator.ok("POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201)
    )["id"]
    offer = await offer_for(caregiver["api"], rid)
    phone = caregiver["api"]
    await phone.ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/en-route")
    key = _key()
    first = await phone.post(f"/mobile/v1/requests/{rid}/check-in", world.home, headers=key)
    replayed = await phone.post(f"/mobile/v1/requests/{rid}/check-in", world.home, headers=key)
    assert first.status_code == replayed.status_code == 200 and replayed.json() == first.json()
    assert replayed.headers["idempotent-replayed"] == "true"
    unkeyed = await phone.post(f"/mobile/v1/requests/{rid}/check-in", world.home)
    assert unkeyed.status_code == 409  # without a key, a second check-in is a conflict, as before
    order = await operator.ok("GET", f"/api/v1/requests/{rid}")
    assert [h["status"] for h in order["history"]].count("in_service") == 1


async def test_the_visit_keeps_the_phones_own_times_within_bounds(stack, admin, make_world) -> None:
    """A check-in tapped in a stairwell and sent later records when it was tapped, not when it arrived."""
    world = await make_world()
    operator = await world.user("operator")
    phone = world.caregivers[0]["api"]
    made = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    rid = made["id"]
    await phone.ok("POST", f"/mobile/v1/offers/{(await offer_for(phone, rid))['id']}/accept")
    now = datetime.now(UTC)
    too_old = {"at": (now - timedelta(hours=13)).isoformat()}
    ahead = {"at": (now + timedelta(minutes=5)).isoformat()}
    for body in (too_old, ahead):
        refused = await phone.post(f"/mobile/v1/requests/{rid}/en-route", body)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "device_time_out_of_range"
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/en-route", {"at": (now - timedelta(minutes=30)).isoformat()})
    tapped = now - timedelta(minutes=20)
    await phone.ok(
        "POST", f"/mobile/v1/requests/{rid}/check-in", {**world.home, "at": tapped.isoformat(), "accuracy_m": 12.5}
    )
    early = await phone.post(
        f"/mobile/v1/requests/{rid}/check-out", {"at": (tapped - timedelta(minutes=1)).isoformat()}
    )
    assert early.status_code == 422 and early.json()["error"]["code"] == "checkout_before_checkin"
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {"notes": "已送餐"})
    order = await operator.ok("GET", f"/api/v1/requests/{rid}")
    visit = order["visit"]
    assert datetime.fromisoformat(visit["checkin_at"]) == tapped and visit["checkin_accuracy_m"] == 12.5
    arrived = next(h for h in order["history"] if h["status"] == "in_service")
    assert datetime.fromisoformat(arrived["at"]) == tapped  # the history too says when it happened
