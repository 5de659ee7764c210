"""The escalation ladder of an emergency order: who is tried next, and when.

Each step has its own timer (``due_at``), swept from the database by the scheduler, so a restarted
process loses no step. A step ends ``done`` when someone acts during it, ``expired`` when its timer ran
out (the next step begins), or ``stopped`` when the ladder ended before it began.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.models import partial_index, timestamp_field


class StepCode(StrEnum):
    operator_callback = "operator_callback"  # 话务员回拨老人
    family = "family"  # 通知家属
    community_staff = "community_staff"  # 社区工作人员上门
    caregiver = "caregiver"  # 最近的助急护理员
    public_emergency = "public_emergency"  # 拨打 120/110（由话务员执行并确认）


class StepStatus(StrEnum):
    waiting = "waiting"
    active = "active"
    done = "done"
    expired = "expired"
    stopped = "stopped"


class LadderStep(SQLModel, table=True):
    __tablename__ = "ladder_step"
    __table_args__ = (
        UniqueConstraint("request_id", "position", name="uq_ladder_step_position"),
        partial_index("ix_ladder_step_active_due", "due_at", where="status = 'active'"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    position: int
    code: str = Field(max_length=32)
    seconds: int  # the step's timer; 0: it stays until someone acts
    status: str = Field(default=StepStatus.waiting, max_length=16)
    started_at: datetime | None = timestamp_field()
    due_at: datetime | None = timestamp_field()
    ended_at: datetime | None = timestamp_field()
    acted_by: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=500)
