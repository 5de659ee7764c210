"""Guessing is slow and recorded: sign-ins and device secrets are throttled (findings 10 and 11), and one
elder's presses open one emergency, however many arrive at once."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx

from tests.client import PASSWORD, Ws


def _address() -> str:
    """A client address of its own (the API trusts X-Forwarded-For from its local proxy, as uvicorn does)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


async def _sign_in(http: httpx.AsyncClient, username: str, password: str, address: str) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/token", data={"username": username, "password": password}, headers={"X-Forwarded-For": address}
    )


async def test_repeated_wrong_passwords_lock_the_account_then_even_the_right_one_waits(stack, admin, make_world):
    world = await make_world(caregivers_km=())
    username = f"victim_{uuid.uuid4().hex[:8]}"
    await admin.ok("POST", "/api/v1/users", {"username": username, "password": PASSWORD, "role": "operator"}, 201)
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        for attempt in range(5):  # ELDERCARE_LOGIN_LIMIT_PER_ACCOUNT: 5 per 15 minutes, from changing addresses
            wrong = await _sign_in(http, username, f"guess-{attempt}", _address())
            assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_credentials"
        locked = await _sign_in(http, username, PASSWORD, _address())
        assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_attempts"
        assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
        assert "分钟" in locked.json()["error"]["message"]
        other = await _sign_in(http, world.caregivers[0]["username"] if world.caregivers else "admin", "x", _address())
        assert other.status_code == 401  # another account is not affected

    failures = await admin.ok("GET", "/api/v1/audit-log?action=auth.sign_in_failed&limit=500")
    mine = [f for f in failures if f"username={username}" in (f["detail"] or "")]
    assert len(mine) == 5 and {f["outcome"] for f in mine} == {"failed"} and all(f["client"] for f in mine)
    assert all(f["subject"] and f["subject"].startswith("user:") for f in mine)
    throttled = await admin.ok("GET", "/api/v1/audit-log?action=auth.sign_in_throttled&limit=500")
    assert any(f"username={username}" in (f["detail"] or "") for f in throttled)


async def test_one_address_trying_many_accounts_is_stopped(stack, admin):
    address = _address()
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        tries = [_sign_in(http, f"nobody_{uuid.uuid4().hex[:6]}_{n}", "x", address) for n in range(50)]
        # ELDERCARE_LOGIN_LIMIT_PER_ADDRESS: 50 per 15 minutes (tried ten at a time)
        for start in range(0, 50, 10):
            assert {r.status_code for r in await asyncio.gather(*tries[start : start + 10])} == {401}
        stopped = await _sign_in(http, "admin", "admin-test-pass", address)
        assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) > 0
        elsewhere = await _sign_in(http, "admin", "admin-test-pass", _address())
        assert elsewhere.status_code == 200


async def test_unknown_users_take_as_long_to_refuse_as_wrong_passwords(stack, admin):
    username = f"timed_{uuid.uuid4().hex[:8]}"
    await admin.ok("POST", "/api/v1/users", {"username": username, "password": PASSWORD, "role": "operator"}, 201)

    async def timed(name: str) -> float:
        start = time.perf_counter()
        response = await _sign_in(http, name, "wrong-password", _address())
        assert response.status_code == 401
        return time.perf_counter() - start

    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        known = [await timed(username) for _ in range(4)]  # under the account's limit of 5
        unknown = [await timed(f"ghost_{uuid.uuid4().hex[:8]}") for _ in range(4)]
        assert (await _sign_in(http, username, PASSWORD, _address())).status_code == 200
    # Before: 232 ms against 5 ms. Now both verify an argon2 hash.
    assert statistics.median(unknown) > 0.5 * statistics.median(known), (known, unknown)


async def test_presses_together_open_one_emergency_and_secrets_cannot_be_guessed(stack, admin, make_world):
    world = await make_world()
    elder = world.elders[0]
    operator = await world.user("operator")
    serial = f"YJT-{uuid.uuid4().hex[:8]}"
    device = await admin.ok("POST", "/api/v1/devices", {"elder_id": elder["id"], "serial": serial, "model": "YJT"}, 201)
    auth = {"Authorization": f"Device {serial}:{device['secret']}"}

    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:

        async def press(n: int) -> httpx.Response:
            body = {"alarm_id": f"red-{n}", "button": "red", "at": datetime.now(UTC).isoformat()}
            return await http.post("/api/v1/devices/alarms", json=body, headers=auth)

        answers = await asyncio.gather(*(press(n) for n in range(8)))
        assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
        bodies = [a.json() for a in answers]
        opened = [b for b in bodies if not b["absorbed"]]
        assert len(opened) == 1 and len({b["request_id"] for b in bodies}) == 1
        emergency = opened[0]["request_id"]
        orders = await operator.ok("GET", f"/api/v1/requests?elder_id={elder['id']}")
        assert [o["id"] for o in orders if o["priority"] == "emergency"] == [emergency]

        # Whoever follows the emergency hears her press again.
        watcher = await Ws.connect(stack.base_url, operator.token)
        await watcher.subscribe(f"request:{emergency}")
        again = (await press(99)).json()
        assert again["absorbed"] and again["request_id"] == emergency
        told = await watcher.wait_event("device.alarm", alarm_id="red-99")
        assert told["data"]["absorbed"] is True
        await watcher.close()

        # Guessing the secret: ten wrong ones, then even the right one waits.
        address = _address()
        for n in range(10):  # ELDERCARE_DEVICE_AUTH_LIMIT: 10 per 15 minutes
            guess = await http.post(
                "/api/v1/devices/alarms",
                json={"alarm_id": f"g{n}", "button": "test", "at": datetime.now(UTC).isoformat()},
                headers={"Authorization": f"Device {serial}:guess{n}", "X-Forwarded-For": address},
            )
            assert guess.status_code == 401
        blocked = await http.post(
            "/api/v1/devices/alarms",
            json={"alarm_id": "t-ok", "button": "test", "at": datetime.now(UTC).isoformat()},
            headers={**auth, "X-Forwarded-For": _address()},
        )
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers
