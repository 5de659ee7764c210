"""Money: every amount is an integer of fen (分, 1/100 yuan); people read and type yuan (元) with two decimals.

- Stored and computed as ``Fen`` (an int; BIGINT columns named ``<name>_fen``). Sums of fen are exact.
- Shown as yuan with exactly two decimals: ``format_yuan(1250) == "12.50"``; answers carry both ``<name>_fen``
  and ``<name>_yuan`` (that string). Spreadsheets get the yuan as a number formatted ``0.00`` (``yuan_cell``).
- Given as ``<name>_fen`` (an integer) or ``<name>_yuan`` (a number or numeric string, at most two decimals):
  an amount someone types is never rounded; a third decimal is refused (``too_precise``).
- The one rounding rule, wherever an amount is computed rather than given (a percentage of a price, a share paid by
  the government): the computed part is rounded half up to the fen (0.5 fen away from zero), and what is left of
  the whole goes to the self-pay side, so the parts always add up to the whole (``split``, ``percent_of``).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any, TypeAlias, overload

from pydantic import Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from backend.core.schemas import Body

Fen: TypeAlias = int
FEN_PER_YUAN = 100

# The stable codes of refused amounts (the 422's ``error.code``).
TOO_PRECISE = "too_precise"  # more than two decimals of yuan
NOT_AN_AMOUNT = "not_an_amount"  # not a finite number
AMOUNTS_DISAGREE = "amounts_disagree"  # <name>_fen and <name>_yuan both given, for different amounts
INPUT_ERRORS = frozenset({TOO_PRECISE, NOT_AN_AMOUNT, AMOUNTS_DISAGREE})


class TooPrecise(ValueError):
    """More than two decimals of yuan: an amount someone gives is never rounded."""


class NotAnAmount(ValueError):
    """Not a finite number of yuan."""


_NUMERIC = re.compile(r"\s*-?[0-9]+(\.[0-9]+)?\s*")


def _decimal(yuan: Decimal | int | float | str) -> Decimal:
    if isinstance(yuan, bool):  # True is an int to Python, never an amount
        raise NotAnAmount(repr(yuan))
    if isinstance(yuan, str) and not _NUMERIC.fullmatch(yuan):  # plain digits only: no "1e3", "١٢" or "NaN"
        raise NotAnAmount(repr(yuan))
    try:
        # A float as it was written (12.35, not 12.3499999…): its shortest repr.
        value = Decimal(repr(yuan)) if isinstance(yuan, float) else Decimal(yuan)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise NotAnAmount(repr(yuan)) from exc
    if not value.is_finite():
        raise NotAnAmount(repr(yuan))
    return value


def yuan_to_fen(yuan: Decimal | int | float | str) -> Fen:
    """Yuan as fen, exactly: ``"12.5"`` → 1250. ``TooPrecise`` past two decimals, ``NotAnAmount`` for the rest."""
    value = _decimal(yuan)
    fen = value * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise TooPrecise(f"{value} has more than two decimals")
    return int(fen)


def fen_to_yuan(fen: Fen) -> Decimal:
    """Fen as yuan with two decimals: 1250 → ``Decimal("12.50")``."""
    return Decimal(fen).scaleb(-2)


@overload
def format_yuan(fen: Fen) -> str: ...
@overload
def format_yuan(fen: None) -> None: ...


def format_yuan(fen: Fen | None) -> str | None:
    """Fen as yuan with exactly two decimals, as answers and pages show it: 1250 → ``"12.50"``, -5 → ``"-0.05"``
    (None stays None: an amount not set)."""
    return None if fen is None else f"{fen_to_yuan(fen):.2f}"


def round_fen(amount: Decimal) -> Fen:
    """A computed amount of fen (maybe fractional) rounded by the platform's rule: half up, to the fen."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(fen: Fen, percent: Decimal | int | str) -> Fen:
    """``percent`` % of an amount, rounded half up to the fen: ``percent_of(3333, 50) == 1667``."""
    return round_fen(Decimal(fen) * Decimal(percent) / 100)


