"""Domain errors carry their HTTP status and a stable code; one handler renders them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.core.i18n import prefers_english
from backend.core.input_errors import describe
from backend.core.money import INPUT_ERRORS

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal a user can understand: HTTP status, stable code, Chinese and English text."""

    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None  # extra response headers (e.g. which sign-in a 401 asks for)

    def __init__(self, message: str, *, code: str | None = None, message_en: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en or message
        if code:
            self.code = code

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a process of the offload pool and re-raised here: keep the code and both texts.
        return (_restore, (type(self), self.args, self.__dict__))

    def body(self, english: bool = False) -> dict[str, Any]:
        """The JSON body of the contract (docs/contract.md, "Errors")."""
        return {"error": {"code": self.code, "message": self.message_en if english else self.message}}


def _restore(cls: type[DomainError], args: tuple[Any, ...], state: dict[str, Any]) -> DomainError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


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


class TooLarge(DomainError):
    status_code = 413
    code = "too_large"


class TooManyRequests(DomainError):
    """Too many failed attempts: wait ``retry_after`` seconds (sent as ``Retry-After``)."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"尝试次数过多，请 {minutes} 分钟后再试",
            message_en=f"Too many attempts: try again in {retry_after} s",
        )
        self.retry_after = retry_after


class PayloadTooLarge(StarletteHTTPException):
    """A body over the configured limit: 413, refused before it is read (an HTTP exception, so that it passes
    through the framework's body parsing untouched)."""

    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"Request body over {limit} bytes")
        self.limit = limit

    def body(self, english: bool = False) -> dict[str, Any]:
        """The JSON body of the contract (docs/contract.md, "Errors")."""
        size = f"{self.limit / 1_048_576:.1f} MB" if self.limit >= 1_048_576 else f"{self.limit // 1024} KB"
        message = f"The request body is over {size}" if english else f"请求内容超过 {size} 上限"
        return {"error": {"code": self.code, "message": message}}


RefusalHook = Callable[[Request, DomainError], Awaitable[None]]


def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    if exc.headers:
        headers = {**(headers or {}), **exc.headers}
    return JSONResponse(exc.body(prefers_english(request)), status_code=exc.status_code, headers=headers)


def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    english = prefers_english(request)
    errors = [
        {"loc": _loc(e), "msg": describe(e, english=english), "type": str(e.get("type", ""))} for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "", "type": ""}
    field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
    message = f"Invalid input: {field} {first['msg']}" if english else f"输入有误：{field} {first['msg']}"
    # A refusal with a code of its own (an amount with a third decimal: too_precise) says it; the rest are generic.
    code = OWN_CODES.get(str(first["type"]), "validation_error")
    return JSONResponse({"error": {"code": code, "message": message}, "detail": errors}, status_code=422)


# pydantic's refusals that have a code of their own: a field the platform does not know (a typo, a newer client's).
# An amount's own refusals (too_precise, …) keep their type as their code.
OWN_CODES = {"extra_forbidden": "unknown_field", **{kind: kind for kind in INPUT_ERRORS}}


def _loc(error: Any) -> list[Any]:
    """Where the error is; a payload-wide check names the key it refused in its context (``price_yuan``)."""
    loc = list(error.get("loc", ()))
    named = (error.get("ctx") or {}).get("field") if error.get("type") in INPUT_ERRORS else None
    return [*loc, named] if named else loc


def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, PayloadTooLarge):
        return JSONResponse(exc.body(prefers_english(request)), status_code=exc.status_code)
    code, zh, en = HTTP_REFUSALS.get(exc.status_code, ("http_error", "请求无法处理", "The request cannot be handled"))
    headers = getattr(exc, "headers", None)
    message = en if prefers_english(request) else zh
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=exc.status_code, headers=headers)


# The framework's own refusals (an unknown address, a method the route lacks), in the request's language.
HTTP_REFUSALS = {
    400: ("bad_request", "请求格式不正确", "The request is malformed"),
    401: ("not_authenticated", "请先登录", "Sign in first"),
    403: ("forbidden", "无权访问", "Not allowed"),
    404: ("not_found", "找不到该地址", "No such address"),
    405: ("method_not_allowed", "该地址不支持此请求方法", "This address does not take that method"),
    406: ("not_acceptable", "无法提供所要求的格式", "That format cannot be given"),
    415: ("unsupported_media_type", "不支持该内容格式", "That content type is not accepted"),
}


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


def _overflow_handler(request: Request, exc: Exception) -> JSONResponse:
    """A value too large to compute with (a date past year 9999, an infinite number): bad input, 422."""
    log.warning("value out of range on %s %s: %s", request.method, request.url.path, exc)
    english = prefers_english(request)
    message = "A value is out of range" if english else "输入的数值超出范围"
    return JSONResponse({"error": {"code": "invalid_value", "message": message}}, status_code=422)


def install_error_handlers(app: FastAPI, *, on_refusal: RefusalHook | None = None) -> None:
    """Render every refusal in the contract's shape (docs/contract.md, "Errors"); ``on_refusal`` is told of each 403
    (the audit trail)."""

    async def domain_handler(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        if on_refusal is not None and exc.status_code == 403:
            await on_refusal(request, exc)
        return _domain_handler(request, exc)

    app.add_exception_handler(DomainError, domain_handler)
    app.add_exception_handler(DBAPIError, _database_handler)
    app.add_exception_handler(OverflowError, _overflow_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
