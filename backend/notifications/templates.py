"""Message templates, Simplified Chinese first, English available (a family member's language)."""

from __future__ import annotations

import re
from string import Formatter
from typing import Any

TEMPLATES: dict[str, dict[str, str]] = {
    "emergency": {
        "zh": "【苏州虚拟养老】{elder}于{time}发出紧急呼叫，平台正在处置（工单{request_id}）。"
        "如您在附近，请尽快前往查看。",
        "en": "[Suzhou Virtual Elder Care] {elder} raised an emergency call at {time}; the platform is handling it "
        "(order {request_id}). If you are nearby, please go and check.",
    },
    "visit_code": {
        "zh": "【苏州虚拟养老】{elder}的{service}服务确认码：{code}，{minutes}分钟内有效。"
        "服务完成后请告知护理员；如未接受服务，请勿告知他人。",
        "en": "[Suzhou Virtual Elder Care] Confirmation code: {code} for {elder}'s {service} visit, valid for "
        "{minutes} minutes. Tell it to the caregiver once the service is done; never if it was not.",
    },
    "visit_completed": {
        "zh": "【苏州虚拟养老】{elder}的{service}服务已于{time}完成，护理员：{caregiver}。",
        "en": "[Suzhou Virtual Elder Care] {elder}'s {service} visit finished at {time}; caregiver: {caregiver}.",
    },
}


def _in(language: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data in the language: a value given per language (``{"zh": "助餐", "en": "meal help"}``) becomes the
    language's own (Chinese when it has none), so an English message never carries a Chinese service name."""
    return {k: (v.get(language, v["zh"]) if isinstance(v, dict) else v) for k, v in data.items()}


def render(template: str, language: str, data: dict[str, Any]) -> str:
    """The message in the language (Chinese when the template has no such language)."""
    texts = TEMPLATES[template]
    return texts.get(language, texts["zh"]).format(**_in(language, data))


def fields(template: str) -> list[str]:
    """The template's fields in the order its Chinese text names them: an SMS provider's template parameters
    (named for Aliyun, positional for Tencent's {1}, {2}, …), registered with the same text."""
    names = [name for _, name, _, _ in Formatter().parse(TEMPLATES[template]["zh"]) if name]
    return list(dict.fromkeys(names))


def params(template: str, data: dict[str, Any], language: str = "zh") -> dict[str, str]:
    """The template's fields of ``data`` in the language, as text (what a provider's template is filled with)."""
    data = _in(language, data)
    return {name: str(data[name]) for name in fields(template)}


# A one-time code inside a message (``确认码：123456``, ``code: 123456``): never written to a log.
_CODE = re.compile(r"(码|code)(\W{0,3})[0-9]{4,8}(?![0-9])", re.IGNORECASE)


def without_codes(body: str) -> str:
    """The message with its one-time codes starred out, for logs (the recipient gets the message whole)."""
    return _CODE.sub(lambda m: f"{m.group(1)}{m.group(2)}******", body)
