"""Proof of the visit, as government-purchased home care audits it: photos kept by their hash with the phone's time
and place, read only by supervisors; the elder's code by SMS confirms the check-out; a visit of a service that
requires proof is paid only with it; the file store works against S3-compatible storage too."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from pydantic import ValidationError
from sqlmodel import select

from backend.core.config import Settings
from backend.core.runtime import Runtime
from backend.core.storage import LocalStorage, S3Storage, StorageMissing, StorageUnavailable, make_storage
from backend.orders.models import ConfirmationCode
from scripts.make_app_icons import encode_png
from tests.client import Api, World, offer_for
from tests.e2e.test_families import family, sent
from tests.e2e.test_scoring import order
from tests.e2e.test_settlement import this_month
from tests.factories import proof_service

# The file store the stack uses (its environment names none): the default folder under var/.
STACK_STORE = LocalStorage(Settings.model_fields["storage_dir"].default)


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A real PNG image of one colour, made here (no imaging library needed)."""
    return encode_png(width, height, b"".join(b"\x00" + bytes(rgb) * width for _ in range(height)))


async def upload(
    phone: Api,
    request_id: int,
    kind: str,
    data: bytes,
    *,
    filename: str = "photo.png",
    content_type: str = "image/png",
    **fields: Any,
) -> httpx.Response:
    """The phone's multipart upload of one proof."""
    form = {"kind": kind, **{k: str(v) for k, v in fields.items()}}
    return await phone.http.post(
        f"/mobile/v1/requests/{request_id}/proofs", data=form, files={"file": (filename, data, content_type)}
    )


def _ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


async def _accepted(world: World, operator: Api, caregiver: dict[str, Any], elder: dict[str, Any], **extra: Any) -> int:
    rid = await order(operator, elder, paid_by="self", **extra)
    phone = caregiver["api"]
    await phone.ok("POST", f"/mobile/v1/offers/{(await offer_for(phone, rid))['id']}/accept")
    return rid


async def _arrive(phone: Api, world: World, rid: int) -> None:
    """En route 25 minutes ago, at the door 20 minutes ago (the phone's own times)."""
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/en-route", {"at": _ago(25)})
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-in", {**world.home, "at": _ago(20)})


