"""Reading the bureau's spreadsheets: CSV (UTF-8, with or without BOM) or XLSX, one record a row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

from backend.core.errors import Invalid


def read_rows(data: bytes, filename: str, headers: Mapping[str, str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, {header: value}) for every non-empty data row; the header row is line 1.

    ``headers`` renames headers (e.g. Chinese ones) to field names; other headers are kept as they are.
    """
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
            raise Invalid("无法读取 XLSX 文件", code="unreadable_file", message_en="Not a readable XLSX file") from exc
        assert sheet is not None
        lines: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
    elif filename.lower().endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid("CSV 文件须为 UTF-8 编码", code="unreadable_file", message_en="CSV must be UTF-8") from exc
        lines = (tuple(row) for row in csv.reader(io.StringIO(text, newline="")))
    else:
        raise Invalid("仅支持 .csv 或 .xlsx 文件", code="unsupported_file", message_en="Only .csv or .xlsx files")
    header = [headers.get(str(h).strip(), str(h).strip()) if h is not None else "" for h in next(lines, ())]
    for n, values in enumerate(lines, start=2):
        if any(v is not None and str(v).strip() for v in values):
            yield n, dict(zip(header, values, strict=False))


def text(value: Any) -> str:
    """A cell as trimmed text ('' for an empty cell)."""
    return "" if value is None else str(value).strip()


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def write_rows(rows: list[list[object]], format: str, title: str) -> tuple[bytes, str]:
    """Rows as a CSV (UTF-8 with BOM, so spreadsheet programs read Chinese headers) or an XLSX sheet."""
    if format == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(["" if v is None else v for v in row] for row in rows)
        return ("\ufeff" + out.getvalue()).encode(), CSV_TYPE
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue(), XLSX_TYPE
