"""What a request may send: bodies over the limit are refused before they are read (finding 3), spreadsheet bombs
within a second while everything else keeps answering (finding 2), and imports tell no one more than they may
read (finding 6)."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from openpyxl import Workbook

from tests.client import id_number
from tests.e2e.test_insurance import CSV_HEADER


async def _while_polling_health(base_url: str, work: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    """Run ``work`` while /healthz is asked every 50 ms from a thread of its own (so that the test's own event
    loop, busy sending the upload, does not count); ``work``'s result and the slowest /healthz answer (s)."""
    done, started = threading.Event(), threading.Event()
    times: list[float] = []

    def poll() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            while not done.is_set():
                start = time.perf_counter()
                assert http.get("/healthz").status_code == 200
                times.append(time.perf_counter() - start)
                started.set()
                time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    await asyncio.to_thread(started.wait, 30)  # polling before the work starts
    try:
        result = await work()
    finally:
        done.set()
        await asyncio.to_thread(poller.join)
    return result, max(times)


def _bomb(inflated_mb: int = 98) -> bytes:
    """A real workbook whose sheet XML is replaced by ``inflated_mb`` MB of one repeated row: ~0.3 MB zipped."""
    book = Workbook()
    assert book.active is not None
    book.active.append(["险种", "被保险人"])
    plain = io.BytesIO()
    book.save(plain)
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>'
        + row * (inflated_mb * 1_048_576 // len(row))
        + b"</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for item in source.infolist():
            data = sheet if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            bomb.writestr(item.filename, data)
    return out.getvalue()


async def test_a_spreadsheet_bomb_is_refused_within_a_second_and_nothing_waits_for_it(stack, admin) -> None:
    bomb = _bomb()
    assert len(bomb) < 400_000  # the attacker's 0.29 MB
    files = {"file": ("保单.xlsx", bomb, "application/octet-stream")}

    async def upload() -> tuple[httpx.Response, float]:
        start = time.perf_counter()
        response = await admin.post("/api/v1/insurance/policies/import", files=files)
        return response, time.perf_counter() - start

    (response, took), worst = await _while_polling_health(stack.base_url, upload)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "upload_inflates_too_much"
    print(f"bomb refused in {took * 1000:.0f} ms; /healthz worst meanwhile {worst * 1000:.0f} ms")
    assert took < 1.0, took  # was 67 s
    # Beside a second test worker on two cores: the 300 ms goal is measured alone by benchmarks.event_loop.
    assert worst < 1.0, worst


async def test_rows_are_capped_and_a_large_import_never_stalls_the_api(stack, admin) -> None:
    tag = uuid.uuid4().hex[:8]
    rows = [f"居家责任险,没有这家机构{tag},人保苏州,{tag}-{n},2026-01-01,2026-12-31,1,1,政府" for n in range(20_000)]
    files = {"file": ("保单.csv", (CSV_HEADER + "\n".join(rows) + "\n").encode(), "text/csv")}

    async def upload() -> tuple[httpx.Response, float]:
        start = time.perf_counter()
        response = await admin.post("/api/v1/insurance/policies/import", files=files)
        return response, time.perf_counter() - start

    (response, took), worst = await _while_polling_health(stack.base_url, upload)
    report = response.json()
    assert (report["rows"], report["imported"], len(report["errors"])) == (20_000, 0, 20_000)
    print(f"20,000-row import in {took:.2f} s: /healthz worst meanwhile {worst * 1000:.0f} ms")
    # With parsing on the event loop /healthz waited for most of the import (2.5 s alone). A ratio, not a time:
    # beside a second test worker on two cores every time stretches. The 300 ms goal: benchmarks.event_loop.
    assert worst < 0.4 * took, (worst, took)

    many = CSV_HEADER + "\n".join(rows * 3) + "\n"  # 60,000 rows: over ELDERCARE_MAX_IMPORT_ROWS (50,000)
    refused = await admin.post(
        "/api/v1/insurance/policies/import", files={"file": ("保单.csv", many.encode(), "text/csv")}
    )
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "too_many_rows"


async def _raw_post(base_url: str, path: str, token: str, *, length: int | None, chunks: int) -> tuple[int, bytes]:
    """POST over a plain socket: the headers (``length`` as Content-Length, else chunked), then ``chunks`` × 64 KiB
    of body, then read the answer. The status and body of the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n".encode()
    )
    piece = b"x" * 65_536
    for _ in range(chunks):
        writer.write(piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece))
    await writer.drain()
    head, body = await asyncio.wait_for(_read_answer(reader), 10)
    writer.close()
    return int(head.split()[1]), body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """An HTTP/1.1 answer's head and its Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    return head, await reader.readexactly(length)


async def test_bodies_over_the_limit_are_refused_before_they_are_read(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    operator = await world.user("operator")
    assert operator.token
    start = time.perf_counter()
    # 20 MB announced: the answer comes without a byte of the body sent.
    status, body = await _raw_post(stack.base_url, "/api/v1/requests", operator.token, length=20_000_000, chunks=0)
    assert status == 413 and b"payload_too_large" in body
    assert time.perf_counter() - start < 2.0
    # No Content-Length: counted as it arrives, refused once past 1 MB (17 × 64 KiB sent).
    status, body = await _raw_post(stack.base_url, "/api/v1/requests", operator.token, length=None, chunks=17)
    assert status == 413 and b"payload_too_large" in body  # no Content-Length: counted as it arrives
    assert await operator.ok("GET", f"/api/v1/requests?elder_id={world.elders[0]['id']}") == []  # nothing stored
    small = await operator.post("/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"})
    assert small.status_code == 201 and small.headers.get("x-request-id")


async def test_the_policy_import_tells_an_operator_nothing_about_masked_id_numbers(stack, admin, make_world) -> None:
    """Finding 6: 765 candidate numbers, one real: no row may behave differently from the others."""
    world = await make_world(caregivers_km=())
    elder = await world.add_elder(born="19400101")
    operator = await world.user("operator")
    shown = await operator.ok("GET", f"/api/v1/elders/{elder['id']}")
    assert "*" in shown["id_number"]
    real = (await admin.ok("GET", f"/api/v1/elders/{elder['id']}"))["id_number"]
    tag = uuid.uuid4().hex[:8]
    candidates = [id_number("19400101") for _ in range(40)] + [real]
    rows = [
        f"意外险,{number},人保苏州,{tag}-{n},2026-01-01,2026-12-31,50000,50000,个人"
        for n, number in enumerate(candidates)
    ]
    files = {"file": ("保单.csv", (CSV_HEADER + "\n".join(rows) + "\n").encode(), "text/csv")}
    for good_rows in ("false", "true"):
        report = (
            await operator.post("/api/v1/insurance/policies/import", files=files, data={"good_rows": good_rows})
        ).json()
        assert report["imported"] == 0 and len(report["errors"]) == len(candidates)
        assert len({e["reason"] for e in report["errors"]}) == 1  # the same words for the real number and the rest
        assert real not in str(report)
    assert await admin.ok("GET", f"/api/v1/insurance/policies?insured_type=elder&insured_id={elder['id']}") == []
    # By the elder's platform id, which the operator sees, the import works.
    by_id = "险种,被保险人编号,保险公司,保单号,起保日期,终止日期,每次限额,年累计限额,付费方\n"
    by_id += f"意外险,{elder['id']},人保苏州,{tag}-ok,2026-01-01,2026-12-31,50000,50000,个人\n"
    done = (
        await operator.post("/api/v1/insurance/policies/import", files={"file": ("p.csv", by_id.encode(), "text/csv")})
    ).json()
    assert (done["imported"], done["errors"]) == (1, [])
