"""Typer commands: `holidays import FILE` (a year's arrangement, as published) and `holidays show --year`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast, get_args

import typer
from rich.console import Console
from rich.table import Table

from backend.core.config import get_settings

if TYPE_CHECKING:
    from backend.calendars.arrangement import Arrangement
    from backend.calendars.holidays import Year
    from backend.core.spreadsheets import CsvEncoding

holidays_app = typer.Typer(help="Public holidays and adjusted working days (法定节假日与调休).", no_args_is_help=True)
console = Console()


@holidays_app.command("import")
def import_arrangement(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .xlsx of the arrangement")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop the earlier entries of the file's years first")
    ] = False,
    encoding: Annotated[
        str | None, typer.Option(help="A CSV's encoding: utf-8, gb18030 or gbk (default: detected)")
    ] = None,
) -> None:
    """Enter a year's arrangement (see backend/calendars/arrangement.py): every row checked, nothing half-entered."""
    from backend.calendars.arrangement import read_arrangement
    from backend.core.errors import DomainError
    from backend.core.spreadsheets import CsvEncoding

    if encoding not in (None, *get_args(CsvEncoding)):
        raise typer.BadParameter("encoding must be utf-8, gb18030 or gbk")
    try:
        found = read_arrangement(path.read_bytes(), path.name, encoding=cast("CsvEncoding | None", encoding))
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    if found.errors:
        table = Table(title=f"有误的行 Bad rows: {len(found.errors)} / {found.rows}")
        table.add_column("行 line", justify="right")
        table.add_column("原因 reason")
        for line, reason in found.errors:
            table.add_row(str(line), reason)
        console.print(table)
        console.print("[red]未录入任何日期[/red] (nothing entered): fix the rows and import again")
        raise typer.Exit(1)
    dropped = asyncio.run(_enter(found, replace=replace))
    years = "、".join(str(y) for y in sorted(found.years))
    console.print(f"[green]已录入[/green] {len(found.entries)} 天（{years} 年）(days entered)")
    if dropped:
        console.print(f"已删除此前录入的 {dropped} 天 (earlier entries dropped)")


async def _enter(found: Arrangement, *, replace: bool) -> int:
    from backend.calendars.holidays import clear_years, set_entries
    from backend.core.runtime import Runtime

    runtime = Runtime(get_settings().model_copy(update={"redis_url": None}), role="cli")
    try:
        async with runtime.unit_of_work() as session:
            dropped = await clear_years(session=session, years=found.years) if replace else 0
            await set_entries(session=session, entries=found.entries, user_id=None)
    finally:
        await runtime.stop()
    return dropped


@holidays_app.command("show")
def show(year: Annotated[int, typer.Option(min=2000, max=2099, help="The year, e.g. 2027")]) -> None:
    """The year's public holidays and adjusted working days, each with where it came from."""
    known = asyncio.run(_year(year))
    table = Table(title=f"{year} 年放假安排 holidays and adjusted working days")
    for column in ("日期 day", "类型 kind", "名称 name", "按周几上班 works as", "来源 source"):
        table.add_column(column)
    for day in known.days:
        name = " ".join(n for n in (day.name_zh, day.name_en) if n)
        table.add_row(f"{day.day} ({day.weekday})", day.kind.value, name, str(day.works_as or ""), day.source.value)
    console.print(table)
    if not known.published:
        console.print(f"[yellow]尚未录入 {year} 年的放假安排[/yellow]: weekends only until it is entered")


async def _year(year: int) -> Year:
    from backend.calendars.holidays import year_of
    from backend.core.runtime import Runtime

    runtime = Runtime(get_settings().model_copy(update={"redis_url": None}), role="cli")
    try:
        async with runtime.sessions() as session:
            return await year_of(session, year)
    finally:
        await runtime.stop()
