"""The route × role × in/out-of-scope matrix, generated from the application's own route table.

Every operation the API serves must have a rule in ``access_spec.SPEC`` (a new route without one fails here).
For each rule, every role calls it on its own realm's things and on the other realm's: a role the rule does not
name is refused (403/404) both times; a role it names gets past the access checks at home (no 401/403) and, unless
it works city-wide, is refused in the other realm. Without a token, everything but the public routes is 401.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.client import PASSWORD, Api, id_number, unique_phone
from tests.security.access_spec import CITYWIDE, SPEC, Rule
from tests.security.realms import ROLES, Realm, build_realm

DENIED = {403, 404}
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _value(name: str, ids: dict[str, Any]) -> Any:
    """A realm's value, or a fresh one for what must differ on every call."""
    if name == "unique":
        return uuid.uuid4().hex[:8]
    if name == "new_id_number":
        return id_number()
    if name == "new_phone":
        return unique_phone()
    return ids[name]


def fill(template: str, ids: dict[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: str(_value(m.group(1), ids)), template)


def fill_body(value: Any, ids: dict[str, Any]) -> Any:
    """A body template with ``"{param}"`` placeholders taken from a realm."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        return _value(whole.group(1), ids) if whole else fill(value, ids)
    if isinstance(value, dict):
        return {k: fill_body(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_body(v, ids) for v in value]
    return value


async def call(http: httpx.AsyncClient, token: str | None, key: str, rule: Rule, ids: dict[str, Any]) -> int:
    method, path = key.split(" ", 1)
    url = fill(path, ids) + ("?" + fill(rule.query, ids) if rule.query else "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = fill_body(rule.body, ids) if rule.body is not None else ({} if method in ("POST", "PUT", "PATCH") else None)
    response = await http.request(method, url, headers=headers, json=body)
    return response.status_code


@pytest.fixture(scope="module")
async def realms(stack, admin) -> AsyncIterator[tuple[Realm, Realm]]:
    operator = await Api.login(stack.base_url, *(await _operator(admin)))
    home, away = await build_realm(stack.base_url, admin, operator), await build_realm(stack.base_url, admin, operator)
    yield home, away
    for realm in (home, away):
        await realm.world.close()


async def _operator(admin: Api) -> tuple[str, str]:
    username = f"m_operator_{uuid.uuid4().hex[:8]}"
    await admin.ok("POST", "/api/v1/users", {"username": username, "password": PASSWORD, "role": "operator"}, 201)
    return username, PASSWORD


async def test_every_route_has_an_access_rule(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:  # the schema is built on first ask
        spec = (await http.get("/openapi.json")).json()
    served = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    assert not served - set(SPEC), f"routes without an access rule: {sorted(served - set(SPEC))}"
    assert not set(SPEC) - served, f"rules for routes that do not exist: {sorted(set(SPEC) - served)}"


async def test_each_role_reaches_only_what_its_rule_allows(stack, realms) -> None:
    home, away = realms
    wrong: list[str] = []
    observed: dict[str, dict[str, Any]] = {}
    calls = 0
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
        for key, rule in SPEC.items():
            if rule.skip:
                continue
            if rule.auth != "public":
                status = await call(http, None, key, rule, home.ids)
                calls += 1
                if status != 401:
                    wrong.append(f"{key} without a token: {status}, expected 401")
            if rule.auth != "bearer":
                continue
            seen = observed.setdefault(key, {"in": [], "out": []})
            for role in ROLES:
                token = home.apis[role].token
                inside = await call(http, token, key, rule, home.ids)
                calls += 1
                if inside not in (401, 403):
                    seen["in"].append(role)
                if role not in rule.roles:
                    if inside not in DENIED:
                        wrong.append(f"{key} as {role} (not allowed): {inside}, expected 403/404")
                    continue
                if inside in (401, 403):
                    wrong.append(f"{key} as {role} on its own realm: {inside}, expected to be let through")
                if rule.scoped and role not in CITYWIDE:
                    outside = await call(http, token, key, rule, away.ids)
                    calls += 1
                    if outside not in DENIED:
                        seen["out"].append(role)
                        wrong.append(f"{key} as {role} on the other realm: {outside}, expected 403/404")
    if os.environ.get("ELDERCARE_MATRIX_OBSERVE"):
        print(json.dumps(observed, indent=1, ensure_ascii=False))
    print(f"access matrix: {len(SPEC)} routes × {len(ROLES)} roles, {calls} requests")
    assert not wrong, "\n".join(wrong)