async def test_an_arrival_photo_is_kept_by_its_hash_with_time_and_place_and_read_only_by_supervisors(
    stack, admin, make_world
) -> None:
    world = await make_world()
    caregiver, elder = world.caregivers[0], world.elders[0]
    phone = caregiver["api"]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    rid = await _accepted(world, operator, caregiver, elder)

    # At the door, before checking in: the photo with the phone's time and position.
    photo = png(rgb=(uuid.uuid4().int % 256, 90, 30))
    taken = _ago(1)
    first = await upload(phone, rid, "arrival_photo", photo, at=taken, lat=world.home["lat"], lon=world.home["lon"])
    assert first.status_code == 201, first.text
    proof = first.json()
    digest = hashlib.sha256(photo).hexdigest()
    assert (proof["kind"], proof["sha256"], proof["content_type"], proof["size_bytes"]) == (
        "arrival_photo",
        digest,
        "image/png",
        len(photo),
    )
    assert datetime.fromisoformat(proof["taken_at"]) == datetime.fromisoformat(taken)
    assert (proof["lat"], proof["lon"], proof["request_id"]) == (world.home["lat"], world.home["lon"], rid)
    assert proof["distance_m"] is not None and proof["distance_m"] < 5
    assert await STACK_STORE.get(f"proofs/{digest}") == photo  # kept by its content
    again = await upload(phone, rid, "arrival_photo", photo, filename="retry.png")
    assert again.status_code == 200 and again.json() == proof  # the same file again: the same record

    # Refused, and nothing kept: not an image (whatever the client calls it), too large, too early, half a place.
    fake = f"not a picture {uuid.uuid4()}".encode()
    refused = await upload(phone, rid, "arrival_photo", fake, filename="photo.png", content_type="image/png")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unsupported_file_type"
    big = png() + uuid.uuid4().bytes + b"\0" * (5 * 1_048_576)
    too_big = await upload(phone, rid, "arrival_photo", big)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "proof_too_large"
    early = await upload(phone, rid, "departure_photo", png(rgb=(1, 2, 3)))
    assert early.status_code == 409 and early.json()["error"]["code"] == "proof_not_allowed_now"
    half = await upload(phone, rid, "arrival_photo", png(rgb=(4, 5, 6)), lat=31.3)
    assert half.status_code == 422 and half.json()["error"]["code"] == "incomplete_location"
    odd = await upload(phone, rid, "selfie", png(rgb=(7, 8, 9)))
    assert odd.status_code == 422 and odd.json()["error"]["code"] == "validation_error"
    for data in (fake, big, png(rgb=(1, 2, 3)), png(rgb=(4, 5, 6)), png(rgb=(7, 8, 9))):
        assert not await STACK_STORE.exists(f"proofs/{hashlib.sha256(data).hexdigest()}")
    # Only the caregiver who holds the order uploads: not staff, not a stranger, not without a token.
    assert (await upload(operator, rid, "arrival_photo", png())).status_code == 403
    other = await make_world()
    assert (await upload(other.caregivers[0]["api"], rid, "arrival_photo", png())).status_code == 404
    anonymous = Api(stack.base_url)
    assert (await upload(anonymous, rid, "arrival_photo", png())).status_code == 401
    await anonymous.close()

    # The supervisors see the photo's record beside the visit, and the file itself.
    await _arrive(phone, world, rid)
    visit = (await operator.ok("GET", f"/api/v1/requests/{rid}"))["visit"]
    assert [(p["id"], p["kind"], p["sha256"]) for p in visit["proofs"]] == [(proof["id"], "arrival_photo", digest)]
    assert visit["confirmed_by"] is None and visit["proof_missing"] == []  # meal requires nothing here
    for reader in (admin, operator, staff, boss, phone):
        assert await reader.ok("GET", f"/api/v1/requests/{rid}/proofs") == [proof]
        content = await reader.get(f"/api/v1/requests/{rid}/proofs/{proof['id']}/content")
        assert content.status_code == 200 and content.content == photo
        assert content.headers["content-type"] == "image/png"
        assert content.headers["cache-control"] == "private, no-store"
        assert content.headers["x-content-type-options"] == "nosniff"
    assert hashlib.sha256(content.content).hexdigest() == proof["sha256"]
    # Not the elder's family (though they follow her orders), nor her own account, nor another provider.
    username = f"fam_{uuid.uuid4().hex[:8]}"
    await family(staff, elder, username=username)
    daughter = await Api.login(stack.base_url, username)
    herself = await world.user("elder", elder_id=elder["id"])
    stranger = await other.user("provider_admin", provider_id=other.provider["id"])
    assert (await daughter.get(f"/api/v1/requests/{rid}")).status_code == 200
    for outsider in (daughter, herself, stranger, other.caregivers[0]["api"]):
        for path in (f"/api/v1/requests/{rid}/proofs", f"/api/v1/requests/{rid}/proofs/{proof['id']}/content"):
            assert (await outsider.get(path)).status_code in (403, 404), path
    assert (await admin.get(f"/api/v1/requests/{rid}/proofs/{proof['id'] + 10**6}/content")).status_code == 404
    # Reading the proof is reading her file: in the audit trail.
    trail = await admin.ok("GET", f"/api/v1/audit-log?subject=elder:{elder['id']}&action=visit.proof_read")
    assert {row["actor_role"] for row in trail} >= {"admin", "operator", "community_staff", "provider_admin"}
    for closable in (daughter, herself, stranger, operator, staff, boss):
        await closable.close()


async def _code(staff: Api, elder_id: int, count: int, member_id: int | None = None) -> str:
    """The code in the ``count``-th confirmation SMS the fake sender sent (newest first)."""
    messages = [n for n in await sent(staff, elder_id, "visit_code", count) if n["family_member_id"] == member_id]
    found = re.search(r"确认码：([0-9]{6})", messages[0]["body"])
    assert found, messages[0]["body"]
    return found.group(1)


