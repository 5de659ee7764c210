"""Passwords (argon2) and access tokens (JWT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Unauthorized
from backend.core.schemas import MAX_ID

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


@dataclass(frozen=True)
class TokenClaims:
    """What a valid access token says: whose, which generation of their sign-ins, since when, until when."""

    user_id: int
    version: int  # the account's token version when it was issued: a newer one ends this token
    auth_time: int  # when the person signed in with their password (renewals keep it)
    expires: int


def create_access_token(
    settings: Settings, *, user_id: int, role: str, version: int, auth_time: int | None = None
) -> str:
    """A signed bearer token for the user, short-lived (``access_token_minutes``), renewable while in use."""
    now = utcnow()
    payload = {
        "sub": str(user_id),
        "role": role,
        "ver": version,
        "iat": int(now.timestamp()),
        "auth_time": auth_time if auth_time is not None else int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
    }
    assert settings.secret_key, "the runtime resolves the signing key at start"
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> TokenClaims:
    """The claims of a valid token, or 401 ``invalid_token``."""
    try:
        payload: dict[str, Any] = jwt.decode(
            token[:4096], settings.secret_key or "", algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
        sub = str(payload["sub"])
        if not (sub.isascii() and sub.isdigit() and len(sub) <= 10 and 1 <= int(sub) <= MAX_ID):
            raise ValueError("subject out of range")
        return TokenClaims(
            user_id=int(sub),
            version=int(payload.get("ver", 0)),
            auth_time=int(payload.get("auth_time", payload.get("iat", 0))),
            expires=int(payload["exp"]),
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError, OverflowError) as exc:
        raise Unauthorized(
            "登录已失效，请重新登录", code="invalid_token", message_en="Invalid or expired token"
        ) from exc


def token_seconds_left(claims: TokenClaims) -> float:
    """How long a valid token stays valid."""
    return float(claims.expires) - utcnow().timestamp()
