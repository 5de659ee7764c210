"""Organisations as the state identifies them: a provider's unified social credit code, an institution's filing."""

from __future__ import annotations

import random
import uuid

from stdnum.cn import uscc

from backend.seed import demo_uscc


def provider(world, **extra):  # type: ignore[no-untyped-def]
    return {
        "name": f"信用代码测试{uuid.uuid4().hex[:6]}",
        "kind": "home_care",
        "location": world.home,
        "community_ids": [world.community["id"]],
        "service_types": ["meal"],
        **extra,
    }


async def test_a_provider_carries_a_valid_unified_social_credit_code_once(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    code = demo_uscc(random.Random(uuid.uuid4().int))
    assert uscc.is_valid(code)
    spaced = " ".join(code[i : i + 6] for i in range(0, 18, 6))  # as printed on a licence, in groups
    made = await admin.ok("POST", "/api/v1/providers", provider(world, uscc=spaced), 201)
    assert made["uscc"] == code  # stored compact
    assert (await admin.ok("GET", f"/api/v1/providers/{made['id']}"))["uscc"] == code
    # One character wrong: the check character no longer matches; nothing is registered.
    typo = code[:-2] + ("1" if code[-2] != "1" else "2") + code[-1]
    bad = await admin.post("/api/v1/providers", provider(world, uscc=typo))
    assert bad.status_code == 422 and "统一社会信用代码无效" in bad.json()["error"]["message"]
    again = await admin.post("/api/v1/providers", provider(world, uscc=code))
    assert again.status_code == 409 and again.json()["error"]["code"] == "uscc_taken"
    assert (await admin.ok("POST", "/api/v1/providers", provider(world), 201))["uscc"] is None  # not yet known


async def test_an_institution_is_filed_beside_its_licence(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    filing = f"苏姑民养备{uuid.uuid4().hex[:8]}"

    def institution(**extra):  # type: ignore[no-untyped-def]
        return {
            "name": "平江颐养院",
            "operator_kind": "public_private",
            "community_id": world.community["id"],
            "location": world.home,
            "licence_no": f"苏民养{uuid.uuid4().hex[:10]}",
            **extra,
        }

    made = await admin.ok("POST", "/api/v1/institutions", institution(filing_no=filing), 201)
    assert made["filing_no"] == filing
    assert (await admin.ok("GET", f"/api/v1/institutions/{made['id']}"))["filing_no"] == filing
    twice = await admin.post("/api/v1/institutions", institution(filing_no=filing))
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "filing_taken"
    assert (await admin.ok("POST", "/api/v1/institutions", institution(), 201))["filing_no"] is None
