"""``eldercare simulate``: a generated day, run through the real dispatcher under each policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.simulation.engine import Simulation
from backend.simulation.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]


def eldercare(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sim")
    made = eldercare("simulate", "--generate", "small", "--supply", "scarce", "--out", "day.json", cwd=folder)
    assert made.returncode == 0, made.stderr
    scenario = json.loads((folder / "day.json").read_text(encoding="utf-8"))
    assert Scenario.model_validate(scenario).caregivers == 10
    scenario.update(hours=0.75, requests_per_hour=40, elders=60, drain_hours=5)  # a short, busy day
    (folder / "day.json").write_text(json.dumps(scenario), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
async def metrics(day: Path) -> dict[str, dict[str, object]]:
    """The day under each policy, simulated in this process (one start, one migrated template for the four), its
    metrics as ``eldercare simulate`` writes them; the command's own run of the day is compared with them below."""
    scenario = Scenario.model_validate_json((day / "day.json").read_text(encoding="utf-8"))
    out = {}
    for policy in ("greedy", "batched", "lookahead", "hindsight"):
        metrics = await Simulation(scenario.model_copy(update={"policy": policy})).run()
        out[policy] = json.loads(json.dumps(metrics, ensure_ascii=False))
    return out


def test_every_policy_sees_the_same_day_and_accounts_for_every_request(metrics) -> None:
    greedy, batched, ahead = metrics["greedy"], metrics["batched"], metrics["lookahead"]
    assert greedy["requests"] == batched["requests"] == ahead["requests"] > 10
    assert [m["policy"] for m in (greedy, batched, ahead)] == ["greedy", "batched", "lookahead"]
    for m in (greedy, batched, ahead):
        assert sum(m["statuses"].values()) == m["requests"]
        assert m["completed"] == m["statuses"].get("completed", 0)
        assert 0 < m["fill_rate"] <= 1
        assert m["travel_km_per_visit"] > 0 and m["offers"] >= m["completed"]
        assert m["decision_ms"]["count"] > 0 and m["time_to_accept_s"]["p50"] > 0
        assert 0 <= m["provider_gini"] <= 1
    assert greedy["batch_seconds"] == 0 and batched["batch_seconds"] > 0
    # Batching holds orders for the window: they are accepted later than when offered at once.
    assert batched["time_to_accept_s"]["p50"] > greedy["time_to_accept_s"]["p50"]


def test_the_day_planned_in_hindsight_serves_the_same_requests_with_less_travel(metrics) -> None:
    greedy, hindsight = metrics["greedy"], metrics["hindsight"]
    assert hindsight["policy"] == "hindsight" and hindsight["requests"] == greedy["requests"]
    assert sum(hindsight["statuses"].values()) == hindsight["requests"]
    assert set(hindsight["statuses"]) <= {"completed", "escalated"} and hindsight["offers"] == 0
    # Knowing every request at the start, the planner chains visits: a reference no online policy reaches.
    assert hindsight["fill_rate"] >= greedy["fill_rate"]
    assert hindsight["travel_km_per_visit"] < greedy["travel_km_per_visit"]
    assert hindsight["decision_ms"]["count"] > 0  # one plan per provider


def test_only_looking_ahead_re_plans_the_day_and_says_how_many_visits_moved(metrics) -> None:
    assert isinstance(metrics["lookahead"]["replanned_visits"], int)
    assert "replanned_visits" not in metrics["greedy"] and "replanned_visits" not in metrics["batched"]


def test_the_same_scenario_and_seed_give_the_same_day(day: Path, metrics) -> None:
    """The command, in a process of its own, gives the day the fixture simulated here."""
    again = eldercare("simulate", "day.json", "--policy", "greedy", "--out", "again.json", cwd=day)
    assert again.returncode == 0, again.stderr
    repeat = json.loads((day / "again.json").read_text(encoding="utf-8"))
    first = metrics["greedy"]
    for key in ("requests", "completed", "statuses", "offers", "declines", "travel_km_total", "time_to_accept_s"):
        assert repeat[key] == first[key], key


def test_a_broken_scenario_is_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"caregivers": 0, "service_mix": {"meal": -1}}), encoding="utf-8")
    run = eldercare("simulate", "bad.json", cwd=tmp_path)
    assert run.returncode == 2 and "caregivers" in run.stderr
    unknown = eldercare("simulate", "--generate", "moon", cwd=tmp_path)
    assert unknown.returncode == 2 and "moon" in unknown.stderr
    assert not (tmp_path / "metrics.json").exists()
