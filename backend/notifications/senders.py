"""Senders of SMS and voice messages: a logged fake, and adapters for Aliyun SMS and Tencent Cloud SMS.

China's SMS providers send only templates registered with them in advance and a sign name (签名) they approved:
an adapter sends the provider's template code for the platform's template (``ELDERCARE_SMS_TEMPLATES``, e.g.
``{"visit_code": "SMS_123456", "visit_code.en": "SMS_123457"}``) and the message's parameters, signed as each
provider documents (Aliyun: RPC signature v1, HMAC-SHA1 over the sorted query; Tencent: TC3-HMAC-SHA256 over the
canonical request). A provider's refusal raises, and the message is retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import httpx

from backend.core.config import Settings
from backend.core.identity import mask_phone
from backend.notifications.templates import fields, without_codes

log = logging.getLogger("eldercare.notifications")


@dataclass(frozen=True)
class Message:
    """One message to one phone: its text (what the fake logs) and the template it was rendered from."""

    phone: str
    body: str
    template: str
    language: str
    params: dict[str, str] | None
    reference: str  # the platform's id of the message (Aliyun's OutId)


class Sender(Protocol):
    """Deliver one message; raise on failure (it is retried)."""

    async def send(self, message: Message) -> None: ...


class SmsRefused(Exception):
    """The provider did not accept the message (its code and words)."""


class LoggedFakeSender:
    """Writes each message to the log instead of a gateway (tests, demos, a deployment without one); one-time
    codes never reach the log (the queued message, ``GET /api/v1/elders/{id}/notifications``, shows them)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, message: Message) -> None:
        log.info("%s to %s: %s", self.channel, mask_phone(message.phone), without_codes(message.body))


class _Gateway:
    """What both providers' adapters share: the configured template code and the message's parameters."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        assert settings.sms_access_key_id and settings.sms_access_key_secret
        self.settings = settings
        self.key_id = settings.sms_access_key_id
        self.secret = settings.sms_access_key_secret.get_secret_value()
        self.client = client or httpx.AsyncClient(timeout=10)

    def template_code(self, message: Message) -> str:
        templates = self.settings.sms_templates
        code = templates.get(f"{message.template}.{message.language}") or templates.get(message.template)
        if not code:
            raise SmsRefused(f"no provider template registered for {message.template!r} (ELDERCARE_SMS_TEMPLATES)")
        return code

    @staticmethod
    def params(message: Message) -> dict[str, str]:
        if message.params is None:
            raise SmsRefused("the message was queued without its template's parameters")
        return message.params


def percent(value: str) -> str:
    """Aliyun's percent-encoding: RFC 3986 unreserved characters kept, everything else (space: %20) encoded."""
    return quote(value, safe="~")


def aliyun_signature(secret: str, params: dict[str, str], method: str = "GET") -> str:
    """Aliyun's RPC signature (v1): HMAC-SHA1 with ``secret&`` over ``METHOD&%2F&`` and the sorted, encoded query."""
    query = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent('/')}&{percent(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSms(_Gateway):
    """Aliyun SMS (阿里云短信服务) ``SendSms``, API version 2017-05-25."""

    async def send(self, message: Message) -> None:
        params = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": message.reference,
            "PhoneNumbers": message.phone,
            "RegionId": self.settings.sms_region or "cn-hangzhou",
            "SignName": self.settings.sms_sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code(message),
            "TemplateParam": json.dumps(self.params(message), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(self.secret, params)
        response = await self.client.get(self.settings.sms_endpoint or "https://dysmsapi.aliyuncs.com/", params=params)
        answer = response.json()
        if response.status_code != 200 or answer.get("Code") != "OK":
            raise SmsRefused(f"aliyun {answer.get('Code')}: {answer.get('Message')}")


def tc3_authorization(
    *, secret_id: str, secret_key: str, service: str, host: str, payload: str, timestamp: int, content_type: str
) -> str:
    """Tencent Cloud's TC3-HMAC-SHA256 ``Authorization`` for a POST of ``payload`` to ``host``'s ``/``."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload.encode()).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def sign(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing = sign(sign(sign(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


class TencentSms(_Gateway):
    """Tencent Cloud SMS (腾讯云短信) ``SendSms``, API version 2021-01-11 (positional template parameters)."""

    CONTENT_TYPE = "application/json; charset=utf-8"

    async def send(self, message: Message) -> None:
        assert self.settings.sms_sdk_app_id is not None
        given = self.params(message)
        body = json.dumps(
            {
                "PhoneNumberSet": [message.phone if message.phone.startswith("+") else f"+86{message.phone}"],
                "SmsSdkAppId": self.settings.sms_sdk_app_id,
                "SignName": self.settings.sms_sign_name,
                "TemplateId": self.template_code(message),
                "TemplateParamSet": [given[name] for name in fields(message.template) if name in given],
                "SessionContext": message.reference,
            },
            ensure_ascii=False,
        )
        endpoint = self.settings.sms_endpoint or "https://sms.tencentcloudapi.com/"
        host = httpx.URL(endpoint).host
        now = int(datetime.now(UTC).timestamp())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.key_id,
                secret_key=self.secret,
                service="sms",
                host=host,
                payload=body,
                timestamp=now,
                content_type=self.CONTENT_TYPE,
            ),
            "Content-Type": self.CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(now),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": self.settings.sms_region or "ap-guangzhou",
        }
        response = await self.client.post(endpoint, content=body.encode(), headers=headers)
        answer = response.json().get("Response", {})
        if "Error" in answer:
            raise SmsRefused(f"tencent {answer['Error'].get('Code')}: {answer['Error'].get('Message')}")
        statuses = answer.get("SendStatusSet") or [{}]
        if response.status_code != 200 or statuses[0].get("Code") != "Ok":
            raise SmsRefused(f"tencent {statuses[0].get('Code')}: {statuses[0].get('Message')}")


def senders(settings: Settings, client: httpx.AsyncClient | None = None) -> dict[str, Sender]:
    """The senders per channel for ``ELDERCARE_NOTIFY_SENDER``: SMS through the configured provider."""
    sms: Sender
    if settings.notify_sender == "aliyun":
        sms = AliyunSms(settings, client)
    elif settings.notify_sender == "tencent":
        sms = TencentSms(settings, client)
    else:
        sms = LoggedFakeSender("sms")
    return {"sms": sms, "voice": LoggedFakeSender("voice")}
