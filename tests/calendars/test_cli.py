"""`eldercare holidays import`: a year's arrangement as the bureau types it up, every bad row named, nothing
half-entered; `eldercare holidays show` lists the year with where each day came from."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.infra import ROOT, platform_env, sqlite_database
from tests.infra import run_cli as _cli

HEADER = "日期,类型,名称,英文名称,按周几上班,备注"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )


def _entries(db: Path) -> list[tuple[str, str, str | None, int | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT day, kind, name_zh, works_as FROM calendar_day ORDER BY day").fetchall()


def test_an_arrangement_is_imported_whole_or_not_at_all(tmp_path) -> None:
    db = tmp_path / "holidays.db"
    env = platform_env(ELDERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{db}", COLUMNS="200")
    sqlite_database(db)
    rows = [
        HEADER,
        "2027-02-06..2027-02-14,放假,春节,Spring Festival,,",
        "2027-02-20,上班,春节,Spring Festival,5,补 2 月 12 日",
        "2027-02-30,放假,春节,,,",
        "2027-02-22,调休上班,春节,,,",
        "2027-02-21,上班,春节,,9,",
        "2027-02-07,放假,春节,,,",
        "2027-03-01,节日,,,,",
    ]
    sheet = tmp_path / "2027.csv"
    sheet.write_text("\n".join(rows) + "\n", encoding="gb18030")  # as an office's spreadsheet saves it

    refused = _run(env, "holidays", "import", str(sheet))
    assert refused.returncode == 1 and "未录入任何日期" in refused.stdout
    for line, reason in (
        (4, "日期 '2027-02-30' 无效"),
        (5, "不能记为 adjusted_workday"),
        (6, "按周几上班 '9' 无效"),
        (7, "2027-02-07 已在第 2 行"),
        (8, "类型 '节日' 无效"),
    ):
        assert any(re.match(rf"│\s+{line} │", out) and reason in out for out in refused.stdout.splitlines()), (
            line,
            reason,
        )
    assert _entries(db) == []

    sheet.write_text("\n".join(rows[:3]) + "\n", encoding="gb18030")
    assert "已录入 10 天（2027 年）" in _cli(env, "holidays", "import", str(sheet))
    entries = _entries(db)
    assert entries[0] == ("2027-02-06", "holiday", "春节", None) and len(entries) == 10
    assert entries[-1] == ("2027-02-20", "adjusted_workday", "春节", 5)
    shown = _cli(env, "holidays", "show", "--year", "2027")
    assert "2027-02-20" in shown and "override" in shown and "尚未录入" not in shown
    assert "尚未录入 2028 年的放假安排" in _cli(env, "holidays", "show", "--year", "2028")
    assert "chinese_calendar" in _cli(env, "holidays", "show", "--year", "2026")

    # A corrected file replaces the year's entries with --replace; without it, entries are added or changed.
    fixed = tmp_path / "2027-fixed.csv"
    fixed.write_text(
        "date,kind,name_zh,name_en,works_as,note\n2027-02-11..2027-02-17,holiday,春节,Spring Festival,,\n",
        encoding="utf-8",
    )
    done = _cli(env, "holidays", "import", str(fixed), "--replace")
    assert "已录入 7 天" in done and "已删除此前录入的 10 天" in done
    assert [e[0] for e in _entries(db)] == [f"2027-02-{d}" for d in range(11, 18)]
