"""How the tests talk to the platform: HTTP as each user, WebSockets as each app, and a small world factory."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import websockets
from stdnum.cn import ric

from backend.areas.suzhou import SUZHOU_BOUNDS
from backend.core.geo import distance_m
from backend.core.i18n import LOCAL_TZ

ADMIN_PASSWORD = "admin-test-pass"
PASSWORD = "test-pass-123"
_serial = itertools.count(1)


# A time in an answer: the platform writes every one as UTC with a "Z" (ISO 8601), never "+08:00" nor "+00:00".
TIME_IN_JSON = re.compile(r'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?([^"]*))"')


def one_time_format(text: str) -> None:
    """Fail when an answer or event writes a time any other way than ``2026-12-07T08:00:00Z``."""
    odd = [whole for whole, zone in TIME_IN_JSON.findall(text) if zone != "Z"]
    assert not odd, f"times not in UTC 'Z' form: {odd[:5]}"


async def _one_time_format(response: httpx.Response) -> None:
    described = response.request.url.path.endswith("/openapi.json")  # its examples show what inputs may be
    if not described and response.headers.get("content-type", "").startswith(
        ("application/json", "application/fhir+json")
    ):
        one_time_format((await response.aread()).decode())


class Api:
    """An HTTP client signed in as one user; every JSON answer it gets is checked for the one time format."""

    def __init__(self, base_url: str, token: str | None = None, username: str = "") -> None:
        self.base_url = base_url
        self.token = token
        self.username = username
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=30, event_hooks={"response": [_one_time_format]}
        )

    @classmethod
    async def login(cls, base_url: str, username: str, password: str = PASSWORD) -> Api:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            r = await http.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return cls(base_url, r.json()["access_token"], username)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.post(path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.put(path, json=json, **kw)

    async def ok(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        r = await self.http.request(method, path, json=json)
        assert r.status_code == status, f"{method} {path} -> {r.status_code}: {r.text}"
        return None if r.status_code == 204 else r.json()

    async def close(self) -> None:
        await self.http.aclose()


async def offer_for(caregiver: Api, request_id: int, timeout: float = 20) -> dict[str, Any]:
    """The caregiver's open offer of this order, once the dispatcher has made it (polling the mobile API)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        offers = [o for o in await caregiver.ok("GET", "/mobile/v1/offers") if o["request_id"] == request_id]
        if offers:
            return dict(offers[0])
        await asyncio.sleep(0.25)
    raise AssertionError(f"no offer of order {request_id} within {timeout} s")


