"""Domain errors carry their HTTP status and a stable code; one handler renders them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.core.i18n import prefers_english


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


def install_error_handlers(app: FastAPI) -> None:
    """Render every refusal in the contract's shape."""
    app.add_exception_handler(DomainError, _domain_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
