"""Payloads of the emergency routes: the ladder's rungs, acting on it, and the elder's SOS."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from backend.core.schemas import Body


class LadderEntry(BaseModel):
    """A rung of an emergency's escalation ladder: when it ran, how it ended, who acted."""

    code: str
    status: str
    started_at: datetime | None
    due_at: datetime | None
    ended_at: datetime | None
    acted_by: str | None
    note: str | None


class StepPublic(LadderEntry):
    """A rung as the ladder's own route shows it: its place, its clock and what it asks for."""

    position: int
    seconds: int
    message: str


class Answer(StrEnum):
    """What a family member tells the platform once the ladder has reached them."""

    reached_elder = "reached_elder"  # 我已联系上老人
    on_my_way = "on_my_way"  # 我正在赶去


class ActBody(Body):
    note: str | None = Field(default=None, max_length=500, description="e.g. 已联系上老人 / 已上门 / 已拨打120")
    answer: Answer | None = Field(
        default=None,
        description="a family member's answer at the family rung: reached_elder (我已联系上老人) or on_my_way "
        "(我正在赶去); the note, when none is given",
    )


class SosBody(Body):
    note: str | None = Field(default=None, max_length=200, description="what she can say: 摔倒了 / 胸口痛 …")


class SosResult(BaseModel):
    request_id: int  # her emergency order: a new one, or the one still open that this press joined
    absorbed: bool  # true: an emergency of hers was already open; this press joined it
