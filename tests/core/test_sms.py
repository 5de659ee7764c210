"""SMS through Aliyun and Tencent Cloud: their documented signatures, and a message sent to a local HTTP stub that
checks the signature as the provider would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import SecretStr, ValidationError

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.runtime import Runtime
from backend.notifications import service
from backend.notifications.models import Notification, SendStatus
from backend.notifications.senders import aliyun_signature, senders, tc3_authorization
from backend.notifications.templates import fields, params, render
from tests.factories import elder_at_home, new_community

pytestmark = pytest.mark.unit

LATER = timedelta(days=1)


def test_aliyun_signature_matches_the_documented_example() -> None:
    # Aliyun's "签名机制" example for SendSms (AccessKeySecret testSecret).
    example = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature("testSecret", example) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_tencent_tc3_authorization_matches_the_documented_example() -> None:
    # Tencent Cloud's "签名方法 v3" example (CVM DescribeInstances; the keys as the documentation prints them).
    authorization = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload='{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
        timestamp=1551113065,
        content_type="application/json; charset=utf-8",
    )
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


def test_a_template_s_parameters_are_its_fields_in_the_order_the_chinese_text_names_them() -> None:
    assert fields("visit_code") == ["elder", "service", "code", "minutes"]
    data = {"elder": "王秀英", "service": "助浴", "code": "123456", "minutes": 10, "extra": "x"}
    assert params("visit_code", data) == {"elder": "王秀英", "service": "助浴", "code": "123456", "minutes": "10"}


def test_a_provider_without_its_keys_or_templates_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="ELDERCARE_SMS_ACCESS_KEY_ID"):
        Settings(notify_sender="aliyun", environment="test")
    with pytest.raises(ValidationError, match="ELDERCARE_SMS_SDK_APP_ID"):
        Settings(
            notify_sender="tencent",
            environment="test",
            sms_access_key_id="id",
            sms_access_key_secret=SecretStr("s"),
            sms_templates={"visit_code": "1"},
        )


class Stub:
    """A local HTTP server standing in for a provider: checks each request's signature, answers OK or refuses."""

    SECRET = "stub-secret"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.refuse = False
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # Aliyun: a signed query
                query = dict(parse_qsl(urlsplit(self.path).query))
                signature = query.pop("Signature")
                good = signature == aliyun_signature(Stub.SECRET, query)
                stub.requests.append({"provider": "aliyun", "query": query, "signed": good})
                answer = {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r1"}
                if not good:
                    answer = {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
                elif stub.refuse:
                    answer = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发小时级流控Permits:5"}
                self.answer(answer)

            def do_POST(self) -> None:  # Tencent: a signed JSON body
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                expected = tc3_authorization(
                    secret_id="stub-id",
                    secret_key=Stub.SECRET,
                    service="sms",
                    host=self.headers["Host"],
                    payload=body,
                    timestamp=int(self.headers["X-TC-Timestamp"]),
                    content_type=self.headers["Content-Type"],
                )
                good = self.headers["Authorization"] == expected
                stub.requests.append({"provider": "tencent", "body": json.loads(body), "signed": good, **self.headers})
                if not good:
                    self.answer({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "no"}}})
                else:
                    status = {"Code": "Ok", "Message": "send success", "SerialNo": "2645:1"}
                    self.answer({"Response": {"SendStatusSet": [status], "RequestId": "r2"}})

            def answer(self, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def stub() -> Iterator[Stub]:
    made = Stub()
    yield made
    made.server.shutdown()


def _settings(runtime: Runtime, provider: str, stub: Stub) -> Settings:
    return Settings(
        database_url=runtime.settings.database_url,
        redis_url=None,
        environment="test",
        notify_sender=provider,  # type: ignore[arg-type]
        sms_access_key_id="stub-id",
        sms_access_key_secret=SecretStr(Stub.SECRET),
        sms_sdk_app_id="1400000001",
        sms_templates={"visit_code": "SMS_VISIT_CODE", "visit_code.en": "SMS_VISIT_CODE_EN"},
        sms_endpoint=stub.url,
    )


async def _queued_code(runtime: Runtime, language: str = "zh") -> int:
    async with runtime.unit_of_work() as session:
        elder = elder_at_home(await new_community(session))
        session.add(elder)
        await session.flush()
        data = {"elder": "王秀英", "service": "助浴", "code": "482913", "minutes": 10}
        note = await service.send_sms(
            session,
            elder_id=elder.id,
            phone="13900001111",
            template="visit_code",
            language=language,
            data=data,  # type: ignore[arg-type]
        )
        assert note.id is not None
        note.next_attempt_at = utcnow() + LATER  # kept from any running stack's own worker on this database
        return note.id


async def _send(runtime: Runtime, settings: Settings, note_id: int) -> Notification:
    async with runtime.unit_of_work() as session:
        await service.send_one(session, senders(settings), note_id, utcnow() + LATER)
    async with runtime.sessions() as session:
        note = await session.get(Notification, note_id)
        assert note is not None
        return note


async def test_a_confirmation_code_goes_through_aliyun_as_its_template_signed(runtime: Runtime, stub: Stub) -> None:
    note_id = await _queued_code(runtime)
    sent = await _send(runtime, _settings(runtime, "aliyun", stub), note_id)
    assert sent.status == SendStatus.sent.value and sent.error is None
    [request] = stub.requests
    query = request["query"]
    assert request["signed"] and query["Action"] == "SendSms" and query["PhoneNumbers"] == "13900001111"
    assert (query["SignName"], query["TemplateCode"]) == ("苏州虚拟养老", "SMS_VISIT_CODE")
    assert query["OutId"] == str(note_id)
    filled = {"elder": "王秀英", "service": "助浴", "code": "482913", "minutes": "10"}
    assert json.loads(query["TemplateParam"]) == filled
    # The provider refuses the next one (a rate limit): kept, retried later with the provider's words.
    stub.refuse = True
    again = await _send(runtime, _settings(runtime, "aliyun", stub), await _queued_code(runtime))
    assert again.status == SendStatus.pending.value and again.attempts == 1
    assert again.error is not None and "isv.BUSINESS_LIMIT_CONTROL" in again.error
    assert again.next_attempt_at is not None and again.next_attempt_at > utcnow() + LATER


async def test_tencent_gets_positional_parameters_and_the_english_template(runtime: Runtime, stub: Stub) -> None:
    note_id = await _queued_code(runtime, language="en")
    sent = await _send(runtime, _settings(runtime, "tencent", stub), note_id)
    assert sent.status == SendStatus.sent.value
    [request] = stub.requests
    body = request["body"]
    assert request["signed"] and request["X-TC-Action"] == "SendSms" and request["X-TC-Version"] == "2021-01-11"
    assert body["PhoneNumberSet"] == ["+8613900001111"] and body["SmsSdkAppId"] == "1400000001"
    assert (body["TemplateId"], body["SignName"]) == ("SMS_VISIT_CODE_EN", "苏州虚拟养老")
    assert body["TemplateParamSet"] == ["王秀英", "助浴", "482913", "10"]  # {1} {2} {3} {4}, as the text names them
    # A wrong key: the provider says the signature failed; nothing is marked sent.
    wrong = _settings(runtime, "tencent", stub).model_copy(update={"sms_access_key_secret": SecretStr("leaked")})
    refused = await _send(runtime, wrong, await _queued_code(runtime))
    assert refused.status == SendStatus.pending.value and "AuthFailure.SignatureFailure" in (refused.error or "")


def test_an_english_message_names_the_service_in_english_and_a_chinese_one_in_chinese() -> None:
    data = {"elder": "朱荣生", "service": {"zh": "助餐", "en": "Meal assistance"}, "time": "10:30", "caregiver": "王芳"}
    english = render("visit_completed", "en", data)
    assert "朱荣生's Meal assistance visit" in english and "助餐" not in english
    assert "朱荣生的助餐服务" in render("visit_completed", "zh", data)
    assert params("visit_completed", data, "en")["service"] == "Meal assistance"
    assert params("visit_completed", data)["service"] == "助餐"