class Ws:
    """A WebSocket client of the contract's protocol."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, base_url: str, token: str, path: str = "/api/v1/ws") -> Ws:
        conn = await websockets.connect(base_url.replace("http", "ws", 1) + path)
        ws = cls(conn)
        await ws.send({"type": "auth", "token": token})
        frame = await ws.recv()
        assert frame["type"] == "auth_ok", frame
        return ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(message))

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        text = await asyncio.wait_for(self.conn.recv(), timeout)
        one_time_format(text)
        frame: dict[str, Any] = json.loads(text)
        self.frames.append(frame)
        if frame.get("type") == "event":
            self.events.append(frame)
        return frame

    async def subscribe(self, channel: str, since: int | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "subscribe", "channel": channel}
        if since is not None:
            message["since"] = since
        await self.send(message)
        while True:
            frame = await self.recv()
            if frame.get("type") in ("subscribed", "error") and frame.get("channel") == channel:
                return frame

    async def wait_event(self, event: str, timeout: float = 15, **match: Any) -> dict[str, Any]:
        """The next event of this name whose data contains ``match`` (earlier received ones count)."""
        for frame in self.events:
            matches = frame["event"] == event and all(frame["data"].get(k) == v for k, v in match.items())
            if matches and not frame.get("_taken"):
                frame["_taken"] = True
                return frame
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {event} {match} within {timeout}s; got {self.events}")
            frame = await self.recv(timeout=left)
            if (
                frame.get("type") == "event"
                and frame["event"] == event
                and all(frame["data"].get(k) == v for k, v in match.items())
            ):
                frame["_taken"] = True
                return frame

    async def wait_status(self, request_id: int, status: str, timeout: float = 15) -> dict[str, Any]:
        return await self.wait_event("request.status", timeout, request_id=request_id, status=status)

    async def close(self) -> None:
        await self.conn.close()


def id_number(born: str = "19450302", region: str = "320502") -> str:
    """A valid resident ID number (default: old 沧浪区 code, born 1945, before 姑苏区 existed)."""
    body = f"{region}{born}{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def unique_phone() -> str:
    return f"137{uuid.uuid4().int % 10**8:08d}"


def offset(lat: float, lon: float, east_km: float = 0.0, north_km: float = 0.0) -> dict[str, float]:
    return {"lat": lat + north_km / 111.32, "lon": lon + east_km / 95.3}


# Each world has a place of its own in Suzhou: the next cell of a grid laid over SUZHOU_BOUNDS, 0.1° of latitude
# (11 km) by 0.12° of longitude (11.4 km) apart, with room for a world's people east (8 km), west and north (3 km)
# of its home. A world's caregivers are then never in another world's nearby lists (5 km around the elder by default;
# the tests' people stand within 3 km of their home), and the dispatcher's widening rings and an emergency's nearest
# helpers reach another world's only far out. Cells within 11 km of the fixed points other tests use are left out:
# factories.HERE (31.3/120.6, the services' tests) and 31.31/120.62 (in 姑苏区, where a test that needs that district
# puts its world). Each process hands the 154 cells out in turn (a worker of the suite builds fewer worlds than
# that); a process that builds more starts again from the first.
WORLD_STEP = (0.1, 0.12)
_FIXED_POINTS = ((31.3, 120.6), (31.31, 120.62))


def _world_cells() -> list[dict[str, float]]:
    south, west, north, east = SUZHOU_BOUNDS
    rows = int((north - south - 0.1) / WORLD_STEP[0] + 1e-9) + 1
    columns = int((east - west - 0.15) / WORLD_STEP[1] + 1e-9) + 1
    cells = [
        {"lat": round(south + 0.05 + r * WORLD_STEP[0], 4), "lon": round(west + 0.05 + c * WORLD_STEP[1], 4)}
        for r in range(rows)
        for c in range(columns)
    ]
    return [cell for cell in cells if all(distance_m(cell["lat"], cell["lon"], *p) > 11_000 for p in _FIXED_POINTS)]


WORLD_CELLS = _world_cells()
_next_cell = itertools.count()


def world_home() -> dict[str, float]:
    """The next world's home: a cell of the grid no other world of this process has had (until they run out)."""
    return dict(WORLD_CELLS[next(_next_cell) % len(WORLD_CELLS)])


