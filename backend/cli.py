"""The ``eldercare`` command: migrate, seed, serve, worker, scheduler."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast, get_args

import typer
from rich.console import Console
from rich.table import Table

from backend.calendars.cli import holidays_app
from backend.core.config import get_settings
from backend.core.logging import configure_logging
from backend.core.migrations import alembic_config
from backend.planning.cli import bench_app, plan_app
from backend.simulation.breaches import bench_breaches
from backend.simulation.cli import bench_dispatch, simulate
from worker.registry import REGISTRY as _TASKS  # noqa: F401  (every task registered: commands run them in-process)

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.core.spreadsheets import CsvEncoding

app = typer.Typer(help="虚拟养老服务派单平台 · virtual elder-care dispatch platform", no_args_is_help=True)
console = Console()
app.add_typer(plan_app, name="plan")
app.add_typer(bench_app, name="bench")
app.add_typer(holidays_app, name="holidays")
app.command("simulate")(simulate)
bench_app.command("dispatch")(bench_dispatch)
bench_app.command("breaches")(bench_breaches)


def _logging() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)


@app.command()
def migrate() -> None:
    """Apply the database migrations (alembic upgrade head)."""
    from alembic import command

    settings = get_settings()
    if settings.is_sqlite:
        Path(settings.database_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(), "head")  # type: ignore[arg-type]
    console.print("[green]数据库已迁移到最新版本[/green] (migrations applied)")


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Add demo providers, caregivers, elders and accounts")] = False,
    scale: Annotated[
        str, typer.Option("--scale", help="demo: a slice of Suzhou; city: all 2,188 communities")
    ] = "demo",
) -> None:
    """Seed the administrative tree (and with --demo, a believable demo)."""
    if scale not in ("demo", "city"):
        raise typer.BadParameter("scale must be demo or city")
    if demo and get_settings().production:
        console.print(
            "[red]生产环境不能加载演示数据[/red]：演示账号的密码公开在 README 中。\n"
            "Refusing `seed --demo` with ELDERCARE_ENVIRONMENT=production: the demo's accounts and device secret are "
            "public. Create real accounts with POST /api/v1/users."
        )
        raise typer.Exit(2)
    asyncio.run(_seed(demo=demo, scale=scale))


async def _seed(*, demo: bool, scale: str) -> None:
    from sqlmodel import col, select

    from backend.areas.models import Community
    from backend.capacity.seed import CITY_BEDS, seed_institutions
    from backend.core.runtime import Runtime
    from backend.seed import seed_areas, seed_demo, seed_demo_cover, tree_for
    from backend.users.service import ensure_admin

    settings = get_settings().model_copy(update={"redis_url": None})
    runtime = Runtime(settings, role="cli")
    try:
        async with runtime.unit_of_work() as session:
            generated = await ensure_admin(session=session, settings=settings)
            added = await seed_areas(session, tree_for(scale))
            accounts = await seed_demo(session) if demo else []
            communities = list((await session.execute(select(Community).order_by(col(Community.id)))).scalars())
            # The demo: a few hundred beds; the city: Suzhou's 85,839 (idempotent, by licence prefix).
            homes = 0
            if demo:
                homes += await seed_institutions(
                    session, communities[:40], beds=300, rng=random.Random(7), prefix="DEMO-", sizes=(40, 120)
                )
                await seed_demo_cover(session)
            if scale == "city":
                homes += await seed_institutions(
                    session, communities, beds=CITY_BEDS, rng=random.Random(2024), prefix="SZ-"
                )
    finally:
        await runtime.stop()
    console.print(f"[green]行政区划已就绪[/green]：新增 {added} 个社区/村 (communities added)")
    if homes:
        console.print(f"[green]养老机构已就绪[/green]：新增 {homes} 家 (institutions added with their beds)")
    if generated:
        console.print(f"[yellow]已创建 admin 账号，密码 (generated admin password)：{generated}[/yellow]")
    if accounts:
        table = Table(title="演示账号 Demo accounts")
        for column in ("username", "password", "role", "scope"):
            table.add_column(column)
        for account in accounts:
            table.add_row(account.username, account.password, account.role, account.scope)
        console.print(table)


@app.command("new-key")
def new_key() -> None:
    """Print a fresh random 256-bit key (for ELDERCARE_DATA_KEYS as id:key, ELDERCARE_BLIND_INDEX_KEY, …)."""
    from backend.core.crypto import new_key as make

    typer.echo(make())


@app.command("rotate-keys")
def rotate_keys(
    reindex: Annotated[
        bool, typer.Option("--reindex", help="Also rebuild the blind indexes (after ELDERCARE_BLIND_INDEX_KEY changed)")
    ] = False,
) -> None:
    """Re-seal every ID and phone number under the current data key (the first of ELDERCARE_DATA_KEYS), in
    batches, resumable; with --reindex, rebuild the blind indexes under the configured blind-index key."""
    _logging()
    asyncio.run(_rotate(reindex=reindex))


async def _rotate(*, reindex: bool) -> None:
    from rich.progress import Progress

    from backend import rotation
    from backend.core.crypto import keyring
    from backend.core.runtime import Runtime

    runtime = Runtime(get_settings().model_copy(update={"redis_url": None}), role="cli")
    try:
        stale = await rotation.count_stale(runtime)
        with Progress(console=console) as progress:
            tasks = {label: progress.add_task(f"重新加密 re-seal {label}", total=n) for label, n in stale.items()}
            resealed = await rotation.reseal(runtime, progress=lambda label, n: progress.advance(tasks[label], n))
            indexed = 0
            if reindex:
                task = progress.add_task("重建盲索引 re-index elders", total=None)
                indexed = await rotation.reindex(runtime, progress=lambda _label, n: progress.advance(task, n))
    finally:
        await runtime.stop()
    console.print(
        f"[green]完成[/green]：{resealed} 个值已用密钥 {keyring().current} 重新加密"
        + (f"，{indexed} 位老人的盲索引已重建" if reindex else "")
        + f" (re-sealed {resealed} values under key {keyring().current}"
        + (f", re-indexed {indexed} elders)" if reindex else ")")
    )


@app.command("fhir-export")
def fhir_export(
    month: Annotated[str, typer.Option(help="The month to export, YYYY-MM (Suzhou time)")],
    out: Annotated[Path, typer.Option(help="Folder for the NDJSON files")] = Path("fhir-export"),
) -> None:
    """Export a month as FHIR bulk data for the health system: <Type>.ndjson per resource (consenting elders)."""
    from backend.core.errors import DomainError
    from backend.core.runtime import Runtime
    from backend.fhir.export import export_month

    _logging()

    async def run() -> dict[str, int]:
        runtime = Runtime(get_settings().model_copy(update={"redis_url": None}), role="cli")
        try:
            return await export_month(runtime, month, out)
        finally:
            await runtime.stop()

    try:
        counts = asyncio.run(run())
    except DomainError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    table = Table(title=f"FHIR 导出 {month} → {out}")
    table.add_column("resource")
    table.add_column("count", justify="right")
    for kind, count in counts.items():
        table.add_row(f"{kind}.ndjson", str(count))
    console.print(table)


@app.command("import-institutions")
def import_institutions(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .xlsx registry")],
    good_rows: Annotated[bool, typer.Option("--good-rows", help="Import the good rows even when some are bad")] = False,
    encoding: Annotated[
        str | None, typer.Option(help="A CSV's encoding: utf-8, gb18030 or gbk (default: detected)")
    ] = None,
) -> None:
    """Import institutions and their beds from the bureau's spreadsheet (see backend/capacity/importer.py)."""
    from backend.core.spreadsheets import CsvEncoding

    _logging()
    if encoding not in (None, *get_args(CsvEncoding)):
        raise typer.BadParameter("encoding must be utf-8, gb18030 or gbk")
    chosen = cast("CsvEncoding | None", encoding)
    imported = asyncio.run(_import_institutions(path.read_bytes(), path.name, good_rows=good_rows, encoding=chosen))
    if not imported:
        raise typer.Exit(1)