def split(total: Fen, share: Decimal | int | str) -> tuple[Fen, Fen]:
    """The whole cut in two: the part ``share`` (0 to 1, say the government's) rounded half up to the fen, and the
    rest (the self-pay side), so that the two always add up to ``total``: ``split(999, "0.5") == (500, 499)``."""
    ratio = Decimal(share)
    if not 0 <= ratio <= 1:
        raise ValueError(f"a share is between 0 and 1, not {share}")
    part = round_fen(Decimal(total) * ratio)
    return part, total - part


def yuan_cell(fen: Fen | None) -> Decimal | None:
    """An amount for a spreadsheet cell: yuan as an exact decimal (written as a number formatted ``0.00``)."""
    return None if fen is None else fen_to_yuan(fen)


def fen_field(*, max_yuan: int, default: Any = ..., positive: bool = False, description: str | None = None) -> Any:
    """An amount a payload takes: an integer of fen (a JSON integer, nothing coerced), not negative (``positive``:
    above zero), at most ``max_yuan`` yuan. ``AmountsIn`` also takes it as yuan."""
    return Field(
        default,
        strict=True,
        ge=None if positive else 0,
        gt=0 if positive else None,
        le=max_yuan * FEN_PER_YUAN,
        description=description,
    )


# An amount in an answer: yuan with exactly two decimals (the ``<name>_yuan`` beside ``<name>_fen``).
YuanText = Annotated[
    str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["30.00"], description="yuan, exactly two decimals")
]


def yuan_key(fen_field: str) -> str | None:
    """The ``yuan`` key of a fen field (``price_fen`` → ``price_yuan``, ``government_fen_delta`` →
    ``government_yuan_delta``), or None for a field that is not an amount."""
    parts = fen_field.split("_")
    return "_".join("yuan" if p == "fen" else p for p in parts) if "fen" in parts else None


def _fen_of(key: str, value: Any) -> Fen:
    try:
        return yuan_to_fen(value)
    except TooPrecise as exc:
        raise PydanticCustomError(
            TOO_PRECISE, "at most two decimals of yuan (a fen is the smallest amount)", {"field": key}
        ) from exc
    except NotAnAmount as exc:
        raise PydanticCustomError(
            NOT_AN_AMOUNT, "an amount of yuan, as a number or a numeric string", {"field": key}
        ) from exc


class AmountsIn(Body):
    """A payload whose amounts (its ``<name>_fen`` fields) may each be given as ``<name>_fen``, an integer of fen,
    or as ``<name>_yuan``, yuan as a number or numeric string with at most two decimals (422 ``too_precise``
    past that). Given both, they must be the same amount (422 ``amounts_disagree``)."""

    @model_validator(mode="before")
    @classmethod
    def _fen_from_yuan(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in cls.model_fields:
            key = yuan_key(name)
            if key is None or key not in data:
                continue
            yuan = data.pop(key)
            if yuan is None:
                continue
            fen = _fen_of(key, yuan)
            given = data.get(name)
            if given is not None and given != fen:
                raise PydanticCustomError(
                    AMOUNTS_DISAGREE,
                    "{field} and {other} are different amounts: give one of them",
                    {"field": key, "other": name},
                )
            data[name] = fen
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """What clients may send: each amount as ``<name>_fen`` or ``<name>_yuan`` (so neither is required)."""
        found = handler(schema)
        if handler.mode != "validation":
            return found
        target = handler.resolve_ref_schema(found)
        properties, required = target.get("properties", {}), target.get("required", [])
        for name in cls.model_fields:
            key = yuan_key(name)
            if key is None or name not in properties:
                continue
            properties[key] = {
                "anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]{1,2})?\s*$"}],
                "title": key.replace("_", " ").capitalize(),
                "description": f"the amount in yuan, at most two decimals (instead of {name})",
                "examples": ["12.35"],
            }
            if name in required:
                required.remove(name)
        if not required:
            target.pop("required", None)
        return found
