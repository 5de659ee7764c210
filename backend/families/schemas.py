"""Payloads of the family API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.core.input_errors import InputError
from backend.core.schemas import Body


class ConsentUpdate(Body):
    see_orders: bool | None = None
    act_for_elder: bool | None = None
    notify_emergency: bool | None = None
    notify_visits: bool | None = None
    language: Literal["zh", "en"] | None = None


class MemberCreate(Body):
    """A family member; ``username`` and ``password`` give them their own account (role ``family``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "王丽",
                    "phone": "13912345678",
                    "relation": "女儿",
                    "username": "wangli_family",
                    "password": "a-long-secret",
                    "notify_visits": False,
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=3, max_length=32)
    relation: str = Field(min_length=1, max_length=16)
    language: Literal["zh", "en"] = "zh"
    see_orders: bool = True
    act_for_elder: bool = False
    notify_emergency: bool = True
    notify_visits: bool = True
    username: str | None = Field(default=None, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str | None = Field(default=None, min_length=8, max_length=128)

    @model_validator(mode="after")
    def _account(self) -> MemberCreate:
        if (self.username is None) != (self.password is None):
            raise InputError(
                "开通账号须同时给出用户名和密码，或都不给", "give both username and password for an account, or neither"
            )
        return self


class MemberPublic(BaseModel):
    id: int
    elder_id: int
    user_id: int | None
    name: str
    phone: str
    relation: str
    language: str
    see_orders: bool
    act_for_elder: bool
    notify_emergency: bool
    notify_visits: bool
    created_at: datetime


class FollowedElder(BaseModel):
    """An elder a family account follows, as its app lists them: her name, and what she allows it."""

    elder_id: int
    elder_name: str
    member_id: int
    relation: str
    act_for_elder: bool  # may order and cancel for her (her separate consent)
