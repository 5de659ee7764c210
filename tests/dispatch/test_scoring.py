"""The scorer's arithmetic and wording, and the Gini index, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.core.config import DispatchWeights, Settings
from backend.dispatch.fairness import weighted_gini
from backend.dispatch.scoring import History, OrderContext, explain, score
from backend.orders.models import ServiceRequest
from backend.registry.models import Elder, ServiceType

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SETTINGS = Settings(database_url="sqlite+aiosqlite://", travel_speed_kmh=15, road_factor=1.3)


def context(**kw: object) -> OrderContext:
    request = ServiceRequest(id=1, elder_id=1, community_id=1, service_type="bathing", paid_by="self")
    for key in ("window_end", "paid_by"):
        if key in kw:
            setattr(request, key, kw.pop(key))
    elder = Elder(
        id=1, name="张阿婆", id_number="x", phone="x", community_id=1, address="x", lat=31.3, lon=120.6, gender="female"
    )
    for key in ("preferred_caregiver_id", "language"):
        if key in kw:
            setattr(elder, key, kw.pop(key))
    service_type = ServiceType(code="bathing", name_zh="助浴", name_en="Bathing", personal_care=True)
    return OrderContext(request=request, elder=elder, service_type=service_type, now=NOW, **kw)  # type: ignore[arg-type]


def cost_of(ctx: OrderContext, settings: Settings = SETTINGS, **kw: object) -> tuple[float, dict[str, float]]:
    args: dict[str, object] = {"caregiver_id": 7, "provider_id": 3, "distance_m": 1000.0, "load": 0, "languages": []}
    args.update(kw)
    total, terms = score(ctx, settings, **args)  # type: ignore[arg-type]
    return total, {t.code: t.cost for t in terms}


def test_travel_is_minutes_on_the_road() -> None:
    total, terms = cost_of(context())
    assert terms["travel"] == pytest.approx(1.3 / 15 * 60)  # 1 km straight line, 1.3 km of road at 15 km/h
    assert total == pytest.approx(terms["travel"])


def test_lateness_counts_only_past_the_window() -> None:
    in_time = context(window_end=NOW + timedelta(minutes=30))
    assert cost_of(in_time)[1]["lateness"] == 0
    late = context(window_end=NOW - timedelta(minutes=10))
    travel = 1.3 / 15 * 60
    assert cost_of(late)[1]["lateness"] == pytest.approx(2.0 * (10 + travel))


def test_continuity_is_capped_and_poor_ratings_weigh_against() -> None:
    ctx = context(history={7: History(good=9, poor=0), 8: History(good=1, poor=1)})
    assert cost_of(ctx)[1]["continuity"] == -4.0 * 3
    assert cost_of(ctx, caregiver_id=8)[1]["continuity"] == -4.0 + 10.0
    assert "continuity" not in cost_of(ctx, caregiver_id=9)[1]


def test_wishes_and_workload() -> None:
    ctx = context(preferred_caregiver_id=7, language="suzhounese")
    _, terms = cost_of(ctx, languages=["mandarin", "suzhounese"], load=2)
    assert terms["preferred"] == -15.0 and terms["language"] == -6.0 and terms["workload"] == 6.0
    _, terms = cost_of(ctx, caregiver_id=8, languages=["mandarin"])
    assert "preferred" not in terms and "language" not in terms


def test_fairness_only_for_public_money_and_clamped() -> None:
    gaps = {3: 50.0, 4: -3.0}
    public = context(paid_by="government", provider_gaps=gaps)
    assert cost_of(public)[1]["fairness"] == -0.5 * 20  # clamped to 20 points
    assert cost_of(public, provider_id=4)[1]["fairness"] == pytest.approx(1.5)
    assert "fairness" not in cost_of(context(provider_gaps=gaps))[1]


def test_weights_come_from_the_city_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_DISPATCH_WEIGHTS", '{"travel_per_minute": 2.5, "preferred_caregiver": 0}')
    city = Settings(database_url="sqlite+aiosqlite://")
    assert city.dispatch_weights == DispatchWeights(travel_per_minute=2.5, preferred_caregiver=0)
    _, terms = cost_of(context(preferred_caregiver_id=7), city)
    assert terms["travel"] == pytest.approx(2.5 * 1.3 / 15 * 60) and terms["preferred"] == 0


def test_the_explanation_reads_as_a_sentence() -> None:
    ctx = context(history={7: History(good=3)}, language="suzhounese")
    _, terms = score(ctx, SETTINGS, caregiver_id=7, provider_id=3, distance_m=1200, load=1, languages=["suzhounese"])
    zh = explain(terms, rank=1, total=4, english=False)
    assert zh == (
        "1.2 公里（约 6 分钟） · 具备助浴技能 · 服务过该老人 3 次 · 会说苏州话 · "
        "今日已接 1 单 · 在附近 4 名可派人员中排第 1"
    )
    en = explain(terms, rank=1, total=4, english=True)
    assert en.startswith("1.2 km (about 6 min) · bathing skill · served this elder 3 times · speaks Suzhounese")


def test_gini_is_zero_when_shares_match_and_grows_with_concentration() -> None:
    assert weighted_gini([1.0, 1.0, 1.0], [0.2, 0.3, 0.5]) == 0
    concentrated = weighted_gini([0.0, 0.0, 2.0], [0.25, 0.25, 0.5])
    assert concentrated == pytest.approx(0.5)
    assert weighted_gini([0.5, 1.5], [0.5, 0.5]) < concentrated
    assert weighted_gini([], []) == 0
