"""Passwords (argon2) and access tokens (JWT)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Unauthorized

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """True when the password matches its hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(settings: Settings, *, user_id: int, role: str) -> str:
    """A signed bearer token for the user."""
    now = utcnow()
    payload = {
        "sub": str(user_id),
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
    }
    assert settings.secret_key, "the runtime resolves the signing key at start"
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> int:
    """The user id in a valid token, or Unauthorized."""
    return int(_claims(settings, token)["sub"])


def token_seconds_left(settings: Settings, token: str) -> float:
    """How long a valid token stays valid."""
    return float(_claims(settings, token)["exp"]) - utcnow().timestamp()


def _claims(settings: Settings, token: str) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = jwt.decode(
            token, settings.secret_key or "", algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
        int(payload["sub"])
        return payload
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise Unauthorized(
            "登录已失效，请重新登录", code="invalid_token", message_en="Invalid or expired token"
        ) from exc
