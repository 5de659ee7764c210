"""Key rotation: re-seal every stored ID and phone number under the current data key, and rebuild the blind
indexes after the blind-index key changed.

Rotation is done in batches, each its own transaction, so it can run beside the live platform and be resumed:
a value already sealed under the current key is skipped. Old keys stay in ``ELDERCARE_DATA_KEYS`` (after the new
one) until this has run; then they can go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, func, select, type_coerce, update
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col

from backend.core.crypto import keyring
from backend.core.runtime import Runtime
from backend.devices.models import Device
from backend.families.models import FamilyMember
from backend.notifications.models import Notification
from backend.registry.models import ELDER_ID_NUMBER, ELDER_PHONE, Caregiver, Elder

BATCH = 500


@dataclass(frozen=True)
class SealedColumn:
    model: Any
    attribute: str

    @property
    def label(self) -> str:
        return f"{self.model.__tablename__}.{self.attribute}"


SEALED_COLUMNS = (
    SealedColumn(Elder, "id_number"),
    SealedColumn(Elder, "phone"),
    SealedColumn(Caregiver, "phone"),
    SealedColumn(FamilyMember, "phone"),
    SealedColumn(Notification, "phone"),
    SealedColumn(Device, "sim"),
)


def _stale(column: SealedColumn, current: str) -> Any:
    """Rows of the column not sealed under the current key (compared as stored, without opening them)."""
    stored = type_coerce(getattr(column.model, column.attribute), String)
    return stored.is_not(None) & ~stored.startswith(f"{current}:")


async def count_stale(runtime: Runtime) -> dict[str, int]:
    """How many values of each sealed column are still under an older key."""
    current = keyring().current
    out = {}
    async with runtime.sessions() as session:
        for column in SEALED_COLUMNS:
            out[column.label] = int(
                await session.scalar(select(func.count()).select_from(column.model).where(_stale(column, current))) or 0
            )
    return out


async def reseal(runtime: Runtime, *, progress: Callable[[str, int], None] | None = None) -> int:
    """Re-seal every value under the current data key, a batch per transaction; how many were re-sealed."""
    current = keyring().current
    done = 0
    for column in SEALED_COLUMNS:
        ident = col(column.model.id)
        while True:
            async with runtime.unit_of_work() as session:
                rows = (
                    (
                        await session.execute(
                            select(column.model).where(_stale(column, current)).order_by(ident).limit(BATCH)
                        )
                    )
                    .scalars()
                    .all()
                )
                for row in rows:
                    flag_modified(row, column.attribute)  # written again: sealed under the current key
            if not rows:
                break
            done += len(rows)
            if progress is not None:
                progress(column.label, len(rows))
    return done


async def reindex(runtime: Runtime, *, progress: Callable[[str, int], None] | None = None) -> int:
    """Recompute the elders' blind indexes under the configured blind-index key; how many elders."""
    keys = keyring()
    done, last = 0, 0
    while True:
        async with runtime.unit_of_work() as session:
            rows = (
                (await session.execute(select(Elder).where(col(Elder.id) > last).order_by(col(Elder.id)).limit(BATCH)))
                .scalars()
                .all()
            )
            for elder in rows:
                await session.execute(
                    update(Elder)
                    .where(col(Elder.id) == elder.id)
                    .values(
                        id_number_index=keys.blind(elder.id_number, context=ELDER_ID_NUMBER),
                        phone_index=keys.blind(elder.phone, context=ELDER_PHONE),
                    )
                )
        if not rows:
            return done
        last = rows[-1].id or last
        done += len(rows)
        if progress is not None:
            progress("elder.indexes", len(rows))