async def _import_institutions(data: bytes, filename: str, *, good_rows: bool, encoding: CsvEncoding | None) -> bool:
    from rich.progress import Progress

    from backend.capacity.importer import check_file, write_rows
    from backend.core.runtime import Runtime
    from backend.core.spreadsheets import UploadLimits

    runtime = Runtime(get_settings().model_copy(update={"redis_url": None}), role="cli")
    try:
        async with runtime.unit_of_work() as session:
            with Progress(console=console, transient=True) as progress:
                reading = progress.add_task("检查 checking", total=None)
                report = await check_file(
                    session,
                    data,
                    filename,
                    limits=UploadLimits.of(runtime.settings),
                    progress=lambda: progress.advance(reading),
                    encoding=encoding,
                )
                if report.errors and not good_rows:
                    progress.stop()
                else:
                    writing = progress.add_task("导入 importing", total=len(report.good))
                    await write_rows(session, report, progress=lambda: progress.advance(writing))
    finally:
        await runtime.stop()
    if report.errors:
        table = Table(title=f"有误的行 Bad rows: {len(report.errors)} / {report.rows}")
        table.add_column("行 line", justify="right")
        table.add_column("原因 reason")
        for line, reason in report.errors:
            table.add_row(str(line), reason)
        console.print(table)
    if report.errors and not good_rows:
        console.print("[red]未导入任何数据[/red] (nothing imported): fix the rows, or pass --good-rows")
        return False
    console.print(f"[green]已导入[/green] {report.imported} 家机构、{report.beds} 张床位 (institutions, beds imported)")
    return True


