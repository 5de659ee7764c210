"""A year's holiday arrangement (放假安排) read from a spreadsheet, as the bureau types up the State Council's notice.

One row a day or a span of days: ``date`` (``2027-02-06``, or ``2027-02-06..2027-02-14`` for a break), ``kind``
(``holiday`` 放假, ``adjusted_workday`` 调休上班, ``workday``, ``weekend``; ``上班`` is an adjusted working day on a
Saturday or Sunday and a workday otherwise), ``name_zh``, ``name_en``, ``works_as`` (an adjusted working day: the
weekday worked, 1–5) and ``note``. Chinese headers are read too: 日期, 类型, 名称, 英文名称, 按周几上班, 备注.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from backend.calendars.holidays import Entry, check_entry
from backend.calendars.models import DayKind
from backend.core.errors import DomainError
from backend.core.schemas import FIRST_DAY, LAST_DAY
from backend.core.spreadsheets import CsvEncoding, UploadLimits, read_rows, text

HEADERS = {
    "日期": "date",
    "类型": "kind",
    "名称": "name_zh",
    "节日": "name_zh",
    "英文名称": "name_en",
    "按周几上班": "works_as",
    "备注": "note",
}
KINDS = {
    "holiday": DayKind.holiday,
    "放假": DayKind.holiday,
    "休": DayKind.holiday,
    "adjusted_workday": DayKind.adjusted_workday,
    "调休上班": DayKind.adjusted_workday,
    "workday": DayKind.workday,
    "工作日": DayKind.workday,
    "weekend": DayKind.weekend,
    "周末": DayKind.weekend,
}
WORK = ("上班", "班")  # a working day: adjusted on a weekend, plain on a weekday
MAX_SPAN_DAYS = 31


@dataclass
class Arrangement:
    """What a file says, day by day, and every row it could not read (line, reason)."""

    rows: int = 0
    entries: list[Entry] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def years(self) -> set[int]:
        return {e.day.year for e in self.entries}


def _days(cell: str) -> list[date]:
    first, _, last = cell.partition("..")
    start = date.fromisoformat(first.strip())
    end = date.fromisoformat(last.strip()) if last else start
    if not FIRST_DAY <= start <= end <= LAST_DAY or (end - start).days >= MAX_SPAN_DAYS:
        raise ValueError(cell)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _kind(cell: str, day: date) -> DayKind:
    if cell in WORK:
        return DayKind.adjusted_workday if day.isoweekday() > 5 else DayKind.workday
    return KINDS[cell]


def read_arrangement(
    data: bytes, filename: str, *, encoding: CsvEncoding | None = None, limits: UploadLimits | None = None
) -> Arrangement:
    """Every day the file names; a row that does not read is named with its line, and gives no day."""
    found = Arrangement()
    seen: dict[date, int] = {}
    for line, row in read_rows(data, filename, HEADERS, limits, encoding):
        found.rows += 1
        cell, kind_cell = text(row.get("date")), text(row.get("kind"))
        try:
            days = _days(cell)
        except ValueError:
            found.errors.append((line, f"日期 {cell!r} 无效（YYYY-MM-DD，或 起..止，至多 {MAX_SPAN_DAYS} 天）"))
            continue
        if kind_cell not in KINDS and kind_cell not in WORK:
            found.errors.append((line, f"类型 {kind_cell!r} 无效（holiday、adjusted_workday、workday、weekend）"))
            continue
        works_cell = text(row.get("works_as"))
        if works_cell and not (works_cell.isdigit() and 1 <= int(works_cell) <= 5):
            found.errors.append((line, f"按周几上班 {works_cell!r} 无效（1–5）"))
            continue
        for day in days:
            entry = Entry(
                day,
                _kind(kind_cell, day),
                text(row.get("name_zh"))[:32] or None,
                text(row.get("name_en"))[:64] or None,
                int(works_cell) if works_cell else None,
                text(row.get("note"))[:200] or None,
            )
            try:
                check_entry(entry.day, entry.kind, entry.works_as)
            except DomainError as exc:
                found.errors.append((line, exc.message))
                break
            if day in seen:
                found.errors.append((line, f"{day} 已在第 {seen[day]} 行"))
                break
            seen[day] = line
            found.entries.append(entry)
    return found
