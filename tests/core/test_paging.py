"""Every list pages the same way (contract v1): ``limit`` and ``offset``, its total in ``X-Total-Count``.

The lists are found in the application's own route table (every GET answering a JSON array), so a new list that
does not page fails here; a few real lists are then walked two at a time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, get_origin

import pytest

from backend.app import create_app
from backend.core.config import Settings
from backend.core.paging import MAX_OFFSET, TOTAL_COUNT, Page
from tests.client import Api, World, id_number, unique_phone
from tests.e2e.test_scoring import serve
from tests.security.access_spec import SPEC
from tests.security.realms import Realm, build_realm
from tests.security.test_matrix import _operator, fill

# Who calls a list: the first of these its access rule lets in (admins see the most).
CALLERS = ("admin", "operator", "community_staff", "provider_admin", "caregiver", "elder", "family")


def list_routes() -> list[str]:
    """``GET /path`` of every route of the app whose answer is a JSON array."""
    app = create_app(Settings(environment="test"))
    found = set()
    for route in app.router.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for context in contexts() if callable(contexts) else [route]:
            model = getattr(context, "response_model", None)
            if "GET" in getattr(context, "methods", ()) and get_origin(model) is list:
                found.add(f"GET {context.path}")
    return sorted(found)


LISTS = list_routes()


def test_the_route_table_has_the_lists() -> None:
    assert len(LISTS) > 40 and "GET /api/v1/requests" in LISTS and "GET /mobile/v1/offers" in LISTS


def test_every_list_is_described_as_paged() -> None:
    spec = create_app(Settings(environment="test")).openapi()
    for key in LISTS:
        operation = spec["paths"][key.split(" ", 1)[1]]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"limit", "offset"} <= names, key
        assert operation["responses"]["200"]["headers"][TOTAL_COUNT]["schema"]["type"] == "integer", key


def test_a_page_of_a_list_computed_whole() -> None:
    page = Page(limit=2, offset=4)
    assert page.of(list(range(5))) == [4] and page.total == 5
    assert Page(limit=2, offset=6).of(list(range(5))) == []


@pytest.fixture(scope="module")
async def realm(stack, admin) -> AsyncIterator[Realm]:
    operator = await Api.login(stack.base_url, *(await _operator(admin)))
    built = await build_realm(stack.base_url, admin, operator)
    yield built
    await built.world.close()
    await operator.close()


@pytest.mark.parametrize("key", LISTS)
async def test_every_list_takes_limit_and_offset_and_says_its_total(key: str, realm: Realm) -> None:
    assert key in SPEC, f"{key}: give the list an access rule (tests/security/access_spec.py)"
    rule = SPEC[key]
    api = realm.apis[next(role for role in CALLERS if role in rule.roles)]
    path = fill(key.split(" ", 1)[1], realm.ids) + "?" + (fill(rule.query, realm.ids) + "&" if rule.query else "")

    first = await api.get(f"{path}limit=1&offset=0")
    assert first.status_code == 200, f"{key}: {first.status_code} {first.text}"
    total = first.headers.get(TOTAL_COUNT, "")
    assert total.isdigit(), f"{key} says no total: {dict(first.headers)}"
    assert isinstance(first.json(), list) and len(first.json()) == min(1, int(total)), key

    past = await api.get(f"{path}limit=1&offset={MAX_OFFSET}")
    assert past.status_code == 200 and past.json() == [] and past.headers[TOTAL_COUNT].isdigit(), key
    for wrong in ("limit=0", "offset=-1", f"offset={MAX_OFFSET + 1}"):
        assert (await api.get(f"{path}{wrong}")).status_code == 422, f"{key} took {wrong}"


async def walk(api: Api, path: str, count: int) -> None:
    """Two at a time, the list is the one answered whole: no row skipped or repeated, its total on every page."""
    joiner = "&" if "?" in path else "?"
    whole = await api.get(path)
    assert whole.status_code == 200 and int(whole.headers[TOTAL_COUNT]) == count == len(whole.json()), whole.text
    walked: list[Any] = []
    for offset in range(0, count, 2):
        page = await api.get(f"{path}{joiner}limit=2&offset={offset}")
        assert page.status_code == 200 and int(page.headers[TOTAL_COUNT]) == count, page.text
        assert len(page.json()) == min(2, count - offset)
        walked += [item["id"] for item in page.json()]
    assert walked == [item["id"] for item in whole.json()] and len(set(walked)) == count
    beyond = await api.get(f"{path}{joiner}limit=2&offset={count}")
    assert beyond.json() == [] and int(beyond.headers[TOTAL_COUNT]) == count
    for wrong in ("limit=0", "offset=-1", "limit=501"):
        refused = await api.get(f"{path}{joiner}{wrong}")
        assert refused.status_code == 422, f"{path} took {wrong}: {refused.status_code}"


async def test_a_communitys_orders_page_newest_first(make_world) -> None:
    world: World = await make_world()
    operator = await world.user("operator")
    order = {"elder_id": world.elders[0]["id"], "service_type": "meal"}
    made = [await operator.ok("POST", "/api/v1/requests", order, 201) for _ in range(5)]
    path = f"/api/v1/requests?community_id={world.community['id']}"
    await walk(operator, path, 5)
    assert [o["id"] for o in await operator.ok("GET", path)] == sorted((o["id"] for o in made), reverse=True)
    await operator.close()


async def test_the_elders_on_one_phone_page(admin, make_world) -> None:
    world: World = await make_world()
    phone = unique_phone()  # a household's landline: five elders registered with it
    for n in range(5):
        body = {
            "name": f"同住老人{n}",
            "id_number": id_number(),
            "phone": phone,
            "community_id": world.community["id"],
            "address": "平江路 1 号",
            "location": world.home,
        }
        await admin.ok("POST", "/api/v1/elders", body, 201)
    operator = await world.user("operator")
    await walk(operator, f"/api/v1/elders?phone={phone}", 5)
    await operator.close()


async def test_a_providers_complaints_page(make_world) -> None:
    world: World = await make_world()
    operator = await world.user("operator")
    served = await serve(world, operator, world.caregivers[0], world.elders[0], paid_by="self")
    for n in range(5):
        await operator.ok("POST", f"/api/v1/requests/{served}/complaints", {"text": f"第{n}次投诉"}, 201)
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    await walk(boss, "/api/v1/complaints", 5)
    await walk(operator, f"/api/v1/complaints?provider_id={world.provider['id']}", 5)
    await operator.close()
    await boss.close()


async def test_a_providers_statements_page(admin, make_world) -> None:
    world: World = await make_world()
    for month in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05"):
        await admin.ok("POST", "/api/v1/settlements/run", {"provider_id": world.provider["id"], "month": month})
    await walk(admin, f"/api/v1/settlements?provider_id={world.provider['id']}", 5)


async def test_a_list_answered_whole_before_paging_still_is(admin, make_world) -> None:
    world: World = await make_world()
    for n in range(120):  # past the usual first page of 100: a street's communities all come, as they always did
        tag = uuid.uuid4().hex[:8]
        body = {"street_id": world.street["id"], "code": f"C{tag}", "name": f"社区{n}", "location": world.home}
        await admin.ok("POST", "/api/v1/communities", body, 201)
    answer = await admin.get(f"/api/v1/communities?street_id={world.street['id']}")
    assert len(answer.json()) == 121 and answer.headers[TOTAL_COUNT] == "121"