def _require_schema(settings: Settings) -> None:
    """Refuse to serve, in one clear line, a database that cannot be reached or is not migrated to the code's schema.

    The same for the embedded SQLite file and PostgreSQL: without it every job would fail on a missing table.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()  # type: ignore[arg-type]
    engine = create_engine(settings.sync_database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        cause = type(getattr(exc, "orig", None) or exc).__name__
        console.print(
            f"[red]无法连接数据库[/red]：{cause}。请检查 ELDERCARE_DATABASE_URL。\n"
            "Cannot reach the database: check ELDERCARE_DATABASE_URL."
        )
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if current != head:
        console.print(
            f"[red]数据库结构不是最新版本[/red]（当前 {current or '空库'}，应为 {head}）："
            "请先运行 eldercare migrate。\n"
            f"The database schema is at {current or 'nothing'}, the code needs {head}: run `eldercare migrate` first."
        )
        raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Serve the backend (/api/v1), the mobile API (/mobile/v1) and their WebSockets."""
    import uvicorn

    from backend.app import create_app

    _logging()
    settings = get_settings()
    _require_schema(settings)
    mode = "嵌入式 embedded (SQLite/in-process)" if settings.embedded else "Redis + Celery workers"
    console.print(f"[bold]虚拟养老派单平台[/bold] · {mode}")
    console.print(f"  API      http://{host}:{port}/api/v1   docs http://{host}:{port}/docs")
    console.print(f"  Mobile   http://{host}:{port}/mobile/v1   WebSocket ws://{host}:{port}/api/v1/ws")
    console.print("  按 Ctrl-C 停止 (Ctrl-C to stop)")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        ws="websockets-sansio",
        ws_per_message_deflate=settings.websocket_compression,
        ws_ping_interval=settings.websocket_ping_seconds,
        ws_ping_timeout=settings.websocket_ping_seconds,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Worker processes")] = 2,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork or solo")] = "prefork",
    queues: Annotated[
        str, typer.Option(help="Queues to take tasks from: celery (the platform's), simulation (a city's day)")
    ] = "celery",
) -> None:
    """Run a Celery worker (needs ELDERCARE_REDIS_URL)."""
    settings = get_settings()
    if settings.embedded:
        raise typer.BadParameter("set ELDERCARE_REDIS_URL: the embedded mode runs its worker inside `eldercare serve`")
    if settings.worker_metrics_port and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Metrics of every child: prometheus-client must know where they write before it is first imported.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="eldercare-worker-metrics-")
        os.execv(sys.executable, [sys.executable, "-m", "backend.cli", *sys.argv[1:]])
    from backend.core.metrics import serve_multiprocess
    from worker.celery_app import build_worker_app

    _logging()
    if settings.worker_metrics_port:
        serve_multiprocess(settings.worker_metrics_port, settings.metrics_host)
    build_worker_app(settings).worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--queues={queues}",
            f"--loglevel={settings.log_level}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@app.command()
def flower(
    port: Annotated[int, typer.Option(help="Port of Flower's pages and API")] = 5555,
    address: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
) -> None:
    """Run Flower, Celery's monitor, on this deployment's broker and prefix (needs ELDERCARE_REDIS_URL).

    Set FLOWER_BASIC_AUTH=user:password (production refuses to start without it): Flower shows every task."""
    settings = get_settings()
    if settings.embedded:
        raise typer.BadParameter("set ELDERCARE_REDIS_URL: the embedded mode has no Celery broker to watch")
    if settings.environment == "production" and not os.environ.get("FLOWER_BASIC_AUTH"):
        raise typer.BadParameter("set FLOWER_BASIC_AUTH=user:password: Flower shows every task of the platform")
    from backend.core.celery_app import make_celery

    _logging()
    assert settings.redis_url is not None
    make_celery(settings.redis_url, settings.redis_prefix).start(
        ["flower", f"--port={port}", f"--address={address}", "--purge_offline_workers=300"]
    )


@app.command()
def scheduler() -> None:
    """Run the one scheduler process of a deployment (needs ELDERCARE_REDIS_URL)."""
    from worker.scheduler import run_scheduler

    _logging()
    settings = get_settings()
    if settings.embedded:
        raise typer.BadParameter("set ELDERCARE_REDIS_URL: the embedded mode schedules inside `eldercare serve`")
    console.print("scheduler started: it only enqueues (deadline and outbox sweeps)")
    run_scheduler(settings)


if __name__ == "__main__":
    app()
