"""With no secrets configured, a deployment makes its own: one signing key for every process, no admin/admin."""

from __future__ import annotations

import jwt
import pytest

from backend.core.config import Settings
from backend.core.runtime import Runtime
from backend.core.security import create_access_token, decode_access_token, verify_password
from backend.users.models import User
from backend.users.service import ensure_admin
from tests.infra import migrated_database


async def test_processes_share_a_generated_signing_key_and_admin_gets_a_random_password() -> None:
    with migrated_database() as url:
        settings = Settings(database_url=url, redis_url=None, secret_key=None, admin_password=None)
        first, second = Runtime(settings, role="api"), Runtime(settings, role="api")
        try:
            await first.start()
            await second.start()
            key = first.settings.secret_key
            assert key and len(key) >= 48 and key == second.settings.secret_key
            token = create_access_token(first.settings, user_id=1, role="admin", version=0)
            assert decode_access_token(second.settings, token).user_id == 1
            with pytest.raises(jwt.InvalidSignatureError):  # the development placeholder signs nothing valid
                jwt.decode(jwt.encode({"sub": "1"}, "change-me", algorithm="HS256"), key, algorithms=["HS256"])

            async with first.unit_of_work() as session:
                generated = await ensure_admin(session=session, settings=first.settings)
            assert generated and generated != "admin"
            async with first.unit_of_work() as session:
                assert await ensure_admin(session=session, settings=first.settings) is None  # only once
                admin = (
                    await session.execute(User.__table__.select().where(User.__table__.c.username == "admin"))
                ).one()
            assert verify_password(generated, admin.password_hash) and not verify_password("admin", admin.password_hash)
        finally:
            await first.stop()
            await second.stop()


@pytest.mark.unit
def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="production", secret_key="change-me")
    real = "a-real-signing-key-of-more-than-32-characters"
    with pytest.raises(ValueError, match="ADMIN_PASSWORD"):
        Settings(environment="production", secret_key=real, admin_password="admin")
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="production")  # production never keeps its signing key in the database
    assert Settings(environment="production", secret_key=real).secret_key == real
