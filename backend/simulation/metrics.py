"""What a simulated day is judged by, computed from its samples: one part's, or a city's parts together."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

SAMPLES = ("to_accept_s", "travel_km", "late_min", "wait_min", "decision_ms")


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def summarise(
    *,
    scenario: str,
    policy: str,
    batch_seconds: float,
    statuses: dict[str, int],
    offers: int,
    declines: int,
    refused: dict[str, int],
    provider_gini: float,
    samples: dict[str, list[float]],
) -> dict[str, Any]:
    """The day's figures: how many orders were served, how fast, how far, how late, how fairly."""
    total = sum(statuses.values())
    completed = statuses.get("completed", 0)
    to_accept, travel, late, waits, decisions = (samples[name] for name in SAMPLES)
    return {
        "scenario": scenario,
        "policy": policy,
        "batch_seconds": batch_seconds if policy == "batched" else 0,
        "requests": total,
        "completed": completed,
        "fill_rate": _rounded(completed / total if total else None, 4),
        "escalated": statuses.get("escalated", 0),
        "statuses": statuses,
        "offers": offers,
        "refused": refused,
        "declines": declines,
        "time_to_accept_s": {"p50": _rounded(_pct(to_accept, 50), 1), "p95": _rounded(_pct(to_accept, 95), 1)},
        "travel_km_per_visit": _rounded(statistics.fmean(travel) if travel else None, 3),
        "travel_km_total": _rounded(sum(travel), 1),
        "booked_visits": len(late),
        "late_share": _rounded(sum(1 for m in late if m > 0) / len(late) if late else None, 4),
        "lateness_min_mean": _rounded(statistics.fmean(late) if late else None),
        "wait_to_arrival_min": {"p50": _rounded(_pct(waits, 50), 1), "p95": _rounded(_pct(waits, 95), 1)},
        "provider_gini": provider_gini,
        "decision_ms": {
            "count": len(decisions),
            "p50": _rounded(_pct(decisions, 50)),
            "p99": _rounded(_pct(decisions, 99)),
        },
    }


def merge(name: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The city's day from its parts' figures (each with its ``samples``): counts add up, percentiles are taken
    over every part's samples together; fairness is kept per part (providers serve one district) and averaged
    weighted by requests."""
    statuses: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    samples: dict[str, list[float]] = {key: [] for key in SAMPLES}
    for part in parts:
        statuses.update(part["statuses"])
        refused.update(part["refused"])
        for key in SAMPLES:
            samples[key].extend(part["samples"][key])
    total = sum(part["requests"] for part in parts) or 1
    first = parts[0]
    city = summarise(
        scenario=name,
        policy=first["policy"],
        batch_seconds=first["batch_seconds"],
        statuses=dict(statuses),
        offers=sum(part["offers"] for part in parts),
        declines=sum(part["declines"] for part in parts),
        refused=dict(refused),
        provider_gini=round(sum(part["provider_gini"] * part["requests"] for part in parts) / total, 4),
        samples=samples,
    )
    city["parts"] = {
        part["scenario"]: {
            key: part[key] for key in ("requests", "completed", "provider_gini", "setup_seconds", "loop_seconds")
        }
        for part in parts
    }
    return city
