"""Import institutions and their beds from the bureau's spreadsheets (CSV or XLSX).

One row per institution. Columns (header names, any order; Chinese headers in brackets also work):
``licence_no`` (许可证号), ``name`` (机构名称), ``operator_kind`` (运营性质: public|public_private|social,
or 公办|公建民营|社会办), ``community_code`` (社区代码), ``lat``, ``lon`` (纬度, 经度), optional
``monthly_fee_yuan`` (月收费, yuan with at most two decimals: never rounded, a third decimal is a bad row), and one
``beds_<kind>`` column per bed kind (e.g. ``beds_nursing``, ``beds_ordinary``, ``beds_dementia``; 护理型床位, 普通床位,
认知症床位).

Every row is checked before anything is written; a file with a bad row imports nothing unless the
caller asks for the good rows. Each bad row is reported with its line number (the header is line 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast, get_args

import anyio
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community
from backend.capacity.models import Bed, BedKind, Institution, OperatorKind
from backend.capacity.schemas import MAX_MONTHLY_FEE_YUAN
from backend.core.db import utcnow
from backend.core.geo import Crs, to_wgs84
from backend.core.money import FEN_PER_YUAN, Fen, NotAnAmount, TooPrecise, yuan_to_fen
from backend.core.spreadsheets import CsvEncoding, UploadLimits, read_rows, text

HEADERS_ZH = {
    "许可证号": "licence_no",
    "备案号": "filing_no",
    "机构名称": "name",
    "运营性质": "operator_kind",
    "社区代码": "community_code",
    "纬度": "lat",
    "经度": "lon",
    "坐标系": "crs",
    "月收费": "monthly_fee_yuan",
    "护理型床位": "beds_nursing",
    "普通床位": "beds_ordinary",
    "认知症床位": "beds_dementia",
}
OPERATORS_ZH = {"公办": "public", "公建民营": "public_private", "社会办": "social"}
REQUIRED = ("licence_no", "name", "operator_kind", "community_code", "lat", "lon")
CRS_NAMES = get_args(Crs)  # 坐标系: the datum of 纬度/经度 (default wgs84)
MAX_BEDS = 5000


@dataclass
class Row:
    line: int
    institution: Institution
    beds: dict[str, int]


@dataclass
class Report:
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    good: list[Row] = field(default_factory=list)
    imported: int = 0
    beds: int = 0


async def check_file(
    session: AsyncSession,
    data: bytes,
    filename: str,
    *,
    limits: UploadLimits,
    progress: Callable[[], None] | None = None,
    encoding: CsvEncoding | None = None,
) -> Report:
    """Read and check every row (parsing in a worker thread); nothing is written. A CSV is read in ``encoding``,
    or the one it reads as (UTF-8, else GB18030/GBK)."""
    kinds = set((await session.execute(select(BedKind.code))).scalars())
    communities: dict[str, int] = {
        code: cid for code, cid in (await session.execute(select(Community.code, Community.id))).all() if cid
    }
    # Numbers already used: licence numbers, and filing numbers as "备案:…".
    taken = set((await session.execute(select(Institution.licence_no))).scalars())
    filed = await session.execute(select(Institution.filing_no).where(col(Institution.filing_no).is_not(None)))
    taken |= {f"备案:{number}" for number in filed.scalars()}
    return await anyio.to_thread.run_sync(
        lambda: _check_all(data, filename, limits, kinds, communities, taken, progress, encoding)
    )


def _check_all(
    data: bytes,
    filename: str,
    limits: UploadLimits,
    kinds: set[str],
    communities: dict[str, int],
    taken: set[str],
    progress: Callable[[], None] | None,
    encoding: CsvEncoding | None,
) -> Report:
    report = Report()
    for line, raw in read_rows(data, filename, HEADERS_ZH, limits, encoding):
        report.rows += 1
        if progress is not None:
            progress()
        problems, row = _check(raw, kinds, communities, taken)
        if problems:
            report.errors.append((line, "；".join(problems)))
            continue
        assert row is not None
        taken.add(row[0].licence_no)
        if row[0].filing_no:
            taken.add(f"备案:{row[0].filing_no}")
        report.good.append(Row(line, *row))
    return report


def _check(
    raw: dict[str, Any], kinds: set[str], communities: dict[str, int], taken: set[str]
) -> tuple[list[str], tuple[Institution, dict[str, int]] | None]:
    problems = [f"缺少 {name}" for name in REQUIRED if not text(raw.get(name))]
    licence, operator = text(raw.get("licence_no")), text(raw.get("operator_kind"))
    operator = OPERATORS_ZH.get(operator, operator)
    if licence and licence in taken:
        problems.append(f"许可证号 {licence} 已存在")
    filing = text(raw.get("filing_no"))[:64]
    if filing and f"备案:{filing}" in taken:
        problems.append(f"备案号 {filing} 已存在")
    if operator and operator not in {k.value for k in OperatorKind}:
        problems.append(f"运营性质 {operator} 无效（public、public_private、social）")
    code = text(raw.get("community_code"))
    if code and code not in communities:
        problems.append(f"社区代码 {code} 不存在")
    numbers: dict[str, float] = {}
    for name, low, high in (("lat", -90, 90), ("lon", -180, 180)):
        try:
            numbers[name] = float(text(raw.get(name)))
            if not low <= numbers[name] <= high:
                problems.append(f"{name} 超出范围")
        except ValueError:
            if text(raw.get(name)):
                problems.append(f"{name} 不是数字")
    crs = text(raw.get("crs")).lower() or "wgs84"
    if crs not in CRS_NAMES:
        problems.append(f"坐标系 {crs} 无效（wgs84、gcj02、bd09）")
    beds, bed_problems = _beds(raw, kinds)
    problems += bed_problems
    fee, fee_problem = _fee(text(raw.get("monthly_fee_yuan")))
    if fee_problem:
        problems.append(fee_problem)
    if problems:
        return problems, None
    lat, lon = to_wgs84(numbers["lat"], numbers["lon"], cast(Crs, crs))
    institution = Institution(
        name=text(raw.get("name"))[:128],
        operator_kind=operator,
        community_id=communities[code],
        licence_no=licence[:64],
        filing_no=filing or None,
        lat=lat,
        lon=lon,
        monthly_fee_fen=fee,
    )
    return [], (institution, beds)


def _beds(raw: dict[str, Any], kinds: set[str]) -> tuple[dict[str, int], list[str]]:
    """The row's beds by kind (its ``beds_<kind>`` columns), and what is wrong with them."""
    beds: dict[str, int] = {}
    problems: list[str] = []
    for header, value in raw.items():
        if not header.startswith("beds_") or not text(value):
            continue
        kind = header.removeprefix("beds_")
        if kind not in kinds:
            problems.append(f"床位类型 {kind} 未配置")
            continue
        try:
            count = int(float(text(value)))
        except (ValueError, OverflowError):
            problems.append(f"{header} 不是整数")
            continue
        if not 0 <= count <= MAX_BEDS:
            problems.append(f"{header} 应在 0 到 {MAX_BEDS} 之间")
        beds[kind] = count
    return beds, problems


