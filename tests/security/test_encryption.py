"""ID and phone numbers are sealed at rest (AES-GCM, keys from configuration), found again by keyed blind
indexes; existing rows are sealed by the migration; keys rotate with a command."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest
from alembic.config import Config
from pydantic import ValidationError
from sqlmodel import col, select

from alembic import command
from backend.core.config import Settings
from backend.core.crypto import CryptoKeyError, Keyring, new_key, parse_index_key, parse_keys
from backend.core.paging import Page
from backend.core.runtime import Runtime
from backend.registry import service as registry
from backend.registry.models import Elder
from backend.registry.schemas import ElderCreate
from tests.client import id_number, unique_phone
from tests.infra import ROOT, TEST_DATA_KEYS, TEST_INDEX_KEY, platform_env, private_database, run_cli


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


async def test_numbers_are_stored_sealed_and_still_found(stack, admin, make_world, database_url: str) -> None:
    world = await make_world()
    elder = world.elders[0]
    raw_id = (await admin.ok("GET", f"/api/v1/elders/{elder['id']}"))["id_number"]
    serial = f"ENC-{uuid.uuid4().hex[:8]}"
    await admin.ok(
        "POST", "/api/v1/devices", {"elder_id": elder["id"], "serial": serial, "model": "x", "sim": "14400123456"}, 201
    )
    await admin.ok(
        "POST",
        f"/api/v1/elders/{elder['id']}/family",
        {"name": "王丽", "phone": "13912345678", "relation": "女儿"},
        201,
    )
    with psycopg.connect(_plain(database_url)) as conn:
        stored = conn.execute(
            "SELECT id_number, phone, id_number_index, phone_index FROM elder WHERE id = %s", (elder["id"],)
        ).fetchone()
        caregiver = conn.execute("SELECT phone FROM caregiver WHERE id = %s", (world.caregivers[0]["id"],)).fetchone()
        family = conn.execute("SELECT phone FROM family_member WHERE elder_id = %s", (elder["id"],)).fetchone()
        sim = conn.execute("SELECT sim FROM device WHERE serial = %s", (serial,)).fetchone()
    assert stored is not None and caregiver is not None and family is not None and sim is not None
    sealed = [stored[0], stored[1], caregiver[0], family[0], sim[0]]
    assert all(value.startswith("t1:") for value in sealed), sealed
    plain = [raw_id, elder["raw_phone"], world.caregivers[0]["phone"], "13912345678", "14400123456"]
    assert not any(p.removeprefix("+86") in value for p in plain for value in sealed)
    assert len(stored[2]) == len(stored[3]) == 32 and raw_id not in stored[2]
    # Found again by the blind index: the hotline's lookup by phone works as before.
    found = await admin.ok("GET", f"/api/v1/elders?phone={elder['raw_phone']}")
    assert [f["id"] for f in found] == [elder["id"]] and found[0]["phone"].endswith(elder["raw_phone"][-4:])


def test_a_sealed_value_opens_only_in_its_own_column_and_with_its_own_keys() -> None:
    keys = Keyring(tuple(parse_keys(TEST_DATA_KEYS)), parse_index_key(TEST_INDEX_KEY))
    sealed = keys.seal("320502194503021234", context="elder.id_number")
    assert keys.open(sealed, context="elder.id_number") == "320502194503021234"
    assert sealed != keys.seal("320502194503021234", context="elder.id_number")  # a fresh nonce every time
    with pytest.raises(CryptoKeyError):
        keys.open(sealed, context="elder.phone")  # moved to another column: it does not open
    stranger = Keyring(tuple(parse_keys(f"t1:{new_key()}")), parse_index_key(new_key()))
    with pytest.raises(CryptoKeyError):
        stranger.open(sealed, context="elder.id_number")
    assert keys.blind("x", context="elder.phone") == keys.blind("x", context="elder.phone")
    assert keys.blind("x", context="elder.phone") != stranger.blind("x", context="elder.phone")
    with pytest.raises(ValidationError):
        Settings(environment="production", secret_key="s" * 40, data_keys=None, blind_index_key=None)
    with pytest.raises(ValidationError):
        Settings(data_keys="t1:not-a-key")
    with pytest.raises(ValidationError):
        Settings(environment="production", secret_key=None, data_keys=TEST_DATA_KEYS, blind_index_key=TEST_INDEX_KEY)


async def test_existing_rows_are_sealed_by_the_migration_and_keys_rotate() -> None:
    with private_database() as url:
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["url"] = url.replace("+asyncpg", "+psycopg")
        config.attributes["configure_logging"] = False
        command.upgrade(config, "5a0d1e7c93b2")  # the schema before numbers were sealed
        number, phone = id_number(born="19400101"), "+86" + unique_phone()
        with psycopg.connect(_plain(url)) as conn:
            (district,) = conn.execute(
                "INSERT INTO district (code, name, kind, lat, lon) VALUES ('D1', '区', 'district', 31.3, 120.6) "
                "RETURNING id"
            ).fetchone() or (None,)
            (street,) = conn.execute(
                "INSERT INTO street (district_id, code, name, kind, lat, lon) "
                "VALUES (%s, 'S1', '街', 'street', 31.3, 120.6) RETURNING id",
                (district,),
            ).fetchone() or (None,)
            (community,) = conn.execute(
                "INSERT INTO community (street_id, district_id, code, name, kind, lat, lon) "
                "VALUES (%s, %s, 'C1', '社区', 'community', 31.3, 120.6) RETURNING id",
                (street, district),
            ).fetchone() or (None,)
            conn.execute(
                "INSERT INTO elder (name, id_number, phone, community_id, address, lat, lon, gender, created_at) "
                "VALUES ('老人', %s, %s, %s, '路', 31.3, 120.6, 'female', now())",
                (number, phone, community),
            )
        command.upgrade(config, "head")
        with psycopg.connect(_plain(url)) as conn:
            row = conn.execute("SELECT id_number, phone, birth_date FROM elder").fetchone()
        assert row is not None and row[0].startswith("t1:") and number not in row[0] and row[2] == dt.date(1940, 1, 1)

        settings = Settings(database_url=url, redis_url=None, environment="test")
        runtime = Runtime(settings, role="cli")
        try:
            async with runtime.sessions() as session:
                (elder,) = (await session.execute(select(Elder))).scalars().all()
            assert (elder.id_number, elder.phone) == (number, phone)
        finally:
            await runtime.stop()

        # A new data key first, the old one after it: rotate-keys re-seals everything under the new one; a new
        # blind-index key and --reindex: the lookup by phone still finds her.
        rotated_keys, index_key = f"t2:{new_key()},{TEST_DATA_KEYS}", new_key()
        env = platform_env(
            ELDERCARE_DATABASE_URL=url, ELDERCARE_DATA_KEYS=rotated_keys, ELDERCARE_BLIND_INDEX_KEY=index_key
        )
        printed = run_cli(env, "rotate-keys", "--reindex")
        assert "t2" in printed
        with psycopg.connect(_plain(url)) as conn:
            row = conn.execute("SELECT id_number, phone FROM elder").fetchone()
        assert row is not None and row[0].startswith("t2:") and row[1].startswith("t2:")
        runtime = Runtime(
            Settings(database_url=url, redis_url=None, data_keys=rotated_keys, blind_index_key=index_key), role="cli"
        )
        try:
            async with runtime.sessions() as session:
                admin_like = type("U", (), {"role": "admin"})()
                found = await registry.find_elders_by_phone(session=session, phone=phone, user=admin_like, page=Page())  # type: ignore[arg-type]
                assert [e.id_number for e in found] == [number]
                assert (await session.execute(select(Elder).where(col(Elder.birth_date) <= dt.date(1950, 1, 1)))).all()
        finally:
            await runtime.stop()
        assert ElderCreate  # the API's shape is unchanged: numbers in, numbers out
