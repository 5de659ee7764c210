"""``eldercare simulate --generate suzhou-day``: a whole city's day in district parts, on local processes or on
Celery workers, merged into one day's figures."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from backend.simulation.scenario import CityDay
from tests.infra import platform_env

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("requests", "completed", "statuses", "offers", "declines", "travel_km_total", "time_to_accept_s")


def eldercare(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("city")
    made = eldercare(
        "simulate",
        "--generate",
        "suzhou-day",
        "--requests",
        "100",
        "--caregivers",
        "200",
        "--out",
        "day.json",
        cwd=folder,
        env=platform_env(),
    )
    assert made.returncode == 0, made.stderr
    return folder


def test_the_day_covers_all_ten_districts_in_proportion(day: Path) -> None:
    city = CityDay.model_validate_json((day / "day.json").read_text(encoding="utf-8"))
    names = [part.name for part in city.parts]
    assert len(names) == 10 and any("姑苏区" in n for n in names) and any("昆山市" in n for n in names)
    assert sum(part.caregivers for part in city.parts) == pytest.approx(200, abs=5)
    assert city.planned_requests == pytest.approx(100, rel=0.01)
    # The district with the most communities gets the most of everything.
    biggest = max(city.parts, key=lambda part: len(part.communities or []))
    assert biggest.caregivers == max(part.caregivers for part in city.parts)
    assert all(part.communities for part in city.parts)


def test_the_same_day_gives_the_same_figures_in_one_process_in_two_and_on_celery_workers(
    day: Path, redis_url: str
) -> None:
    city = json.loads((day / "day.json").read_text(encoding="utf-8"))
    city["parts"] = city["parts"][:3]  # three districts make the point in a fraction of the time
    (day / "three.json").write_text(json.dumps(city), encoding="utf-8")
    runs: dict[str, dict[str, object]] = {}
    for label, workers, env in (
        ("here", "1", platform_env()),
        ("pool", "2", platform_env()),
        (
            "celery",
            "2",
            platform_env(
                ELDERCARE_REDIS_URL=redis_url,
                ELDERCARE_REDIS_PREFIX=f"eldercare-test-{uuid.uuid4().hex[:8]}",
                ELDERCARE_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/unused",
            ),
        ),
    ):
        run = eldercare("simulate", "three.json", "--workers", workers, "--out", f"{label}.json", cwd=day, env=env)
        assert run.returncode == 0, run.stderr + run.stdout
        assert "全市" in run.stdout  # the progress bar, city row
        runs[label] = json.loads((day / f"{label}.json").read_text(encoding="utf-8"))
    here = runs["here"]
    assert len(here["parts"]) == 3  # type: ignore[arg-type]
    assert sum(p["requests"] for p in here["parts"].values()) == here["requests"] > 20  # type: ignore[attr-defined]
    assert sum(here["statuses"].values()) == here["requests"]  # type: ignore[attr-defined]
    assert 0 < here["fill_rate"] <= 1  # type: ignore[operator]
    for label in ("pool", "celery"):
        for key in FIGURES:
            assert runs[label][key] == here[key], (label, key)
    assert runs["celery"]["workers"] == 2


def test_a_part_that_fails_fails_the_run_with_its_name(day: Path) -> None:
    city = json.loads((day / "day.json").read_text(encoding="utf-8"))
    city["parts"] = city["parts"][:2]
    city["parts"][1]["service_mix"] = {"moon_landing": 1.0}
    (day / "broken.json").write_text(json.dumps(city), encoding="utf-8")
    run = eldercare(
        "simulate", "broken.json", "--workers", "2", "--out", "broken-out.json", cwd=day, env=platform_env()
    )
    assert run.returncode == 1
    assert city["parts"][1]["name"] in run.stdout and "moon_landing" in run.stdout
    assert not (day / "broken-out.json").exists()
