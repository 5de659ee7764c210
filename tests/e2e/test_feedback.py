"""After the visit: callbacks (回访) for first-timers, a sample and low ratings; complaints with deadlines; closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, update

from backend.core.runtime import Runtime
from backend.feedback.models import Complaint
from backend.feedback.service import sampled
from backend.feedback.tasks import sweep
from backend.orders.models import Visit
from tests.client import Ws
from tests.e2e.test_scoring import serve


def test_the_sample_is_stable_and_about_the_share_asked() -> None:
    drawn = [sampled(n, 0.1) for n in range(20_000)]
    assert 0.09 < sum(drawn) / len(drawn) < 0.11
    assert drawn == [sampled(n, 0.1) for n in range(20_000)]  # the same orders every time
    assert not any(sampled(n, 0.0) for n in range(1000)) and all(sampled(n, 1.0) for n in range(1000))


async def test_a_low_rating_opens_a_complaint_the_bureau_sees_when_it_goes_unanswered(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver, elder = world.caregivers[0], world.elders[0]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    dashboard = await Ws.connect(stack.base_url, staff.token)
    await dashboard.subscribe(f"community:{world.community['id']}")

    # A first visit: the elder is called back; the operator records 5 stars on the call and the callback is done.
    first = await serve(world, operator, caregiver, elder, paid_by="self")
    calls = await staff.ok("GET", f"/api/v1/follow-ups?community_id={world.community['id']}&kind=satisfaction_call")
    assert [(c["request_id"], c["status"]) for c in calls] == [(first, "open")] and "首次服务回访" in calls[0]["reason"]
    # Naming no area, an area's staff get their own (as every list does), not a 403.
    assert await staff.ok("GET", "/api/v1/follow-ups?kind=satisfaction_call") == calls
    await operator.ok("POST", f"/api/v1/requests/{first}/rating", {"stars": 5, "comment": "很满意"})
    assert (
        await staff.ok("GET", f"/api/v1/follow-ups?community_id={world.community['id']}&kind=satisfaction_call") == []
    )

    # The elder rates the next visit 1 star in the app: a complaint for the provider, and a callback.
    second = await serve(world, operator, caregiver, elder, paid_by="self")
    own = await world.user("elder", elder_id=elder["id"])
    await own.ok("POST", f"/api/v1/requests/{second}/rating", {"stars": 1, "comment": "护理员迟到一小时"})
    opened = await dashboard.wait_event("complaint.opened", request_id=second)
    (case,) = await boss.ok("GET", "/api/v1/complaints")
    assert (case["id"], case["source"], case["status"]) == (opened["data"]["complaint_id"], "rating", "open")
    assert "迟到" in case["text"] and case["provider_id"] == world.provider["id"]
    (callback,) = await staff.ok(
        "GET", f"/api/v1/follow-ups?community_id={world.community['id']}&kind=satisfaction_call"
    )
    assert callback["request_id"] == second and "低分回访" in callback["reason"]

    # Unanswered past its deadline: the bureau is told, once.
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Complaint)
            .where(col(Complaint.id) == case["id"])
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert await sweep(runtime) >= 1
    bureau = await Ws.connect(stack.base_url, operator.token)  # (the sweep ran here: caught up with ``since``)
    await bureau.subscribe(f"district:{world.district['id']}", since=0)
    escalated = await bureau.wait_event("complaint.escalated", complaint_id=case["id"])
    await bureau.close()
    assert escalated["data"]["status"] == "escalated"
    assert (await admin.ok("GET", f"/api/v1/complaints/{case['id']}"))["escalated_at"]
    # The provider answers late; the bureau resolves it. Nobody else may.
    other = await make_world(caregivers_km=())
    stranger = await other.user("provider_admin", provider_id=other.provider["id"])
    assert (await stranger.post(f"/api/v1/complaints/{case['id']}/answer", {"text": "x"})).status_code == 403
    answered = await boss.ok(
        "POST", f"/api/v1/complaints/{case['id']}/answer", {"text": "已对护理员批评教育并调整排班"}
    )
    assert answered["status"] == "escalated" and answered["answer"]
    assert (await boss.post(f"/api/v1/complaints/{case['id']}/resolve", {"text": "x"})).status_code == 403
    done = await admin.ok("POST", f"/api/v1/complaints/{case['id']}/resolve", {"text": "回访老人，已接受处理结果"})
    assert done["status"] == "resolved"
    again = await admin.post(f"/api/v1/complaints/{case['id']}/resolve", {"text": "x"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "complaint_resolved"

    # A family member may complain about an order too; an outsider may not.
    filed = await staff.ok("POST", f"/api/v1/requests/{second}/complaints", {"text": "家属反映服务态度差"}, 201)
    assert filed["source"] == "complaint" and filed["by"].startswith("community_staff:")
    await dashboard.close()


async def test_finished_orders_close_once_followed_up_or_after_the_wait(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver, elder = world.caregivers[0], world.elders[0]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    first = await serve(world, operator, caregiver, elder, paid_by="self")  # first-time: a callback is open
    await sweep(runtime)
    assert (await staff.ok("GET", f"/api/v1/requests/{first}"))["status"] == "completed"  # waiting for the call
    (call,) = await staff.ok("GET", f"/api/v1/follow-ups?community_id={world.community['id']}&kind=satisfaction_call")
    await staff.ok("POST", f"/api/v1/follow-ups/{call['id']}/done", {"outcome": "老人未接电话，家属代为反馈满意"})
    await sweep(runtime)
    closed = await staff.ok("GET", f"/api/v1/requests/{first}")
    assert closed["status"] == "closed" and closed["history"][-1]["reason"] == "回访完成，工单关闭"

    # A later visit not sampled and never rated closes once the wait is over.
    second = await serve(world, operator, caregiver, elder, paid_by="self")
    calls = await staff.ok("GET", f"/api/v1/follow-ups?community_id={world.community['id']}&kind=satisfaction_call")
    if calls:  # the 10 % sample picked it: the operator calls
        await staff.ok("POST", f"/api/v1/follow-ups/{calls[0]['id']}/done", {"outcome": "满意"})
    else:
        await sweep(runtime)
        assert (await staff.ok("GET", f"/api/v1/requests/{second}"))["status"] == "completed"
        async with runtime.unit_of_work() as session:
            await session.execute(
                update(Visit)
                .where(col(Visit.request_id) == second)
                .values(checkout_at=datetime.now(UTC) - timedelta(hours=73))
            )
    await sweep(runtime)
    assert (await staff.ok("GET", f"/api/v1/requests/{second}"))["status"] == "closed"
