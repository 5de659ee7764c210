"""Bad input, told in the request's one language: pydantic's refusals in Simplified Chinese (English as pydantic
words them), and the platform's own validators' refusals in both languages (``InputError``)."""

from __future__ import annotations

from typing import Any


class InputError(ValueError):
    """A validator's refusal in both languages: ``InputError("结束日期早于开始日期", "ends before it starts")``."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


_DATE = "应为日期（YYYY-MM-DD）"
_TIME = "应为带时区的时间（ISO 8601，如 2026-12-07T08:00:00+08:00）"
_INT = "应为整数"
_NUMBER = "应为数字"
_OBJECT = "应为对象"

# pydantic's error types, in Chinese; {name} is filled from the error's context.
ZH: dict[str, str] = {
    "missing": "必须填写",
    "extra_forbidden": "不是可接受的字段（请检查拼写）",
    "int_parsing": _INT,
    "int_type": _INT,
    "int_from_float": _INT,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "finite_number": "应为有限的数字",
    "decimal_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_max_places": "小数位最多 {decimal_places} 位",
    "decimal_max_digits": "数字最多 {max_digits} 位",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_unicode": "应为有效的文本",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为列表",
    "set_type": "应为列表",
    "tuple_type": "应为列表",
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "date_parsing": _DATE,
    "date_type": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_parsing": _TIME,
    "datetime_type": _TIME,
    "datetime_from_date_parsing": _TIME,
    "datetime_object_invalid": _TIME,
    "timezone_aware": "应带时区（如 +08:00）",
    "time_parsing": "应为时刻（HH:MM）",
    "time_type": "应为时刻（HH:MM）",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON 文本",
    "uuid_parsing": "应为 UUID",
    "uuid_type": "应为 UUID",
    "url_parsing": "应为网址",
    "url_type": "应为网址",
    "union_tag_invalid": "类型应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少类型字段 {discriminator}",
    "bytes_too_long": "内容过长",
    "too_precise": "金额最多两位小数（分为最小单位）",
    "not_an_amount": "应为金额（元，数字或数字文本）",
    "amounts_disagree": "{field} 与 {other} 金额不一致，请只给出其中一个",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
}


def _filled(template: str, context: dict[str, Any]) -> str:
    try:
        return template.format(**context)
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].rstrip("：: ") or template


def describe(error: dict[str, Any], *, english: bool) -> str:
    """One pydantic error's message, in Chinese or in English."""
    context = error.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, InputError):
        return cause.en if english else cause.zh
    kind = str(error.get("type", ""))
    if english:
        message = str(error.get("msg", ""))
        return message.removeprefix("Value error, ")
    if kind == "value_error" and isinstance(cause, ValueError) and _chinese(str(cause)):
        return str(cause)
    return _filled(ZH.get(kind, "格式不正确"), context)


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
