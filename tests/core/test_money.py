"""Money in fen: exact conversion from yuan, two-decimal display, the one rounding rule, and payload amounts."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from backend.core.errors import install_error_handlers
from backend.core.money import (
    AmountsIn,
    Fen,
    NotAnAmount,
    TooPrecise,
    fen_field,
    fen_to_yuan,
    format_yuan,
    percent_of,
    split,
    yuan_cell,
    yuan_key,
    yuan_to_fen,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [
        (12, 1200),
        ("12", 1200),
        ("12.5", 1250),
        ("12.35", 1235),
        (" 12.35 ", 1235),
        (12.35, 1235),  # a JSON number as written, not 12.3499999…
        (0.1, 10),
        (Decimal("0.07"), 7),
        ("0", 0),
        ("12.350", 1235),  # a trailing zero is no extra precision
        (-3.5, -350),
    ],
)
def test_yuan_become_fen_exactly(yuan: object, fen: int) -> None:
    assert yuan_to_fen(yuan) == fen  # type: ignore[arg-type]


@pytest.mark.parametrize("yuan", ["12.345", 12.345, "0.001", Decimal("1.005"), 1e-7])
def test_a_third_decimal_is_refused_never_rounded(yuan: object) -> None:
    with pytest.raises(TooPrecise):
        yuan_to_fen(yuan)  # type: ignore[arg-type]


@pytest.mark.parametrize("yuan", ["", "abc", "1e3", "NaN", "inf", float("nan"), float("inf"), "١٢", True, "1,000"])
def test_what_is_not_a_plain_amount_is_refused(yuan: object) -> None:
    with pytest.raises(NotAnAmount):
        yuan_to_fen(yuan)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fen", "shown"),
    [(0, "0.00"), (5, "0.05"), (1250, "12.50"), (3000, "30.00"), (-2500, "-25.00"), (10**14, "1000000000000.00")],
)
def test_fen_are_shown_as_yuan_with_two_decimals(fen: Fen, shown: str) -> None:
    assert format_yuan(fen) == shown
    assert str(fen_to_yuan(fen)) == shown
    assert yuan_cell(fen) == Decimal(shown) and yuan_cell(None) is None


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_showing_and_reading_back_is_the_identity(fen: int) -> None:
    assert yuan_to_fen(format_yuan(fen)) == fen


@pytest.mark.parametrize(
    ("total", "share", "parts"),
    [
        (999, "0.5", (500, 499)),  # 499.5 rounds half up; the self-pay side takes the rest
        (1000, "0.5", (500, 500)),
        (1, "0.5", (1, 0)),
        (3333, "0.3", (1000, 2333)),  # 999.9 → 1000
        (1001, Decimal(1) / 3, (334, 667)),  # 333.666… → 334
        (1000, 0, (0, 1000)),
        (1000, 1, (1000, 0)),
    ],
)
def test_a_split_rounds_half_up_and_the_rest_is_self_pay(total: Fen, share: object, parts: tuple[Fen, Fen]) -> None:
    assert split(total, share) == parts  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**12), st.decimals(min_value=0, max_value=1, places=4))
def test_the_parts_of_a_split_always_add_up_to_the_whole(total: int, share: Decimal) -> None:
    part, rest = split(total, share)
    assert part + rest == total and 0 <= part <= total
    assert abs(part - Decimal(total) * share) <= Decimal("0.5")


def test_a_share_outside_zero_to_one_is_a_mistake() -> None:
    with pytest.raises(ValueError):
        split(100, "1.2")


@pytest.mark.parametrize(
    ("fen", "percent", "result"), [(3333, 50, 1667), (1000, 15, 150), (1, 50, 1), (999, "12.5", 125)]
)
def test_a_percentage_rounds_half_up_to_the_fen(fen: Fen, percent: object, result: Fen) -> None:
    assert percent_of(fen, percent) == result  # type: ignore[arg-type]


def test_yuan_keys_mirror_fen_fields() -> None:
    assert yuan_key("price_fen") == "price_yuan"
    assert yuan_key("fen") == "yuan"
    assert yuan_key("government_fen_delta") == "government_yuan_delta"
    assert yuan_key("fence") is None and yuan_key("service_type") is None


class Price(AmountsIn):
    service_type: str
    price_fen: Fen = fen_field(max_yuan=100_000)
    deposit_fen: Fen | None = fen_field(max_yuan=100, default=None)


@pytest.mark.parametrize(
    ("body", "price", "deposit"),
    [
        ({"price_fen": 1235}, 1235, None),
        ({"price_yuan": 12.35}, 1235, None),
        ({"price_yuan": "12.35"}, 1235, None),
        ({"price_yuan": 12}, 1200, None),
        ({"price_fen": 1235, "price_yuan": "12.35"}, 1235, None),
        ({"price_yuan": "1", "deposit_yuan": "0.5"}, 100, 50),
        ({"price_yuan": "1", "deposit_yuan": None}, 100, None),
    ],
)
def test_a_payload_takes_an_amount_in_fen_or_in_yuan(body: dict[str, object], price: int, deposit: int | None) -> None:
    got = Price.model_validate({"service_type": "meal", **body})
    assert (got.price_fen, got.deposit_fen) == (price, deposit)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"price_yuan": "12.345"}, "too_precise"),
        ({"price_yuan": 12.345}, "too_precise"),
        ({"price_yuan": "twelve"}, "not_an_amount"),
        ({"price_fen": 1200, "price_yuan": "12.01"}, "amounts_disagree"),
        ({"price_fen": "1200"}, "int_type"),  # fen are a JSON integer, nothing coerced
        ({"price_fen": 12.5}, "int_type"),
        ({"price_yuan": -1}, "greater_than_equal"),
        ({"price_yuan": "100000.01"}, "less_than_equal"),
        ({}, "missing"),
    ],
)
def test_a_bad_amount_is_refused_with_its_code(body: dict[str, object], code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Price.model_validate({"service_type": "meal", **body})
    assert refused.value.errors()[0]["type"] == code


async def test_the_schema_offers_either_form_and_a_bad_amount_is_a_422_with_its_code() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.put("/price")
    async def put(body: Price) -> dict[str, int]:
        return {"price_fen": body.price_fen}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        schema = (await http.get("/openapi.json")).json()["components"]["schemas"]["Price"]
        assert {"price_fen", "price_yuan", "deposit_fen", "deposit_yuan"} <= set(schema["properties"])
        assert schema["required"] == ["service_type"]
        taken = await http.put("/price", json={"service_type": "meal", "price_yuan": "12.35"})
        assert taken.json() == {"price_fen": 1235}
        refused = await http.put("/price", json={"service_type": "meal", "price_yuan": "12.345"})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "too_precise"
        assert refused.json()["detail"][0]["loc"] == ["body", "price_yuan"]
