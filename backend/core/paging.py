"""Paging, one way for every list (docs/contract.md, "Paging and times"): ``limit`` and ``offset`` in the query, the
list's total in the ``X-Total-Count`` header, the body the list's own v1 shape.

A route takes a ``Paged`` (or ``paging(default=..., maximum=...)`` where its list always had another default, or was
answered whole); the page then either counts a query and fetches its slice in a stable order (``scalars``, ``rows``)
or slices a list computed in Python (``of``), and the total reaches the response.
"""

# No ``from __future__ import annotations`` here: ``paging`` builds each route's ``limit`` from its own bounds, which
# FastAPI must see as values, not as names to look up in this module.

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar, TypeVarTuple

from fastapi import Depends, FastAPI, Query, Response
from sqlalchemy import Row, Select, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement

TOTAL_COUNT = "X-Total-Count"
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
MAX_OFFSET = 10_000_000
# Lists that were answered whole before they were paged (an area's communities, a district's waiting list): a client
# that never heard of paging still gets them whole, up to this many.
WHOLE = 10_000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many items")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="skip this many items first")]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
Key = ColumnElement[Any] | Mapped[Any]  # a column (or columns) that tells a list's rows apart


class Page:
    """The part of a list a client asked for; the list's total, once known, is its response's ``X-Total-Count``."""

    def __init__(self, limit: int = DEFAULT_LIMIT, offset: int = 0, response: Response | None = None) -> None:
        self.limit, self.offset = limit, offset
        self._response = response
        self._total: int | None = None

    @property
    def total(self) -> int | None:
        return self._total

    @total.setter
    def total(self, total: int) -> None:
        self._total = total
        if self._response is not None:
            self._response.headers[TOTAL_COUNT] = str(total)

    @property
    def headers(self) -> dict[str, str]:
        """The header, for a route that answers with its own ``Response``."""
        return {TOTAL_COUNT: str(self._total or 0)}

    def of(self, items: Sequence[T]) -> list[T]:
        """This page of a list computed whole, in its (stable) order; its length is the total."""
        self.total = len(items)
        return list(items[self.offset : self.offset + self.limit])

    def window(self, query: Select[*Ts], *key: Key) -> Select[*Ts]:
        """The query limited to this page, its order made total by ``key`` (default: the first entity's primary key),
        so that pages never skip or repeat a row."""
        return query.order_by(*(key or _primary_key(query))).limit(self.limit).offset(self.offset)

    async def count(self, session: AsyncSession, query: Select[*Ts]) -> int:
        """How many rows the query has in all (the page's total)."""
        counted = select(func.count()).select_from(query.order_by(None).limit(None).offset(None).subquery())
        total = self.total = int(await session.scalar(counted) or 0)
        return total

    async def rows(self, session: AsyncSession, query: Select[*Ts], *key: Key) -> list[Row[*Ts]]:
        """This page of the query's rows; counted only when the page does not show the total itself."""
        found = list((await session.execute(self.window(query, *key))).all())
        if 0 < len(found) < self.limit or (not found and self.offset == 0):
            self.total = self.offset + len(found)
        else:
            await self.count(session, query)
        return found

    async def scalars(self, session: AsyncSession, query: Select[T], *key: Key) -> list[T]:
        """This page of a query of one entity (or column)."""
        return [row[0] for row in await self.rows(session, query, *key)]


def _primary_key(query: Select[*Ts]) -> Sequence[Key]:
    entity = query.column_descriptions[0].get("entity") if query.column_descriptions else None
    if entity is None:
        raise TypeError("a page of this query needs its unique key to be named")
    return list(inspect(entity).primary_key)


def paging(*, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> Any:
    """A route's page as a dependency: ``limit`` (``default``, 1 to ``maximum``) and ``offset`` from the query."""

    async def page(
        response: Response,
        limit: Annotated[int, Query(ge=1, le=maximum, description="at most this many items")] = default,
        offset: Offset = 0,
    ) -> Page:
        return Page(limit, offset, response)

    return Depends(page)


Paged = Annotated[Page, paging()]
# A list answered whole before paging: the same by default.
Whole = Annotated[Page, paging(default=WHOLE, maximum=WHOLE)]

TOTAL_HEADER = {
    TOTAL_COUNT: {
        "description": "how many items the list has in all (the body is one page of them: limit, offset)",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def document(app: FastAPI) -> None:
    """Name ``X-Total-Count`` on the answer of every paged list (a GET taking ``limit`` and ``offset``)."""
    described = app.openapi

    def openapi() -> dict[str, Any]:
        schema = described()
        for operations in schema.get("paths", {}).values():
            get = operations.get("get")
            names = {p.get("name") for p in get.get("parameters", [])} if get else set()
            if get is not None and {"limit", "offset"} <= names:
                answer = get.setdefault("responses", {}).setdefault("200", {"description": "Successful Response"})
                answer.setdefault("headers", {}).update(TOTAL_HEADER)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
