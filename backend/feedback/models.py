"""Complaints (投诉): a low rating or a complaint opens a case the provider must answer by a deadline.

A case not answered in time is escalated to the bureau (once, by the scheduler's sweep).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index, required_timestamp_field, timestamp_field


class ComplaintSource(StrEnum):
    rating = "rating"  # a low rating after the visit
    complaint = "complaint"  # said by the elder, their family, or to an operator


class ComplaintStatus(StrEnum):
    open = "open"
    answered = "answered"  # the provider has replied
    escalated = "escalated"  # no reply in time: the bureau takes it up
    resolved = "resolved"


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"
    __table_args__ = (partial_index("ix_complaint_open_due", "due_at", where="status = 'open'"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    elder_id: int = Field(foreign_key="elder.id")
    provider_id: int = Field(foreign_key="provider.id", index=True)
    source: str = Field(max_length=16)
    text: str = Field(max_length=1000)
    status: str = Field(default=ComplaintStatus.open, max_length=16)
    by: str = Field(max_length=64)
    due_at: datetime = required_timestamp_field()  # the provider's deadline to answer
    created_at: datetime = created_at_field()
    answer: str | None = Field(default=None, max_length=1000)
    answered_at: datetime | None = timestamp_field()
    answered_by: str | None = Field(default=None, max_length=64)
    escalated_at: datetime | None = timestamp_field()
    resolved_at: datetime | None = timestamp_field()
    resolved_by: str | None = Field(default=None, max_length=64)
    resolution: str | None = Field(default=None, max_length=1000)
