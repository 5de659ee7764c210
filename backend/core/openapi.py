"""The OpenAPI description says how the platform refuses: every refusal's real shape (``{"error": {"code",
"message"}}``, validation errors with their ``detail``), and which refusals each operation can answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "stable, for programs (e.g. bed_changed)",
                    "example": "not_found",
                },
                "message": {
                    "type": "string",
                    "description": "for people, in the request's language (Accept-Language: zh first, en)",
                    "example": "工单不存在",
                },
            },
        }
    },
}
VALIDATION = {
    "title": "ValidationError",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": ERROR["properties"]["error"],  # type: ignore[index]
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}

REFUSALS = {
    "401": "未登录或登录已失效 (not_authenticated) / not signed in, or the sign-in has ended",
    "403": "无权操作或超出辖区 (forbidden, out_of_scope, …) / not allowed for this role or scope",
    "404": "所指对象不存在 (not_found, request_not_found, …) / what the path names does not exist",
    "409": "与当前状态冲突 (illegal_transition, bed_changed, …) / conflicts with the current state; refresh and retry",
    "422": "输入有误 (validation_error or a domain code) / the input is invalid; nothing was changed",
}
CHANGES = {"post", "put", "patch", "delete"}


def _answer(code: str, schema: str) -> dict[str, Any]:
    return {
        "description": REFUSALS[code],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def document_errors(app: FastAPI) -> None:
    """Describe the refusals on every operation: 401 and 403 where a sign-in is needed, 404 where the path names
    something, 409 where the operation changes something, 422 (the real shape) wherever input is read."""
    described = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = described()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Error"], components["ValidationError"] = ERROR, VALIDATION
        components.pop("HTTPValidationError", None)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                answers = operation.setdefault("responses", {})
                wanted = []
                if operation.get("security"):
                    wanted += ["401", "403"]
                if "{" in path:
                    wanted.append("404")
                if method in CHANGES:
                    wanted.append("409")
                for code in wanted:
                    answers.setdefault(code, _answer(code, "Error"))
                if "422" in answers or operation.get("parameters") or operation.get("requestBody"):
                    answers["422"] = _answer("422", "ValidationError")
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
