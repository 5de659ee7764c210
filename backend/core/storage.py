"""Where uploaded files are kept (proof of visits): a folder, or S3-compatible object storage.

One small interface, ``Storage``: ``put``, ``get`` and ``exists`` by key (a relative path such as
``proofs/<sha256>``). Both stores do their blocking I/O in a worker thread, never on the event loop. The local
store writes each file to a temporary name and renames it into place, so a reader never sees half a file; the
S3 store talks to any S3-compatible endpoint (``ELDERCARE_S3_ENDPOINT_URL``) with boto3. What a file is (its
content type, hash and owner) is kept in the database; the store only keeps bytes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from backend.core.config import Settings
from backend.core.errors import DomainError

log = logging.getLogger(__name__)
# A key: relative path segments of letters, digits, dots, dashes and underscores, none starting with a dot.
KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


class StorageMissing(LookupError):
    """No file under this key."""


class StorageUnavailable(DomainError):
    """The file store did not answer: 503, the request changes nothing and may be retried."""

    status_code = 503
    code = "storage_unavailable"

    def __init__(self) -> None:
        super().__init__("文件存储暂时不可用，请稍后重试", message_en="The file store is unavailable: try again later")


def checked_key(key: str) -> str:
    """The key, if it is a safe relative path (ValueError otherwise: never ``..``, never absolute)."""
    if len(key) > 512 or not KEY.fullmatch(key):
        raise ValueError(f"bad storage key {key[:80]!r}")
    return key


class Storage(Protocol):
    """A place for bytes by key."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Keep ``data`` under ``key`` (replacing what was there)."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under ``key`` (``StorageMissing`` when there are none)."""
        ...

    async def exists(self, key: str) -> bool:
        """True when something is kept under ``key``."""
        ...


class LocalStorage:
    """Files in a folder (``ELDERCARE_STORAGE_DIR``), readable by the platform's own user only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)  # atomic: readers see the old file or the whole new one
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StorageMissing(key) from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write the file atomically (a temporary file renamed into place)."""
        checked_key(key)
        try:
            await anyio.to_thread.run_sync(self._write, key, data)
        except OSError as exc:
            log.error("could not write %s to the file store: %s", key, exc)
            raise StorageUnavailable() from exc

    async def get(self, key: str) -> bytes:
        """The file's bytes."""
        try:
            return await anyio.to_thread.run_sync(self._read, key)
        except StorageMissing:
            raise
        except OSError as exc:
            log.error("could not read %s from the file store: %s", key, exc)
            raise StorageUnavailable() from exc

    async def exists(self, key: str) -> bool:
        """True when the file is there."""
        return await anyio.to_thread.run_sync(self._path(key).is_file)


class S3Storage:
    """Objects in a bucket of S3-compatible storage, through boto3 (its client is safe to share between threads)."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                # S3-compatible stores (MinIO and the like) address buckets by path; AWS by host name.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
        )

    @staticmethod
    def _missing(exc: Exception) -> bool:
        from botocore.exceptions import ClientError

        if not isinstance(exc, ClientError):
            return False
        error: Any = exc.response.get("Error", {})
        return str(error.get("Code", "")) in ("404", "NoSuchKey", "NotFound")

    async def _call(self, what: str, key: str, fn: Any, **kw: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await anyio.to_thread.run_sync(lambda: fn(Bucket=self.bucket, Key=checked_key(key), **kw))
        except (BotoCoreError, ClientError) as exc:
            if self._missing(exc):
                raise StorageMissing(key) from exc
            log.error("object storage refused to %s %s: %s", what, key, exc)
            raise StorageUnavailable() from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Upload the object (a PUT of S3 is atomic: the object appears whole, or not at all)."""
        await self._call("put", key, self.client.put_object, Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        """The object's bytes."""

        def read(**kw: Any) -> bytes:
            return bytes(self.client.get_object(**kw)["Body"].read())

        return bytes(await self._call("get", key, read))

    async def exists(self, key: str) -> bool:
        """True when the object is there."""
        try:
            await self._call("check", key, self.client.head_object)
        except StorageMissing:
            return False
        return True


def make_storage(settings: Settings) -> Storage:
    """The file store the settings name (``ELDERCARE_STORAGE_BACKEND``)."""
    if settings.storage_backend == "s3":
        assert settings.s3_bucket  # the settings refuse s3 without a bucket
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None,
        )
    return LocalStorage(settings.storage_dir)
