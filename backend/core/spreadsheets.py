"""Reading the bureau's spreadsheets: CSV (UTF-8, with or without BOM) or XLSX, one record a row."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from backend.core.config import Settings
from backend.core.errors import Invalid, TooLarge
from backend.core.masking import mask_text


@dataclass(frozen=True)
class UploadLimits:
    """How much a spreadsheet may hold: what an XLSX may inflate to and in how many members, and rows."""

    inflated_bytes: int = 50 * 1_048_576
    members: int = 200
    rows: int = 50_000

    @classmethod
    def of(cls, settings: Settings) -> UploadLimits:
        return cls(settings.max_upload_inflated_bytes, settings.max_upload_members, settings.max_import_rows)


def _check_archive(data: bytes, limits: UploadLimits) -> None:
    """Refuse an XLSX (a zip) whose members would inflate past the limit, before anything is unpacked.

    The sizes come from the zip's directory; Python's zipfile never inflates a member past its stated size
    (and fails on a lying one), so this bounds the work the parser can be made to do.
    """
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Invalid("无法读取 XLSX 文件", code="unreadable_file", message_en="Not a readable XLSX file") from exc
    inflated = sum(member.file_size for member in members)
    if len(members) > limits.members or inflated > limits.inflated_bytes:
        raise TooLarge(
            f"XLSX 文件解压后过大（{inflated / 1_048_576:.0f} MB，{len(members)} 个部件），已拒绝",
            code="upload_inflates_too_much",
            message_en=f"The XLSX would inflate to {inflated} bytes in {len(members)} parts: refused",
        )


def check_upload(data: bytes, filename: str, limits: UploadLimits) -> None:
    """The quick refusals before a file is parsed anywhere: an XLSX that would inflate past ``limits`` (only the
    zip's directory is read: milliseconds, whatever the bomb)."""
    if filename.lower().endswith(".xlsx"):
        _check_archive(data, limits)


# A CSV from a Chinese office is as often GB18030/GBK (Excel's 「CSV」 on a Chinese Windows) as UTF-8.
CsvEncoding = Literal["utf-8", "gb18030", "gbk"]


def decode_csv(data: bytes, encoding: CsvEncoding | None = None) -> str:
    """A CSV file's text: in ``encoding`` when the uploader says, else UTF-8 (with or without a BOM) when it reads
    as such, else GB18030 (which GBK and GB2312 are subsets of); 422 ``unreadable_file`` when it reads as neither."""
    tries = [encoding] if encoding else ["utf-8", "gb18030"]
    for name in tries:
        try:
            return data.decode("utf-8-sig" if name == "utf-8" else name)
        except UnicodeDecodeError:
            continue
    raise Invalid(
        f"CSV 文件无法按 {'、'.join(t.upper() for t in tries)} 编码读取",
        code="unreadable_file",
        message_en=f"The CSV file does not read as {' or '.join(t.upper() for t in tries)}",
    )


def read_rows(
    data: bytes,
    filename: str,
    headers: Mapping[str, str],
    limits: UploadLimits | None = None,
    encoding: CsvEncoding | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, {header: value}) for every non-empty data row; the header row is line 1.

    ``headers`` renames headers (e.g. Chinese ones) to field names; other headers are kept as they are. A CSV is
    read in ``encoding``, or the one it reads as (``decode_csv``).
    Synchronous and CPU-bound: call it from a worker thread, never on the event loop. Refuses (413) an XLSX
    that would inflate past ``limits`` and any file with more rows than they allow.
    """
    limits = limits or UploadLimits()
    if filename.lower().endswith(".xlsx"):
        _check_archive(data, limits)
        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
            raise Invalid("无法读取 XLSX 文件", code="unreadable_file", message_en="Not a readable XLSX file") from exc
        assert sheet is not None
        lines: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
    elif filename.lower().endswith(".csv"):
        lines = (tuple(row) for row in csv.reader(io.StringIO(decode_csv(data, encoding), newline="")))
    else:
        raise Invalid("仅支持 .csv 或 .xlsx 文件", code="unsupported_file", message_en="Only .csv or .xlsx files")
    header = [headers.get(str(h).strip(), str(h).strip()) if h is not None else "" for h in next(lines, ())]
    for n, values in enumerate(lines, start=2):
        if n > limits.rows + 1:  # counted on lines, blank ones too: a sheet of a million empty rows is refused
            raise TooLarge(
                f"文件超过 {limits.rows} 行，请分批导入",
                code="too_many_rows",
                message_en=f"More than {limits.rows} rows: split the file",
            )
        if any(v is not None and str(v).strip() for v in values):
            yield n, dict(zip(header, values, strict=False))


def text(value: Any) -> str:
    """A cell as trimmed text ('' for an empty cell)."""
    return "" if value is None else str(value).strip()


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


# A cell starting with one of these is a formula to spreadsheet programs (=HYPERLINK(…) in a district's name).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A cell as written to an export: text with phone and ID numbers masked and control characters dropped
    (no workbook may hold them), never read as a formula."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    masked = ILLEGAL_CHARACTERS_RE.sub("", mask_text(value))
    return "'" + masked if masked.startswith(FORMULA_STARTS) else masked


# How a sheet shows an amount of yuan (a ``Decimal`` cell, ``backend.core.money.yuan_cell``): two decimals.
YUAN_FORMAT = "0.00"


def write_rows(rows: list[list[object]], format: str, title: str) -> tuple[bytes, str]:
    """Rows as a CSV (UTF-8 with BOM, so spreadsheet programs read Chinese headers) or an XLSX sheet.

    Every text cell goes through ``safe_cell``: exports leave the platform, so nothing in them is a formula and
    no free text carries a whole phone or ID number. An amount (a ``Decimal`` of yuan) is a number formatted
    ``0.00`` in a sheet and written with its two decimals in a CSV."""
    rows = [[safe_cell(v) for v in row] for row in rows]
    if format == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return ("\ufeff" + out.getvalue()).encode(), CSV_TYPE
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
        for column, value in enumerate(row, start=1):
            if isinstance(value, Decimal):  # in the row just appended: not empty, so the sheet's last
                sheet.cell(row=sheet.max_row, column=column).number_format = YUAN_FORMAT
    data = io.BytesIO()
    book.save(data)
    return data.getvalue(), XLSX_TYPE
