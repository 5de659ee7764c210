"""Every body the API reads refuses fields it does not know, however deep (a guard for routes still to come)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from backend.app import create_app
from backend.core.config import Settings

pytestmark = pytest.mark.unit


def _routes(routes: Any) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _routes(route.routes)


def _models(annotation: Any, seen: dict[type[BaseModel], str]) -> None:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            seen[annotation] = str(annotation.model_config.get("extra"))
            for field in annotation.model_fields.values():
                _models(field.annotation, seen)
        return
    for argument in typing.get_args(annotation):
        _models(argument, seen)


def test_every_request_body_and_what_it_nests_forbids_unknown_fields(tmp_path) -> None:
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
    seen: dict[type[BaseModel], str] = {}
    for route in _routes(app.routes):
        stack = [route.dependant]
        while stack:
            dependant = stack.pop()
            for param in dependant.body_params:
                _models(param.field_info.annotation, seen)
            stack.extend(dependant.dependencies)
    assert len(seen) > 50
    lenient = sorted(f"{model.__module__}.{model.__name__}" for model, extra in seen.items() if extra != "forbid")
    assert lenient == []
