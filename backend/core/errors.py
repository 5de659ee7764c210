"""Domain errors carry their HTTP status and a stable code; one handler renders them."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.core.i18n import prefers_english

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal a user can understand: HTTP status, stable code, Chinese and English text."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, message_en: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en or message
        if code:
            self.code = code

    def body(self, english: bool = False) -> dict[str, Any]:
        """The JSON body of the contract."""
        return {"error": {"code": self.code, "message": self.message_en if english else self.message}}


class Unauthorized(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(exc.body(prefers_english(request)), status_code=exc.status_code, headers=headers)


def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": ""}
    field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
    english = prefers_english(request)
    message = f"Invalid input: {field} {first['msg']}" if english else f"输入有误：{field} {first['msg']}"
    return JSONResponse({"error": {"code": "validation_error", "message": message}, "detail": errors}, status_code=422)


def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    headers = getattr(exc, "headers", None)
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code, headers=headers
    )


def sqlstate(exc: DBAPIError) -> str:
    """The SQLSTATE the database answered with ("" when the driver did not say)."""
    cause = getattr(exc.orig, "__cause__", None)
    return str(getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None) or "")


DEADLOCK = "40P01"


def _bad_value(exc: DBAPIError) -> bool:
    """True when the database refused a value (SQLSTATE class 22, or the driver could not encode it)."""
    if isinstance(exc, DataError):
        return True
    cause = getattr(exc.orig, "__cause__", None)
    return sqlstate(exc).startswith("22") or type(cause).__name__ == "DataError"


def _database_handler(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold (an id beyond its range, say) is bad input, not a server error."""
    assert isinstance(exc, DBAPIError)
    english = prefers_english(request)
    if _bad_value(exc):
        message = "A value is out of range or malformed" if english else "输入的数值超出范围或格式不正确"
        return JSONResponse({"error": {"code": "invalid_value", "message": message}}, status_code=422)
    log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "The service is temporarily unavailable" if english else "服务暂时不可用，请稍后重试"
    return JSONResponse({"error": {"code": "service_unavailable", "message": message}}, status_code=503)


def install_error_handlers(app: FastAPI) -> None:
    """Render every refusal in the contract's shape."""
    app.add_exception_handler(DomainError, _domain_handler)
    app.add_exception_handler(DBAPIError, _database_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