async def test_the_elders_code_by_sms_confirms_the_check_out_and_wrong_codes_are_counted(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world()
    caregiver, elder = world.caregivers[0], world.elders[0]
    phone = caregiver["api"]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    member = await family(staff, elder)
    rid = await _accepted(world, operator, caregiver, elder)
    early = await phone.post(f"/mobile/v1/requests/{rid}/confirmation-code")
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_in_service"
    await _arrive(phone, world, rid)

    # A code by SMS to the elder's phone: the answer says where (masked) and until when; only its hash is kept.
    told = await phone.ok("POST", f"/mobile/v1/requests/{rid}/confirmation-code")
    assert told["sent_to"] == f"{elder['raw_phone'][:3]}****{elder['raw_phone'][-4:]}"
    expires = datetime.fromisoformat(told["expires_at"])
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    code = await _code(staff, elder["id"], 1)
    async with runtime.sessions() as session:
        row = await session.get(ConfirmationCode, rid)
        assert row is not None and code not in row.code_hash and row.sent_to == told["sent_to"]
    worker_log = stack.processes["worker"].log()
    assert f"确认码：{code}" not in worker_log and "确认码：******" in worker_log  # the log never has it

    # A new code, to her daughter: it replaces the first.
    strangers = await family(staff, await world.add_elder())
    assert (
        await phone.post(f"/mobile/v1/requests/{rid}/confirmation-code", {"family_member_id": strangers["id"]})
    ).status_code == 404
    to_her = await phone.ok("POST", f"/mobile/v1/requests/{rid}/confirmation-code", {"family_member_id": member["id"]})
    assert to_her["sent_to"] == member["phone"]  # masked, as staff see it
    new = await _code(staff, elder["id"], 2, member_id=member["id"])
    if new != code:  # one chance in a million that they are the same
        stale = await phone.post(f"/mobile/v1/requests/{rid}/check-out", {"confirmation_code": code})
        assert stale.status_code == 422 and stale.json()["error"]["code"] == "bad_confirmation_code"
    short = await phone.post(f"/mobile/v1/requests/{rid}/check-out", {"confirmation_code": "12345"})
    assert short.status_code == 422 and short.json()["error"]["code"] == "validation_error"
    assert (await operator.ok("GET", f"/api/v1/requests/{rid}"))["status"] == "in_service"  # nothing changed
    done = await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {"confirmation_code": new, "notes": "已洗澡"})
    assert done["status"] == "completed"
    visit = (await operator.ok("GET", f"/api/v1/requests/{rid}"))["visit"]
    assert visit["confirmed_by"] == "code" and visit["confirmed_at"] is not None

    # Another visit: an expired code is refused; five wrong codes and even the right one is refused (429), but the
    # caregiver can always finish: the visit is then unconfirmed.
    rid2 = await _accepted(world, operator, caregiver, elder)
    await _arrive(phone, world, rid2)
    await phone.ok("POST", f"/mobile/v1/requests/{rid2}/confirmation-code")
    first = await _code(staff, elder["id"], 3)
    async with runtime.unit_of_work() as session:
        row = (await session.execute(select(ConfirmationCode).where(ConfirmationCode.request_id == rid2))).scalar_one()
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    expired = await phone.post(f"/mobile/v1/requests/{rid2}/check-out", {"confirmation_code": first})
    assert expired.status_code == 422 and expired.json()["error"]["code"] == "confirmation_code_expired"
    await phone.ok("POST", f"/mobile/v1/requests/{rid2}/confirmation-code")
    right = await _code(staff, elder["id"], 4)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        guess = await phone.post(f"/mobile/v1/requests/{rid2}/check-out", {"confirmation_code": wrong})
        assert guess.status_code == 422 and guess.json()["error"]["code"] == "bad_confirmation_code"
    locked = await phone.post(f"/mobile/v1/requests/{rid2}/check-out", {"confirmation_code": right})
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_attempts"
    assert int(locked.headers["retry-after"]) > 0
    finished = await phone.ok("POST", f"/mobile/v1/requests/{rid2}/check-out", {})
    assert finished["status"] == "completed" and finished["visit"]["confirmed_by"] is None
    for closable in (operator, staff):
        await closable.close()


