"""How a policy shows where others need it."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from backend.policies.models import Scheme


class CoverPublic(BaseModel):
    """The policy that covers someone on a day, in short (the operator's screen, an offer's explanation)."""

    policy_id: int
    scheme: Scheme
    insurer: str
    number: str
    ends_on: date
