"""The hotline console shows an order likely to miss its time before it does: listed under 预计超时 with
「预计 HH:MM 超时」, and the operator told once, live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import pytest
from playwright.async_api import expect

from backend.core.i18n import LOCAL_TZ
from tests.client import ADMIN_PASSWORD, Api, World, offer_for
from tests.conftest import Stack, running_stack
from tests.dispatch.test_breach import BREACH_SETTINGS, SLA_NORMAL_MINUTES
from tests.infra import migrated_database, private_redis


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """A stack of its own, sweeping for breaches every second (the pages' fixtures open tabs on it)."""
    with (
        migrated_database() as database_url,
        private_redis() as redis_url,
        running_stack(database_url, redis_url, name="breach-web-", **BREACH_SETTINGS) as running,
    ):
        yield running


@pytest.fixture
async def world(stack: Stack) -> AsyncIterator[World]:
    admin = await Api.login(stack.base_url, "admin", ADMIN_PASSWORD)
    built = await World.build(stack.base_url, admin, caregivers_km=(0.5,))
    yield built
    await built.close()
    await admin.close()


async def test_the_console_lists_an_order_likely_to_breach_with_its_time(world: World, sign_in) -> None:
    operator = await world.user("operator")
    tab = await sign_in(operator.username, lands_on="/web/console")
    page = tab.page
    # The only caregiver near holds an offer of another order: the next one waits for her, longer than it may.
    first = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    await offer_for(world.caregivers[0]["api"], first["id"])
    second = await world.add_elder()
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": second["id"], "service_type": "meal"}, 201)
    due = datetime.fromisoformat(order["created_at"]) + timedelta(minutes=SLA_NORMAL_MINUTES)

    listed = page.locator(f"#risk-{order['id']}")
    await expect(listed).to_be_visible(timeout=30_000)
    assert datetime.now(LOCAL_TZ) < due  # before its time
    await expect(listed.locator(".breach")).to_have_text(f"预计 {due.astimezone(LOCAL_TZ):%H:%M} 超时")
    await expect(listed.locator(".breach")).to_have_class("breach breach-high")
    await expect(page.locator("#risk-count")).to_have_text("1")
    await expect(page.locator("#toast")).to_contain_text(f"工单 {order['id']} 预计")
    await tab.screenshot("console-breach")
    await asyncio.sleep(0.5)
    tab.assert_clean()
    await operator.close()
