"""`eldercare import-institutions`: the bureau's spreadsheets, every bad row named, nothing half-imported."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook

from backend.core.geo import distance_m, wgs84_to_gcj02
from tests.infra import ROOT, platform_env, sqlite_database
from tests.infra import run_cli as _cli

HEADER = "licence_no,name,operator_kind,community_code,lat,lon,monthly_fee_yuan,beds_nursing,beds_ordinary"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )


def _seeded(env: dict[str, str], db: Path) -> str:
    """Migrate and seed the database; the code of a community the rows can name."""
    sqlite_database(db, "seed")  # the database ``env`` names
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT code FROM community ORDER BY id LIMIT 1").fetchone()[0])


def test_a_csv_with_bad_rows_imports_nothing_unless_the_good_rows_are_asked_for(tmp_path) -> None:
    db = tmp_path / "import.db"
    env = platform_env(ELDERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{db}", COLUMNS="200")
    code = _seeded(env, db)
    rows = [
        HEADER,
        f"苏民养001,平江颐养院,social,{code},31.31,120.62,4200.50,30,10",
        f"苏民养002,沧浪护理院,公建民营,{code},31.29,120.60,,20,0",
        "苏民养003,错误机构,charity,NOPE,91,120.6,abc,x,5",
        f"苏民养001,重复许可证,public,{code},31.3,120.6,,5,5",
        f"苏民养006,分以下的收费,public,{code},31.3,120.6,4200.505,5,5",
    ]
    sheet = tmp_path / "registry.csv"
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")

    refused = _run(env, "import-institutions", str(sheet))
    assert refused.returncode == 1
    assert "未导入任何数据" in refused.stdout
    for line, reason in (
        (4, "运营性质 charity 无效"),
        (4, "社区代码 NOPE 不存在"),
        (4, "lat 超出范围"),
        (4, "月收费不是 0 到 1,000,000 元之间的数字"),
        (5, "许可证号 苏民养001 已存在"),
        (6, "月收费最多两位小数"),  # never rounded to the fen
    ):
        assert any(str(line) in out and reason in out for out in refused.stdout.splitlines()), (line, reason)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM institution").fetchone()[0] == 0

    done = _cli(env, "import-institutions", str(sheet), "--good-rows")
    assert "已导入" in done and "2 家机构、60 张床位" in done
    with sqlite3.connect(db) as conn:
        beds = dict(conn.execute("SELECT kind, count(*) FROM bed GROUP BY kind").fetchall())
        kinds = dict(conn.execute("SELECT licence_no, operator_kind FROM institution").fetchall())
        fees = dict(conn.execute("SELECT licence_no, monthly_fee_fen FROM institution").fetchall())
    assert beds == {"nursing": 50, "ordinary": 10}
    assert kinds == {"苏民养001": "social", "苏民养002": "public_private"}
    assert fees == {"苏民养001": 420050, "苏民养002": None}  # 4,200.50 yuan, in fen


def test_an_xlsx_with_chinese_headers_imports(tmp_path) -> None:
    db = tmp_path / "xlsx.db"
    env = platform_env(ELDERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{db}")
    code = _seeded(env, db)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        [
            "许可证号",
            "备案号",
            "机构名称",
            "运营性质",
            "社区代码",
            "纬度",
            "经度",
            "坐标系",
            "护理型床位",
            "认知症床位",
            "月收费",
        ]
    )
    sheet.append(["苏民养101", "苏吴民养备001", "吴中康养中心", "公办", code, 31.27, 120.63, "", 12, 4, 3800.5])
    # Picked off an Amap page: GCJ-02, stored as WGS-84 (where the institution really stands).
    amap = wgs84_to_gcj02(31.28, 120.64)
    sheet.append(["苏民养102", None, "高德选点护理院", "社会办", code, *amap, "gcj02", 5, 0, None])
    path = tmp_path / "registry.xlsx"
    book.save(path)
    assert "2 家机构、21 张床位" in _cli(env, "import-institutions", str(path))
    with sqlite3.connect(db) as conn:
        assert dict(conn.execute("SELECT kind, count(*) FROM bed GROUP BY kind").fetchall()) == {
            "nursing": 17,
            "dementia": 4,
        }
        placed = conn.execute("SELECT lat, lon FROM institution WHERE licence_no = '苏民养102'").fetchone()
        filings = dict(conn.execute("SELECT licence_no, filing_no FROM institution").fetchall())
        fees = dict(conn.execute("SELECT licence_no, monthly_fee_fen FROM institution").fetchall())
    assert distance_m(*placed, 31.28, 120.64) < 0.01
    assert filings == {"苏民养101": "苏吴民养备001", "苏民养102": None}
    assert fees == {"苏民养101": 380050, "苏民养102": None}  # a number cell of yuan (3,800.5), in fen


def test_a_gbk_csv_is_read_as_it_was_saved_and_a_wrong_encoding_is_named(tmp_path) -> None:
    db = tmp_path / "gbk.db"
    env = platform_env(ELDERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{db}", COLUMNS="200")
    code = _seeded(env, db)
    header = "许可证号,机构名称,运营性质,社区代码,纬度,经度,护理型床位"
    rows = [header, f"苏民养201,相城颐养院,公办,{code},31.4,120.6,8"]
    sheet = tmp_path / "机构.csv"
    sheet.write_bytes(("\n".join(rows) + "\n").encode("gbk"))
    said_utf8 = _run(env, "import-institutions", str(sheet), "--encoding", "utf-8")
    assert said_utf8.returncode != 0 and "UTF-8" in said_utf8.stdout + said_utf8.stderr
    assert "1 家机构、8 张床位" in _cli(env, "import-institutions", str(sheet))  # detected: GB18030/GBK
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM institution").fetchone()[0] == "相城颐养院"
