"""Tokens end when they should (finding 16), and open sockets lose what REST has withdrawn within two seconds
(finding 7): consent, offers, sign-out, deactivation, password and role changes, expiry."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import jwt

from tests.client import PASSWORD, Api, Ws, offer_for
from tests.e2e.test_scoring import order
from tests.infra import STACK_SECRET


def _token(user_id: int, *, version: int = 0, expires_in: float = 600, signed_in_ago: float = 0) -> str:
    """A token as the platform signs them (the suite knows its key), with chosen times."""
    now = time.time()
    claims = {
        "sub": str(user_id),
        "role": "x",
        "ver": version,
        "iat": int(now),
        "auth_time": int(now - signed_in_ago),
        "exp": int(now + expires_in),
    }
    return jwt.encode(claims, STACK_SECRET, algorithm="HS256")


async def _until(ws: Ws, kind: str, timeout: float = 2.5, **match: Any) -> dict[str, Any]:
    """The next frame of this type (matching ``match``) within ``timeout`` seconds: the issue's two seconds, and a
    little for the test machine."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no {kind} {match} within {timeout} s; got {ws.frames[-5:]}"
        frame = await ws.recv(timeout=left)
        if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame


async def _closed(ws: Ws, timeout: float = 2.5) -> int:
    await asyncio.wait_for(ws.conn.wait_closed(), timeout)
    return int(ws.conn.close_code or 0)


async def _account(admin: Api, stack: Any, role: str = "operator") -> tuple[Api, dict[str, Any]]:
    username = f"{role}_{uuid.uuid4().hex[:8]}"
    made = await admin.ok("POST", "/api/v1/users", {"username": username, "password": PASSWORD, "role": role}, 201)
    return await Api.login(stack.base_url, username), made


async def test_a_withdrawn_consent_ends_the_familys_subscription_within_two_seconds(stack, admin, make_world):
    world = await make_world()
    elder = world.elders[0]
    staff = await world.user("community_staff", community_id=world.community["id"])
    username = f"fam_{uuid.uuid4().hex[:8]}"
    member = await staff.ok(
        "POST",
        f"/api/v1/elders/{elder['id']}/family",
        {"name": "王丽", "phone": "13912345678", "relation": "女儿", "username": username, "password": PASSWORD},
        201,
    )
    family = await Api.login(stack.base_url, username)
    ws = await Ws.connect(stack.base_url, family.token)
    assert (await ws.subscribe(f"elder:{elder['id']}"))["type"] == "subscribed"
    await staff.ok("PATCH", f"/api/v1/elders/{elder['id']}/family/{member['id']}", {"see_orders": False})
    gone = await _until(ws, "unsubscribed", channel=f"elder:{elder['id']}")
    assert gone["reason"] == "out_of_scope"
    assert (await family.get(f"/api/v1/elders/{elder['id']}")).status_code == 403
    operator = await world.user("operator")
    await order(operator, elder)  # her next order reaches the family no more
    await asyncio.sleep(1.5)
    assert not [e for e in ws.events if e["channel"] == f"elder:{elder['id']}" and e["event"] == "request.status"]
    again = await ws.subscribe(f"elder:{elder['id']}")
    assert again["type"] == "error" and again["code"] == "out_of_scope"
    await ws.close()


async def test_a_declined_offer_ends_the_caregivers_reading_of_the_order(stack, admin, make_world):
    world = await make_world(caregivers_km=(0.5, 3.0))
    near, far = world.caregivers
    operator = await world.user("operator")
    rid = await order(operator, world.elders[0])
    offer = await offer_for(near["api"], rid)
    ws = await Ws.connect(stack.base_url, near["api"].token, path="/mobile/v1/ws")
    assert (await ws.subscribe(f"request:{rid}"))["type"] == "subscribed"
    assert (await near["api"].get(f"/api/v1/requests/{rid}")).status_code == 200
    await near["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/decline", {"reason": "在忙"})
    gone = await _until(ws, "unsubscribed", channel=f"request:{rid}")
    assert gone["reason"] == "out_of_scope"
    assert (await near["api"].get(f"/api/v1/requests/{rid}")).status_code == 403
    await ws.close()
    assert far["id"] != near["id"]