async def test_a_visit_without_the_proof_its_service_requires_is_finished_but_not_paid(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world()
    caregiver, elder = world.caregivers[0], world.elders[0]
    phone = caregiver["api"]
    operator = await world.user("operator")
    code = await proof_service(runtime, world)

    # The bureau says what proof the service needs (admins only); the catalogue shows it.
    every = {"required": ["confirmation", "arrival_photo", "departure_photo", "arrival_photo"]}
    assert (await operator.put(f"/api/v1/service-types/{code}/proof", every)).status_code == 403
    assert (await admin.put("/api/v1/service-types/nope_nope/proof", every)).status_code == 404
    assert (await admin.put(f"/api/v1/service-types/{code}/proof", {"required": ["selfie"]})).status_code == 422
    kind = await admin.ok("PUT", f"/api/v1/service-types/{code}/proof", every)
    assert kind["proof_required"] == ["arrival_photo", "departure_photo", "confirmation"]
    listed = {t["code"]: t for t in await operator.ok("GET", "/api/v1/service-types")}
    assert listed[code]["proof_required"] == kind["proof_required"] and listed["meal"]["proof_required"] == []

    # One visit with its photos and the elder's signature.
    proved = await _accepted(world, operator, caregiver, elder, service_type=code)
    arrival = (await upload(phone, proved, "arrival_photo", png(rgb=(10, 20, 30)))).json()
    await _arrive(phone, world, proved)
    departure = (await upload(phone, proved, "departure_photo", png(rgb=(40, 50, 60)))).json()
    signature = await upload(phone, proved, "signature", png(width=8, rgb=(0, 0, 0)))
    assert signature.status_code == 201, signature.text
    visit = (await phone.ok("POST", f"/mobile/v1/requests/{proved}/check-out", {}))["visit"]
    assert visit["confirmed_by"] == "signature" and visit["proof_missing"] == []
    assert [p["kind"] for p in visit["proofs"]] == ["arrival_photo", "departure_photo", "signature"]

    # One without any: the caregiver still checks out; the order says what is missing.
    bare = await _accepted(world, operator, caregiver, elder, service_type=code)
    await _arrive(phone, world, bare)
    visit = (await phone.ok("POST", f"/mobile/v1/requests/{bare}/check-out", {}))["visit"]
    assert visit["proof_missing"] == ["arrival_photo", "departure_photo", "confirmation"]
    assert (await operator.ok("GET", f"/api/v1/requests/{bare}"))["visit"]["proof_missing"] == visit["proof_missing"]

    # The month's statement pays the visit with its proof and leaves the other out as missing_proof.
    month = {"provider_id": world.provider["id"], "month": this_month()}
    statement = (await admin.ok("POST", "/api/v1/settlements/run", month))["settlement"]
    lines = {x["request_id"]: x for x in await admin.ok("GET", f"/api/v1/settlements/{statement['id']}/lines")}
    label = (
        f"arrival_photo:{arrival['sha256'][:8]} departure_photo:{departure['sha256'][:8]} "
        f"signature:{signature.json()['sha256'][:8]} confirmed:signature"
    )
    assert (lines[proved]["kind"], lines[proved]["reason"], lines[proved]["proof"]) == ("included", None, label)
    assert (lines[bare]["kind"], lines[bare]["reason"], lines[bare]["proof"]) == ("excluded", "missing_proof", None)
    exported = await admin.get(f"/api/v1/settlements/{statement['id']}/export?format=csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    column = rows[0].index("上门凭证")
    assert {row[0]: row[column] for row in rows[1:3]} == {str(proved): label, str(bare): ""}
    await operator.close()


@pytest.fixture(scope="module")
def s3_endpoint() -> Any:
    """A local S3-compatible endpoint (moto's server, in a thread: no network)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


async def test_the_file_store_round_trips_on_s3_compatible_storage_and_on_disk(s3_endpoint, tmp_path) -> None:
    keys = {"s3_access_key": "test-access", "s3_secret_key": "test-secret", "s3_region": "cn-east-1"}
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["s3_access_key"],
        aws_secret_access_key=keys["s3_secret_key"],
    ).create_bucket(Bucket="eldercare-proofs")
    settings = Settings(
        environment="test",
        storage_backend="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket="eldercare-proofs",
        **keys,  # type: ignore[arg-type]
    )
    assert "test-secret" not in repr(settings)  # a secret, never printed
    store = make_storage(settings)
    assert isinstance(store, S3Storage)
    photo = png(rgb=(9, 99, 199))
    key = f"proofs/{hashlib.sha256(photo).hexdigest()}"
    assert not await store.exists(key)
    await store.put(key, photo, "image/png")
    assert await store.exists(key) and await store.get(key) == photo
    head = store.client.head_object(Bucket="eldercare-proofs", Key=key)
    assert head["ContentType"] == "image/png" and head["ContentLength"] == len(photo)
    with pytest.raises(StorageMissing):
        await store.get("proofs/none")
    absent = S3Storage(bucket="no-such-bucket", endpoint_url=s3_endpoint, access_key="a", secret_key="b")
    with pytest.raises(StorageUnavailable):
        await absent.put(key, photo, "image/png")
    with pytest.raises(ValidationError):
        Settings(environment="test", storage_backend="s3")  # s3 without a bucket

    # On disk: written whole under the key (no temporary file left), never outside the folder.
    local = make_storage(Settings(environment="test", storage_dir=tmp_path / "store"))
    assert isinstance(local, LocalStorage)
    await local.put(key, photo, "image/png")
    await local.put(key, photo, "image/png")  # the same content again: still one file
    assert await local.get(key) == photo
    assert [p.name for p in (tmp_path / "store" / "proofs").iterdir()] == [key.split("/")[1]]
    for bad in ("../escape", "/etc/passwd", "proofs/../../x", ".hidden"):
        with pytest.raises(ValueError):
            await local.put(bad, photo, "image/png")
    with pytest.raises(StorageMissing):
        await local.get("proofs/none")
