"""A lease in the database: which of several like processes leads (the schedulers: one enqueues, the rest wait).

The holder renews its lease well before it runs out; a process that dies stops renewing, and another takes the
lease once it has run out. The database decides: taking or renewing is one conditional ``UPDATE`` (or the first
``INSERT``), so two processes never hold it at once. A holder stops leading when its own copy of the lease runs
out, counted from before it asked, so it never acts on a lease the database may already have given away.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Field, SQLModel, col

from backend.core.db import utcnow
from backend.core.models import required_timestamp_field

log = logging.getLogger(__name__)


class Lease(SQLModel, table=True):
    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=32)  # "scheduler"
    holder: str = Field(max_length=128)  # host:pid:random of the process that holds it
    acquired_at: datetime = required_timestamp_field()
    renewed_at: datetime = required_timestamp_field()
    expires_at: datetime = required_timestamp_field()


class Holder:
    """One process's claim on the lease ``name``: ``renew()`` every so often, act only while ``leading``."""

    def __init__(self, engine: Engine, name: str, holder: str, seconds: float) -> None:
        self.engine, self.name, self.holder, self.seconds = engine, name, holder, seconds
        self._until = 0.0  # monotonic time the lease runs out, by this process's count

    @property
    def leading(self) -> bool:
        return time.monotonic() < self._until

    def renew(self) -> bool:
        """Take or keep the lease; True when this process now leads (gained: see ``leading`` before)."""
        asked = time.monotonic()
        try:
            held = self._claim()
        except SQLAlchemyError:
            log.warning("lease %s: the database is unreachable; leading until the lease runs out", self.name)
            return self.leading
        if held:
            self._until = asked + self.seconds
        elif self._until:
            log.warning("lease %s: taken over by another process", self.name)
            self._until = 0.0
        return held

    def _claim(self) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=self.seconds)
        mine = col(Lease.holder) == self.holder
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(Lease)
                .where(col(Lease.name) == self.name, mine | (col(Lease.expires_at) < now))
                .values(
                    holder=self.holder,
                    renewed_at=now,
                    expires_at=until,
                    acquired_at=case((mine, col(Lease.acquired_at)), else_=now),
                )
            )
            if taken.rowcount == 1:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(Lease).values(
                        name=self.name, holder=self.holder, acquired_at=now, renewed_at=now, expires_at=until
                    )
                )
        except IntegrityError:  # somebody holds it, and it has not run out
            return False
        return True

    def release(self) -> None:
        """Give the lease up now (a clean stop): another process takes over at its next try."""
        self._until = 0.0
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(Lease)
                    .where(col(Lease.name) == self.name, col(Lease.holder) == self.holder)
                    .values(expires_at=utcnow())
                )
        except SQLAlchemyError:
            log.warning("lease %s: could not give it up; it runs out by itself", self.name)
