"""Message templates, Simplified Chinese first, English available (a family member's language)."""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, str]] = {
    "emergency": {
        "zh": "【苏州虚拟养老】{elder}于{time}发出紧急呼叫，平台正在处置（工单{request_id}）。"
        "如您在附近，请尽快前往查看。",
        "en": "[Suzhou Virtual Elder Care] {elder} raised an emergency call at {time}; the platform is handling it "
        "(order {request_id}). If you are nearby, please go and check.",
    },
    "visit_completed": {
        "zh": "【苏州虚拟养老】{elder}的{service}服务已于{time}完成，护理员：{caregiver}。",
        "en": "[Suzhou Virtual Elder Care] {elder}'s {service} visit finished at {time}; caregiver: {caregiver}.",
    },
}


def render(template: str, language: str, data: dict[str, Any]) -> str:
    """The message in the language (Chinese when the template has no such language)."""
    texts = TEMPLATES[template]
    return texts.get(language, texts["zh"]).format(**data)
