"""`eldercare seed`: the Suzhou tree at demo and city scale, idempotent."""

from __future__ import annotations

import sqlite3

from backend.seed import GIVEN
from tests.infra import platform_env, sqlite_database
from tests.infra import run_cli as _cli


def test_city_scale_seed_builds_the_whole_administrative_tree_once(tmp_path) -> None:
    db = tmp_path / "city.db"
    env = platform_env(ELDERCARE_DATABASE_URL=sqlite_database(db))
    assert "新增 2188 个社区/村" in _cli(env, "seed", "--scale", "city")
    assert "新增 0 个社区/村" in _cli(env, "seed", "--scale", "city")  # a second run adds nothing
    with sqlite3.connect(db) as conn:
        beds = dict(conn.execute("SELECT kind, count(*) FROM bed GROUP BY kind").fetchall())
        social = conn.execute(
            "SELECT count(*) FROM bed JOIN institution i ON i.id = bed.institution_id WHERE i.operator_kind = 'social'"
        ).fetchone()[0]
        streets = dict(conn.execute("SELECT kind, count(*) FROM street GROUP BY kind").fetchall())
        communities = dict(conn.execute("SELECT kind, count(*) FROM community GROUP BY kind").fetchall())
        districts = conn.execute("SELECT count(*) FROM district").fetchone()[0]
        admins = conn.execute("SELECT role FROM user_account").fetchall()
    assert districts == 10
    assert streets == {"street": 37, "town": 53}
    assert communities == {"community": 1162, "village": 1026}
    assert admins == [("admin",)]
    # Suzhou's beds: 85,839, 72.9 % nursing-type (nursing and dementia care), 67.1 % run by social operators.
    total = sum(beds.values())
    assert total == 85_839
    assert abs((beds["nursing"] + beds["dementia"]) / total - 0.729) < 0.01
    assert abs(social / total - 0.671) < 0.08  # drawn per institution, so the bed share varies more


def test_demo_seed_is_idempotent(tmp_path) -> None:
    db = tmp_path / "demo.db"
    env = platform_env(ELDERCARE_DATABASE_URL=sqlite_database(db))
    first = _cli(env, "seed", "--demo")
    second = _cli(env, "seed", "--demo")
    assert "operator" in first and "operator" in second
    with sqlite3.connect(db) as conn:
        elders = conn.execute("SELECT count(*) FROM elder").fetchone()[0]
        caregivers = conn.execute("SELECT count(*) FROM caregiver").fetchone()[0]
        beds = conn.execute("SELECT count(*) FROM bed").fetchone()[0]
        outside = conn.execute(
            "SELECT count(*) FROM elder WHERE lat NOT BETWEEN 30.75 AND 32.05 OR lon NOT BETWEEN 119.9 AND 121.4"
        ).fetchone()[0]
    assert elders > 20 and caregivers == 15 and outside == 0
    assert beds == 300  # the demo's institutions, once
    # Every demo account is printed, the caregivers' too.
    for n in range(1, 16):
        assert f"cg{n:02d}" in first
    with sqlite3.connect(db) as conn:
        genders = conn.execute("SELECT gender, name FROM elder").fetchall()
        speakers = conn.execute("SELECT count(*) FROM caregiver WHERE languages LIKE '%suzhounese%'").fetchone()[0]
        local = conn.execute("SELECT count(*) FROM elder WHERE language = 'suzhounese'").fetchone()[0]
    # The gender the ID number says (stored from it) goes with the given name.
    female, male = set(GIVEN["female"]), set(GIVEN["male"])
    assert all(name[1:] in (female if gender == "female" else male) for gender, name in genders)
    assert {g for g, _ in genders} == {"female", "male"}
    assert 0 < speakers < 15 and local > 0