async def test_signing_out_ends_every_token_and_socket_of_the_account(stack, admin):
    api, _made = await _account(admin, stack)
    other_device = Api(stack.base_url, (await Api.login(stack.base_url, api.username)).token)
    ws = await Ws.connect(stack.base_url, other_device.token or "")
    await api.ok("POST", "/api/v1/auth/logout", status=204)
    ended = await _until(ws, "error")
    assert ended["code"] == "session_ended"
    assert await _closed(ws) == 4401
    for token_holder in (api, other_device):
        refused = await token_holder.get("/api/v1/users/me")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"
    assert (await Api.login(stack.base_url, api.username)).token  # signing in again works


async def test_deactivation_password_and_role_changes_end_sign_ins_at_once(stack, admin, make_world):
    world = await make_world(caregivers_km=())
    api, made = await _account(admin, stack)
    ws = await Ws.connect(stack.base_url, api.token or "")
    await admin.ok("PATCH", f"/api/v1/users/{made['id']}", {"is_active": False})
    assert (await _until(ws, "error"))["code"] == "session_ended"
    assert await _closed(ws) == 4401
    assert (await api.get("/api/v1/users/me")).status_code == 401
    gone = await api.http.post("/api/v1/auth/token", data={"username": api.username, "password": PASSWORD})
    assert gone.status_code == 401
    await admin.ok("PATCH", f"/api/v1/users/{made['id']}", {"is_active": True})

    # A password change (by the person): the other devices' tokens end; the new password works.
    phone = await Api.login(stack.base_url, api.username)
    desk = await Api.login(stack.base_url, api.username)
    wrong = await phone.post(
        "/api/v1/users/me/password", {"current_password": "nope", "new_password": "another-pass-9"}
    )
    assert wrong.status_code == 401
    await phone.ok(
        "POST", "/api/v1/users/me/password", {"current_password": PASSWORD, "new_password": "another-pass-9"}, 204
    )
    assert (await desk.get("/api/v1/users/me")).status_code == 401
    renewed = await Api.login(stack.base_url, api.username, "another-pass-9")

    # A role or scope change by an admin: what the old token allowed is over.
    ws = await Ws.connect(stack.base_url, renewed.token or "")
    await ws.subscribe(f"community:{world.community['id']}")
    changed = await admin.ok(
        "PATCH", f"/api/v1/users/{made['id']}", {"role": "community_staff", "district_id": world.district["id"]}
    )
    assert (changed["role"], changed["district_id"]) == ("community_staff", world.district["id"])
    assert (await _until(ws, "error"))["code"] == "session_ended"
    assert (await renewed.get("/api/v1/users/me")).json()["error"]["code"] == "token_revoked"
    trail = await admin.ok("GET", f"/api/v1/audit-log?subject=user:{made['id']}&action=user.update")
    assert {tuple(sorted(t["fields"])) for t in trail} >= {("is_active",), ("district_id", "role")}


async def test_short_tokens_are_renewed_while_in_use_and_sockets_follow(stack, admin):
    api, made = await _account(admin, stack)
    fresh = await api.ok("POST", "/api/v1/auth/refresh")
    assert (await Api(stack.base_url, fresh["access_token"]).ok("GET", "/api/v1/users/me"))["id"] == made["id"]
    # A sign-in older than ELDERCARE_SESSION_MAX_HOURS (12) is not renewed: sign in with the password again.
    stale = Api(stack.base_url, _token(made["id"], signed_in_ago=13 * 3600))
    assert (await stale.get("/api/v1/users/me")).status_code == 200
    refused = await stale.post("/api/v1/auth/refresh")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "session_expired"

    # A socket whose token runs out is told and closed; renewed on the socket in time, it carries on.
    expiring = await Ws.connect(stack.base_url, _token(made["id"], expires_in=2))
    assert (await _until(expiring, "error", timeout=4))["code"] == "token_expired"
    assert await _closed(expiring) == 4401
    kept = await Ws.connect(stack.base_url, _token(made["id"], expires_in=2))
    await kept.send({"type": "auth", "token": _token(made["id"], expires_in=600)})
    assert (await _until(kept, "auth_ok"))["renewed"] is True
    await asyncio.sleep(2.5)
    await kept.send({"type": "ping"})
    assert (await _until(kept, "pong"))["type"] == "pong"
    _other, someone = await _account(admin, stack)
    await kept.send({"type": "auth", "token": _token(someone["id"])})
    assert (await _until(kept, "error"))["code"] == "auth_mismatch"
    await kept.close()
