"""Families (家属): people an elder names, who may follow their orders and are told when it matters.

What each may see and hear is the elder's consent, per family member: whether they see the orders live,
and whether they are told of emergencies and of finished visits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.crypto import Sealed
from backend.core.models import created_at_field


class FamilyMember(SQLModel, table=True):
    __tablename__ = "family_member"
    __table_args__ = (UniqueConstraint("elder_id", "user_id", name="uq_family_member_account"),)

    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)  # their own account
    name: str = Field(max_length=64)
    phone: str = Field(sa_column=Column(Sealed("family_member.phone"), nullable=False))  # E.164, sealed at rest
    relation: str = Field(max_length=16)  # 子女, 配偶, 孙辈, 亲属, 邻居…
    language: str = Field(default="zh", max_length=8)  # of their notifications: zh | en
    see_orders: bool = True  # may follow the elder's orders (the elder's channel)
    # May act for the elder (change her wishes, block caregivers, order, cancel): off unless she grants it.
    act_for_elder: bool = False
    notify_emergency: bool = True
    notify_visits: bool = True
    created_at: datetime = created_at_field()