def _fee(value: str) -> tuple[Fen | None, str | None]:
    """月收费 in yuan (at most two decimals, never rounded) as fen, or what is wrong with it."""
    if not value:
        return None, None
    out_of_range = f"月收费不是 0 到 {MAX_MONTHLY_FEE_YUAN:,} 元之间的数字"
    try:
        fen = yuan_to_fen(value.replace(",", ""))
    except TooPrecise:
        return None, "月收费最多两位小数（精确到分）"
    except NotAnAmount:
        return None, out_of_range
    return (fen, None) if 0 <= fen <= MAX_MONTHLY_FEE_YUAN * FEN_PER_YUAN else (None, out_of_range)


async def write_rows(session: AsyncSession, report: Report, *, progress: Callable[[], None] | None = None) -> None:
    """Insert the checked rows' institutions and their free beds (labelled by kind: N-1, N-2, … per kind)."""
    now = utcnow()
    for row in report.good:
        session.add(row.institution)
        await session.flush()
        beds = [
            {
                "institution_id": row.institution.id,
                "room": kind,
                "label": f"{kind}-{n}",
                "kind": kind,
                "status": "free",
                "updated_at": now,
            }
            for kind, count in sorted(row.beds.items())
            for n in range(1, count + 1)
        ]
        if beds:
            await session.execute(insert(Bed), beds)
        report.imported += 1
        report.beds += len(beds)
        if progress is not None:
            progress()
