"""Encryption at rest of resident ID numbers and phone numbers, and blind indexes to find them again.

Values are sealed with AES-256-GCM (``cryptography``) under the current data key, with a fresh 96-bit nonce and
the column's name as associated data (a value copied into another column does not open). A sealed value reads
``<key id>:<base64url(nonce + ciphertext)>``, so older keys keep opening what they sealed until
``eldercare rotate-keys`` has re-sealed everything under the current one.

Equality lookups (the hotline's caller lookup by phone, an elder by ID number) go through a keyed blind index:
HMAC-SHA256 of the normalised value under a key of its own, so the database can match without ever holding the
number.

Keys come from configuration (``ELDERCARE_DATA_KEYS``: ``id:base64key,…``, the first is current;
``ELDERCARE_BLIND_INDEX_KEY``), never from the database. Production refuses to start without them; elsewhere a
key file under ``var/`` is made on first use so that ``make run`` works on a laptop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from backend.core.config import REPO_ROOT, Settings

NONCE_BYTES = 12
KEY_BYTES = 32
DEV_KEY_FILE = REPO_ROOT / "var" / "secrets" / "data-keys.json"


class CryptoKeyError(ValueError):
    """The data keys are missing, malformed, or cannot open a stored value."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """A fresh random 256-bit key, base64url (for ``ELDERCARE_DATA_KEYS`` and ``ELDERCARE_BLIND_INDEX_KEY``)."""
    return _b64(secrets.token_bytes(KEY_BYTES))


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """``id:base64key,id:base64key`` → [(id, key)], the current one first; ValueError when malformed."""
    keys: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in text.split(",")):
        kid, sep, encoded = part.partition(":")
        if not sep or not kid.isalnum() or len(kid) > 16:
            raise CryptoKeyError("each data key is id:base64key, the id letters and digits (at most 16)")
        try:
            key = _unb64(encoded)
        except (binascii.Error, ValueError) as exc:
            raise CryptoKeyError(f"data key {kid} is not base64") from exc
        if len(key) != KEY_BYTES:
            raise CryptoKeyError(f"data key {kid} must be {KEY_BYTES} bytes")
        if kid in dict(keys):
            raise CryptoKeyError(f"data key id {kid} given twice")
        keys.append((kid, key))
    if not keys:
        raise CryptoKeyError("no data key given")
    return keys


def parse_index_key(text: str) -> bytes:
    """The blind-index key (base64url of 32 bytes); ValueError when malformed."""
    try:
        key = _unb64(text.strip())
    except (binascii.Error, ValueError) as exc:
        raise CryptoKeyError("the blind-index key is not base64") from exc
    if len(key) != KEY_BYTES:
        raise CryptoKeyError(f"the blind-index key must be {KEY_BYTES} bytes")
    return key


@dataclass(frozen=True)
class Keyring:
    """The data keys (current first) and the blind-index key."""

    keys: tuple[tuple[str, bytes], ...]
    index_key: bytes

    @property
    def current(self) -> str:
        """The id of the key new values are sealed with."""
        return self.keys[0][0]

    def seal(self, plaintext: str, *, context: str) -> str:
        """The value sealed under the current key, bound to ``context`` (the column)."""
        kid, key = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{kid}:{_b64(nonce + sealed)}"

    def open(self, stored: str, *, context: str) -> str:
        """The plaintext of a sealed value (CryptoKeyError when no key opens it)."""
        kid, sep, body = stored.partition(":")
        key = dict(self.keys).get(kid)
        if not sep or key is None:
            raise CryptoKeyError(f"no data key {kid!r} to open a stored value of {context}")
        raw = _unb64(body)
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except InvalidTag as exc:
            raise CryptoKeyError(f"a stored value of {context} does not open with key {kid}") from exc

    def blind(self, value: str, *, context: str) -> str:
        """The keyed blind index of a (normalised) value: 32 hex digits, the same for the same value."""
        digest = hmac.new(self.index_key, f"{context}\x00{value}".encode(), hashlib.sha256).hexdigest()
        return digest[:32]


def _dev_keyring() -> Keyring:
    """Outside production, with no keys configured: a key file under var/, made once (never the database)."""
    DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(DEV_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            json.dump({"data_keys": f"k1:{new_key()}", "blind_index_key": new_key()}, out)
    stored = json.loads(DEV_KEY_FILE.read_text())
    return Keyring(tuple(parse_keys(stored["data_keys"])), parse_index_key(stored["blind_index_key"]))


def keyring_for(settings: Settings) -> Keyring:
    """The configured keys; outside production, the development key file when none are configured."""
    if settings.data_keys and settings.blind_index_key:
        return Keyring(tuple(parse_keys(settings.data_keys)), parse_index_key(settings.blind_index_key))
    if settings.production:
        raise CryptoKeyError("production needs ELDERCARE_DATA_KEYS and ELDERCARE_BLIND_INDEX_KEY")
    return _dev_keyring()


_keyring: Keyring | None = None


def configure(settings: Settings) -> Keyring:
    """Make the settings' keys the process's keys (each process does this once, at start)."""
    global _keyring
    _keyring = keyring_for(settings)
    return _keyring


def keyring() -> Keyring:
    """The process's keys (the development key file when nobody configured any)."""
    global _keyring
    if _keyring is None:
        _keyring = _dev_keyring()
    return _keyring


def blind(value: str, *, context: str) -> str:
    """The blind index of a value with the process's keys."""
    return keyring().blind(value, context=context)


class Sealed(TypeDecorator[str]):
    """A text column stored sealed (AES-GCM) and read back in clear; ``context`` names the column."""

    impl = String(255)
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().seal(str(value), context=self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().open(str(value), context=self.context)