@dataclass
class World:
    """A fresh district → street → community with a provider, its caregivers and elders."""

    base_url: str
    admin: Api
    district: dict[str, Any] = field(default_factory=dict)
    street: dict[str, Any] = field(default_factory=dict)
    community: dict[str, Any] = field(default_factory=dict)
    provider: dict[str, Any] = field(default_factory=dict)
    caregivers: list[dict[str, Any]] = field(default_factory=list)
    elders: list[dict[str, Any]] = field(default_factory=list)
    home: dict[str, float] = field(default_factory=world_home)

    @classmethod
    async def build(
        cls,
        base_url: str,
        admin: Api,
        *,
        caregivers_km: tuple[float, ...] = (0.5,),
        skills: tuple[str, ...] = ("meal", "bathing", "emergency"),
        home: dict[str, float] | None = None,
    ) -> World:
        """``home``: a place of the test's choosing (a district's, say) instead of the next cell of the grid."""
        world = cls(base_url, admin, home=home) if home is not None else cls(base_url, admin)
        tag = uuid.uuid4().hex[:8]
        world.district = await admin.ok(
            "POST", "/api/v1/districts", {"code": f"D{tag}", "name": f"测试区{tag}", "location": world.home}, 201
        )
        world.street = await admin.ok(
            "POST",
            "/api/v1/streets",
            {"district_id": world.district["id"], "code": f"S{tag}", "name": f"测试街道{tag}", "location": world.home},
            201,
        )
        world.community = await admin.ok(
            "POST",
            "/api/v1/communities",
            {"street_id": world.street["id"], "code": f"C{tag}", "name": f"测试社区{tag}", "location": world.home},
            201,
        )
        world.provider = await admin.ok(
            "POST",
            "/api/v1/providers",
            {
                "name": f"测试居家养老服务中心{tag}",
                "kind": "home_care",
                "community_ids": [world.community["id"]],
                "service_types": ["meal", "bathing", "bed_bathing", "cleaning", "emergency"],
                "location": world.home,
            },
            201,
        )
        await world.insure(world.provider["id"])
        for km in caregivers_km:
            await world.add_caregiver(km, skills=skills)
        await world.add_elder()
        return world

    async def insure(self, provider_id: int, *, days: tuple[int, int] = (-30, 335)) -> dict[str, Any]:
        """Home-care liability cover for a provider, from and to so many days from today (Suzhou)."""
        today = datetime.now(LOCAL_TZ).date()
        body = {
            "scheme": "home_care_liability",
            "insured_type": "provider",
            "insured_id": provider_id,
            "insurer": "中国人民财产保险苏州分公司",
            "number": f"T{uuid.uuid4().hex[:16]}",
            "starts_on": (today + timedelta(days=days[0])).isoformat(),
            "ends_on": (today + timedelta(days=days[1])).isoformat(),
            "limit_per_event_yuan": 300_000,
            "limit_per_year_yuan": 3_000_000,
            "payer": "government",
        }
        return await self.admin.ok("POST", "/api/v1/insurance/policies", body, 201)

    async def add_caregiver(
        self,
        east_km: float,
        *,
        skills: tuple[str, ...] = ("meal", "bathing", "emergency"),
        provider_id: int | None = None,
        gender: str | None = None,
        languages: tuple[str, ...] = ("mandarin",),
    ) -> dict[str, Any]:
        username = f"cg_{uuid.uuid4().hex[:10]}"
        caregiver = await self.admin.ok(
            "POST",
            "/api/v1/caregivers",
            {
                "provider_id": provider_id or self.provider["id"],
                "name": f"护理员{len(self.caregivers) + 1}",
                "phone": unique_phone(),
                "username": username,
                "password": PASSWORD,
                "skills": list(skills),
                "location": offset(self.home["lat"], self.home["lon"], east_km=east_km),
                "gender": gender,
                "languages": list(languages),
            },
            201,
        )
        caregiver["username"] = username
        caregiver["api"] = await Api.login(self.base_url, username)
        self.caregivers.append(caregiver)
        return caregiver

    async def add_elder(
        self, *, born: str = "19450302", same_gender_care: bool = False, east_km: float = 0.0
    ) -> dict[str, Any]:
        phone = unique_phone()
        elder = await self.admin.ok(
            "POST",
            "/api/v1/elders",
            {
                "name": "张阿婆",
                "id_number": id_number(born=born),
                "phone": phone,
                "community_id": self.community["id"],
                "address": "平江路 1 号",
                "location": offset(self.home["lat"], self.home["lon"], east_km=east_km),
                "same_gender_care": same_gender_care,
            },
            201,
        )
        elder["raw_phone"] = phone
        self.elders.append(elder)
        return elder

    async def user(self, role: str, **scope: Any) -> Api:
        username = f"{role}_{uuid.uuid4().hex[:10]}"
        await self.admin.ok(
            "POST", "/api/v1/users", {"username": username, "password": PASSWORD, "role": role, **scope}, 201
        )
        return await Api.login(self.base_url, username)

    async def close(self) -> None:
        for caregiver in self.caregivers:
            await caregiver["api"].close()


async def order_life(world: World) -> tuple[dict[str, Any], float]:
    """One order's whole life through the API, from the hotline's order to the first caregiver's check-out (offer,
    accept, en route, check-in at the door): the finished order and the seconds it took."""
    operator = await world.user("operator")
    caregiver, elder = world.caregivers[0], world.elders[0]
    started = asyncio.get_running_loop().time()
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
    offer = await offer_for(caregiver["api"], order["id"])
    await caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    await caregiver["api"].ok("POST", f"/mobile/v1/requests/{order['id']}/en-route")
    at_door = offset(world.home["lat"], world.home["lon"], east_km=0.05)
    await caregiver["api"].ok("POST", f"/mobile/v1/requests/{order['id']}/check-in", at_door)
    done = await caregiver["api"].ok("POST", f"/mobile/v1/requests/{order['id']}/check-out", {"notes": "已送达"})
    took = asyncio.get_running_loop().time() - started
    assert done["status"] == "completed" and done["visit"]["checkout_at"]
    finished = await operator.ok("GET", f"/api/v1/requests/{order['id']}")
    assert [h["status"] for h in finished["history"]][-4:] == ["accepted", "en_route", "in_service", "completed"]
    await operator.close()
    return finished, took
