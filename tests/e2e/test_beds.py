"""Beds: live capacity, holds that lapse by themselves, admissions, and no bed ever given twice."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from backend.capacity.holds import hold_bed
from backend.capacity.models import Bed, BedHold, HoldStatus
from backend.capacity.schemas import HoldCreate
from backend.core.config import Settings
from backend.core.i18n import LOCAL_TZ
from backend.core.jobs import REGISTRY
from backend.core.runtime import Runtime
from backend.users.models import User
from tests.client import Api, World, Ws
from tests.factories import many_elders


async def institution(admin: Api, world: World, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "平江颐养院",
        "operator_kind": "public_private",
        "community_id": world.community["id"],
        "location": world.home,
        "licence_no": f"苏民养{uuid.uuid4().hex[:10]}",
        "provider_id": world.provider["id"],
        "monthly_fee_yuan": "4200.50",
        **extra,
    }
    return await admin.ok("POST", "/api/v1/institutions", body, 201)


async def test_a_bed_is_held_admitted_discharged_and_every_area_sees_the_counts(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    home = await institution(admin, world)
    iid = home["id"]
    manager = await world.user("provider_admin", provider_id=world.provider["id"])
    staff = await world.user("community_staff", community_id=world.community["id"])
    watcher = await Ws.connect(stack.base_url, staff.token)
    await watcher.subscribe(f"community:{world.community['id']}")

    wrong = await manager.post(f"/api/v1/institutions/{iid}/beds", {"room": "301", "kind": "suite", "count": 2})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unknown_bed_kind"
    beds = await manager.ok(
        "POST", f"/api/v1/institutions/{iid}/beds", {"room": "301", "kind": "nursing", "count": 2}, 201
    )
    assert [b["label"] for b in beds] == ["301-1", "301-2"] and {b["status"] for b in beds} == {"free"}
    await manager.ok("POST", f"/api/v1/institutions/{iid}/beds", {"room": "302", "kind": "ordinary"}, 201)
    counts = await staff.ok("GET", f"/api/v1/institutions/{iid}/capacity")
    assert (counts["total"], counts["free"], counts["by_kind"]["nursing"]["free"]) == (3, 3, 2)

    first, second, third = world.elders[0], await world.add_elder(), await world.add_elder()
    hold = await staff.ok(
        "POST", "/api/v1/bed-holds", {"elder_id": first["id"], "institution_id": iid, "kind": "nursing"}, 201
    )
    assert hold["bed_id"] == beds[0]["id"] and hold["status"] == "active"
    assert (datetime.fromisoformat(hold["expires_at"]) - datetime.now().astimezone()).total_seconds() > 47 * 3600
    event = await watcher.wait_event("capacity.changed", institution_id=iid, held=1)
    assert (event["data"]["kind"], event["data"]["free"]) == ("nursing", 1)
    again = await staff.post("/api/v1/bed-holds", {"elder_id": first["id"], "institution_id": iid, "kind": "ordinary"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "elder_already_holds"
    other = await staff.ok(
        "POST", "/api/v1/bed-holds", {"elder_id": second["id"], "institution_id": iid, "kind": "nursing"}, 201
    )
    full = await staff.post("/api/v1/bed-holds", {"elder_id": third["id"], "institution_id": iid, "kind": "nursing"})
    assert full.status_code == 409 and full.json()["error"]["code"] == "no_bed_free"

    # A family searching nearby: no nursing bed is free here any more; the ordinary one is, 0 m away.
    near = {"lat": world.home["lat"], "lon": world.home["lon"], "radius_km": 2}
    nursing = await staff.ok(
        "GET", "/api/v1/beds/search?" + "&".join(f"{k}={v}" for k, v in {**near, "kind": "nursing"}.items())
    )
    assert iid not in [f["institution_id"] for f in nursing]
    ordinary = await staff.ok(
        "GET", "/api/v1/beds/search?" + "&".join(f"{k}={v}" for k, v in {**near, "kind": "ordinary"}.items())
    )
    mine = next(f for f in ordinary if f["institution_id"] == iid)
    assert mine["free"] == 1 and mine["distance_m"] < 1
    assert (mine["monthly_fee_fen"], mine["monthly_fee_yuan"]) == (420050, "4200.50")

    # Admitted, the bed is occupied; the other family gives theirs back; then the first elder leaves.
    admission = await staff.ok("POST", f"/api/v1/bed-holds/{hold['id']}/admit")
    assert (admission["bed_id"], admission["elder_id"]) == (hold["bed_id"], first["id"])
    twice = await staff.post(f"/api/v1/bed-holds/{hold['id']}/admit")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "hold_not_active"
    released = await staff.ok("POST", f"/api/v1/bed-holds/{other['id']}/release")
    assert released["status"] == "released"
    counts = (await staff.ok("GET", f"/api/v1/institutions/{iid}/capacity"))["by_kind"]["nursing"]
    assert (counts["occupied"], counts["held"], counts["free"]) == (1, 0, 1)
    left = await staff.ok("POST", f"/api/v1/admissions/{admission['id']}/discharge", {"reason": "回家休养"})
    assert left["discharged_at"] is not None
    gone = await staff.post(f"/api/v1/admissions/{admission['id']}/discharge")
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "already_discharged"

    # A bed under repair cannot be held; an occupied one cannot be taken out of service.
    out = await manager.ok("POST", f"/api/v1/beds/{beds[0]['id']}/out-of-service")
    assert out["status"] == "out_of_service"
    assert (await staff.ok("GET", f"/api/v1/institutions/{iid}/capacity"))["out_of_service"] == 1
    assert (await staff.post(f"/api/v1/beds/{beds[0]['id']}/out-of-service")).status_code == 403
    await manager.ok("POST", f"/api/v1/beds/{beds[0]['id']}/in-service")
    await watcher.close()


async def test_holds_and_beds_are_refused_outside_ones_scope(stack, admin, make_world) -> None:
    world, elsewhere = await make_world(caregivers_km=()), await make_world(caregivers_km=())
    home = await institution(admin, world)
    await admin.ok("POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "1", "kind": "nursing"}, 201)
    stranger = await elsewhere.user("community_staff", community_id=elsewhere.community["id"])
    body = {"elder_id": world.elders[0]["id"], "institution_id": home["id"], "kind": "nursing"}
    assert (await stranger.post("/api/v1/bed-holds", body)).status_code == 403
    other_admin = await elsewhere.user("provider_admin", provider_id=elsewhere.provider["id"])
    refused = await other_admin.post(f"/api/v1/institutions/{home['id']}/beds", {"room": "2", "kind": "nursing"})
    assert refused.status_code == 403
    own = await other_admin.post(
        "/api/v1/institutions",
        {
            "name": "x",
            "operator_kind": "social",
            "community_id": world.community["id"],
            "location": world.home,
            "licence_no": "L-x",
            "provider_id": world.provider["id"],
        },
    )
    assert own.status_code == 403
    assert (await admin.post("/api/v1/bed-holds", {**body, "institution_id": 2**31 - 1})).status_code == 422
    duplicate = await admin.post(
        "/api/v1/institutions",
        {
            "name": "y",
            "operator_kind": "social",
            "community_id": world.community["id"],
            "location": world.home,
            "licence_no": home["licence_no"],
        },
    )
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "licence_taken"


async def test_a_lapsed_hold_frees_its_bed_by_itself(stack, admin, make_world, runtime: Runtime) -> None:
    world = await make_world(caregivers_km=())
    home = await institution(admin, world)
    await admin.ok("POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "1", "kind": "dementia"}, 201)
    brief = Settings(database_url=runtime.settings.database_url, bed_hold_hours=1 / 3600)  # one second
    async with runtime.unit_of_work() as session:
        operator = (await session.execute(select(User).where(col(User.username) == "admin"))).scalar_one()
        data = HoldCreate(elder_id=world.elders[0]["id"], institution_id=home["id"], kind="dementia")
        hold = await hold_bed(session=session, settings=brief, user=operator, data=data)
    # The stack's scheduler sweeps lapsed holds: nobody has to release it.
    for _ in range(50):
        if (await admin.ok("GET", f"/api/v1/bed-holds/{hold.id}"))["status"] == "expired":
            break
        await asyncio.sleep(0.2)
    assert (await admin.ok("GET", f"/api/v1/bed-holds/{hold.id}"))["status"] == "expired"
    assert (await admin.ok("GET", f"/api/v1/institutions/{home['id']}/capacity"))["free"] == 1
    late = await admin.post(f"/api/v1/bed-holds/{hold.id}/admit")
    assert late.status_code == 409 and late.json()["error"]["code"] == "hold_not_active"


async def test_500_simultaneous_holds_on_50_beds_exactly_50_win(stack, admin, make_world, runtime: Runtime) -> None:
    world = await make_world(caregivers_km=())
    home = await institution(admin, world)
    await admin.ok(
        "POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "A", "kind": "nursing", "count": 50}, 201
    )
    ids = await many_elders(runtime, world.community["id"], 500)
    operator = await world.user("operator")

    async def hold(elder_id: int | None) -> Any:
        body = {"elder_id": elder_id, "institution_id": home["id"], "kind": "nursing"}
        return await operator.post("/api/v1/bed-holds", body)

    answers = await asyncio.gather(*(hold(i) for i in ids))
    outcomes = Counter((r.status_code, r.json()["error"]["code"] if r.status_code != 201 else None) for r in answers)
    assert outcomes == {(201, None): 50, (409, "no_bed_free"): 450}, outcomes
    assert len({r.json()["bed_id"] for r in answers if r.status_code == 201}) == 50
    # Reconciliation: no bed has two live holders, and every held bed has exactly one.
    async with runtime.sessions() as session:
        doubled = await session.execute(
            select(BedHold.bed_id)
            .where(col(BedHold.institution_id) == home["id"], col(BedHold.status) == HoldStatus.active.value)
            .group_by(col(BedHold.bed_id))
            .having(func.count() > 1)
        )
        assert doubled.all() == []
        held = await session.scalar(
            select(func.count()).where(col(Bed.institution_id) == home["id"], col(Bed.status) == "held")
        )
    assert held == 50
    assert (await operator.ok("GET", f"/api/v1/institutions/{home['id']}/capacity"))["held"] == 50


async def test_a_freed_bed_goes_to_the_first_in_line_who_is_told_at_once(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    home = await institution(admin, world)
    iid = home["id"]
    staff = await world.user("community_staff", community_id=world.community["id"])
    watcher = await Ws.connect(stack.base_url, staff.token)
    await watcher.subscribe(f"community:{world.community['id']}")
    await admin.ok("POST", f"/api/v1/institutions/{iid}/beds", {"room": "5", "kind": "nursing"}, 201)
    resident, early, needy, poorest = world.elders[0], *[await world.add_elder() for _ in range(3)]
    hold = await staff.ok(
        "POST", "/api/v1/bed-holds", {"elder_id": resident["id"], "institution_id": iid, "kind": "nursing"}, 201
    )
    admission = await staff.ok("POST", f"/api/v1/bed-holds/{hold['id']}/admit")

    # The home is full: three families join its list. 特困 and 低保 elders and higher disability go first.
    def join(elder: dict[str, Any], benefit: str, level: int) -> dict[str, Any]:
        return {
            "elder_id": elder["id"],
            "institution_id": iid,
            "kind": "nursing",
            "benefit": benefit,
            "disability_level": level,
        }

    for body in (join(early, "none", 1), join(needy, "low_income", 3), join(poorest, "extreme_poverty", 0)):
        entry = await staff.ok("POST", "/api/v1/waiting-list", body, 201)
        assert entry["status"] == "waiting"
    twice = await staff.post("/api/v1/waiting-list", join(early, "none", 1))
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_waiting"
    both = await staff.post("/api/v1/waiting-list", {**join(early, "none", 1), "district_id": world.district["id"]})
    assert both.status_code == 422
    line = await staff.ok("GET", f"/api/v1/waiting-list?institution_id={iid}")
    assert [(e["elder_id"], e["position"]) for e in line] == [(poorest["id"], 1), (needy["id"], 2), (early["id"], 3)]

    # The resident leaves: the bed is held for the first in line, and their community hears of it.
    await staff.ok("POST", f"/api/v1/admissions/{admission['id']}/discharge", {"reason": "回家"})
    offered = await watcher.wait_event("bed.offered", elder_id=poorest["id"])
    assert offered["data"]["institution_id"] == iid
    counts = await staff.ok("GET", f"/api/v1/institutions/{iid}/capacity")
    assert (counts["held"], counts["free"]) == (1, 0)
    # The family says no: the next in line is offered it; they move in and leave every list.
    await staff.ok("POST", f"/api/v1/bed-holds/{offered['data']['hold_id']}/release")
    second = await watcher.wait_event("bed.offered", elder_id=needy["id"])
    await staff.ok("POST", f"/api/v1/bed-holds/{second['data']['hold_id']}/admit")
    line = await staff.ok("GET", f"/api/v1/waiting-list?institution_id={iid}")
    assert [(e["elder_id"], e["status"], e["position"]) for e in line] == [(early["id"], "waiting", 1)]
    left = await staff.ok("POST", f"/api/v1/waiting-list/{line[0]['id']}/leave")
    assert left["status"] == "left"
    assert await staff.ok("GET", f"/api/v1/waiting-list?institution_id={iid}") == []
    await watcher.close()


async def test_joining_a_district_list_with_a_free_bed_nearby_is_offered_at_once(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    home = await institution(admin, world)
    await admin.ok("POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "9", "kind": "ordinary"}, 201)
    operator = await world.user("operator")
    body = {"elder_id": world.elders[0]["id"], "district_id": world.district["id"], "kind": "ordinary"}
    entry = await operator.ok("POST", "/api/v1/waiting-list", body, 201)
    assert entry["status"] == "offered" and entry["hold_id"]
    hold = await operator.ok("GET", f"/api/v1/bed-holds/{entry['hold_id']}")
    assert hold["institution_id"] == home["id"] and hold["status"] == "active"


async def test_a_resident_moves_to_a_nursing_bed_and_their_old_bed_goes_to_the_waiting_list(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=())
    home = await institution(admin, world)
    iid = home["id"]
    staff = await world.user("community_staff", community_id=world.community["id"])
    (ordinary,) = await admin.ok("POST", f"/api/v1/institutions/{iid}/beds", {"room": "2", "kind": "ordinary"}, 201)
    (nursing,) = await admin.ok("POST", f"/api/v1/institutions/{iid}/beds", {"room": "3", "kind": "nursing"}, 201)
    resident, next_in_line = world.elders[0], await world.add_elder()
    hold = await staff.ok(
        "POST", "/api/v1/bed-holds", {"elder_id": resident["id"], "institution_id": iid, "kind": "ordinary"}, 201
    )
    living = await staff.ok("POST", f"/api/v1/bed-holds/{hold['id']}/admit")
    body = {"elder_id": next_in_line["id"], "institution_id": iid, "kind": "ordinary"}
    assert (await staff.ok("POST", "/api/v1/waiting-list", body, 201))["status"] == "waiting"

    # Their health declines: they move to the nursing bed, and the ordinary bed is offered to the next in line.
    same = await staff.post(f"/api/v1/admissions/{living['id']}/transfer", {"bed_id": ordinary["id"]})
    assert same.status_code == 409 and same.json()["error"]["code"] == "bed_not_free"
    moved = await staff.ok(
        "POST", f"/api/v1/admissions/{living['id']}/transfer", {"bed_id": nursing["id"], "reason": "失能加重"}
    )
    assert (moved["bed_id"], moved["elder_id"], moved["discharged_at"]) == (nursing["id"], resident["id"], None)
    old = await staff.ok("GET", f"/api/v1/admissions/{living['id']}")
    assert old["discharged_at"] is not None
    line = await staff.ok("GET", f"/api/v1/waiting-list?institution_id={iid}")
    assert [(e["elder_id"], e["status"]) for e in line] == [(next_in_line["id"], "offered")]
    counts = await staff.ok("GET", f"/api/v1/institutions/{iid}/capacity")
    assert counts["by_kind"]["nursing"]["occupied"] == 1 and counts["by_kind"]["ordinary"]["held"] == 1


async def test_areas_see_their_beds_with_the_shares_the_bureau_reports(stack, admin, make_world) -> None:
    world, elsewhere = await make_world(caregivers_km=()), await make_world(caregivers_km=())
    home = await institution(admin, world, operator_kind="social")
    for room, kind, count in (("1", "nursing", 3), ("2", "ordinary", 1)):
        await admin.ok(
            "POST", f"/api/v1/institutions/{home['id']}/beds", {"room": room, "kind": kind, "count": count}, 201
        )
    staff = await world.user("community_staff", community_id=world.community["id"])
    hold = await staff.ok(
        "POST",
        "/api/v1/bed-holds",
        {"elder_id": world.elders[0]["id"], "institution_id": home["id"], "kind": "nursing"},
        201,
    )
    await staff.ok("POST", f"/api/v1/bed-holds/{hold['id']}/admit")
    mine = await staff.ok("GET", f"/api/v1/capacity/summary?community_id={world.community['id']}")
    assert (mine["area"], mine["institutions"], mine["total"], mine["occupied"], mine["free"]) == (
        f"community:{world.community['id']}",
        1,
        4,
        1,
        3,
    )
    assert (mine["nursing_share"], mine["social_share"], mine["occupancy"]) == (0.75, 1.0, 0.25)
    second = await institution(admin, world, name="东环护理院")
    (listed_second, listed) = await staff.ok("GET", f"/api/v1/institutions?community_id={world.community['id']}")
    assert [listed_second["institution"]["id"], listed["institution"]["id"]] == [second["id"], home["id"]]  # by name
    assert (listed["total"], listed["free"], listed["occupied"], listed_second["total"]) == (4, 3, 1, 0)
    assert (listed["institution"]["monthly_fee_fen"], listed["institution"]["monthly_fee_yuan"]) == (420050, "4200.50")
    district = await world.user("community_staff", district_id=world.district["id"])
    assert (await district.ok("GET", f"/api/v1/capacity/summary?district_id={world.district['id']}"))["total"] == 4
    city = await (await world.user("operator")).ok("GET", "/api/v1/capacity/summary")
    assert city["area"] == "city" and city["total"] >= 4
    stranger = await elsewhere.user("community_staff", community_id=elsewhere.community["id"])
    assert (await stranger.get(f"/api/v1/capacity/summary?community_id={world.community['id']}")).status_code == 403
    assert (await staff.get("/api/v1/capacity/summary")).status_code == 403
    assert (await stranger.get(f"/api/v1/institutions?community_id={world.community['id']}")).status_code == 403


async def test_occupancy_over_time_from_the_evening_snapshots(stack, admin, make_world, runtime: Runtime) -> None:
    world = await make_world(caregivers_km=())
    home = await institution(admin, world)
    await admin.ok("POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "7", "kind": "nursing", "count": 4}, 201)
    staff = await world.user("community_staff", community_id=world.community["id"])
    body = {"elder_id": world.elders[0]["id"], "institution_id": home["id"], "kind": "nursing"}
    hold = await staff.ok("POST", "/api/v1/bed-holds", body, 201)
    await staff.ok("POST", f"/api/v1/bed-holds/{hold['id']}/admit")
    await REGISTRY["capacity.snapshot"](runtime)  # what the scheduler enqueues at 23:55
    await REGISTRY["capacity.snapshot"](runtime)  # twice the same day: replaced, not doubled
    today = datetime.now(LOCAL_TZ).date()
    path = (
        f"/api/v1/capacity/history?community_id={world.community['id']}&start={today - timedelta(days=7)}&end={today}"
    )
    (day,) = await staff.ok("GET", path)
    assert (day["day"], day["total"], day["occupied"], day["occupancy"]) == (today.isoformat(), 4, 1, 0.25)
    backwards = await staff.get(
        path.replace(f"start={today - timedelta(days=7)}", f"start={today + timedelta(days=1)}")
    )
    assert backwards.status_code == 422


async def test_the_bureau_configures_a_new_kind_of_bed(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    code = f"hospice_{uuid.uuid4().hex[:6]}"
    kind = {"code": code, "name_zh": "安宁疗护床位", "name_en": "Hospice bed", "nursing": True}
    staff = await world.user("operator")
    assert (await staff.post("/api/v1/bed-kinds", kind)).status_code == 403
    assert (await admin.ok("POST", "/api/v1/bed-kinds", kind, 201))["code"] == code
    again = await admin.post("/api/v1/bed-kinds", kind)
    assert again.status_code == 409 and again.json()["error"]["code"] == "bed_kind_exists"
    assert (await admin.post("/api/v1/bed-kinds", {**kind, "code": "Bad Code"})).status_code == 422
    assert code in [k["code"] for k in await staff.ok("GET", "/api/v1/bed-kinds")]
    home = await institution(admin, world)
    beds = await admin.ok(
        "POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "9", "kind": code, "count": 2}, 201
    )
    assert {b["kind"] for b in beds} == {code}
    summary = await admin.ok("GET", f"/api/v1/capacity/summary?community_id={world.community['id']}")
    assert summary["nursing_share"] == 1.0  # configured as nursing-type
