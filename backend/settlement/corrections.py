"""Locked visits: after check-out a visit changes only by an approved correction, and both versions stay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import CITYWIDE, caregiver_of
from backend.core.db import iso, utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.events import emit
from backend.core.i18n import LOCAL_TZ
from backend.core.lookups import insert_unique
from backend.core.paging import Page
from backend.orders.models import Visit
from backend.registry.models import Caregiver
from backend.settlement.models import CorrectionReason, CorrectionStatus, VisitCorrection
from backend.settlement.schemas import CorrectionCreate
from backend.users.models import Role, User

# What a correction may change, and how each field is shown in ``before``/``after``.
FIELDS = ("checkin_at", "checkout_at", "notes", "location_flagged")
SUPERVISORS = CITYWIDE  # the bureau's staff approve; never the provider that is paid for the visit


def snapshot(visit: Visit) -> dict[str, Any]:
    return {
        "checkin_at": iso(visit.checkin_at),
        "checkout_at": iso(visit.checkout_at) if visit.checkout_at else None,
        "notes": visit.notes,
        "location_flagged": visit.location_flagged,
    }


async def _locked_visit(session: AsyncSession, request_id: int) -> Visit:
    visit = (
        await session.execute(select(Visit).where(col(Visit.request_id) == request_id).with_for_update())
    ).scalar_one_or_none()
    if visit is None:
        raise NotFound("该工单没有上门记录", code="visit_not_found", message_en="The order has no visit")
    if visit.checkout_at is None:
        raise Conflict(
            "服务尚未签退，记录未锁定，无需更正", code="visit_not_locked", message_en="The visit is not checked out yet"
        )
    return visit


async def _may_ask(session: AsyncSession, user: User, visit: Visit) -> None:
    """The caregiver who made the visit, their provider's admin, or the bureau's staff."""
    if user.role in CITYWIDE:
        return
    caregiver = await session.get(Caregiver, visit.caregiver_id)
    assert caregiver is not None
    if user.role == Role.provider_admin and user.provider_id == caregiver.provider_id:
        return
    own = await caregiver_of(session, user)
    if own is not None and own.id == visit.caregiver_id:
        return
    raise Forbidden("无权更正该上门记录", code="out_of_scope", message_en="Not your visit")


def _proposed(visit: Visit, data: CorrectionCreate) -> dict[str, Any]:
    changes = data.model_dump(include=set(FIELDS), exclude_unset=True)
    if not changes:
        raise Invalid("请至少更正一项", code="nothing_to_correct", message_en="Nothing to correct")
    after = {**snapshot(visit)}
    for name, value in changes.items():
        if isinstance(value, datetime):  # times without a zone are Suzhou's
            value = iso(value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ))
        after[name] = value
    start = datetime.fromisoformat(after["checkin_at"])
    end = datetime.fromisoformat(after["checkout_at"])
    if end <= start:
        raise Invalid("签退时间必须晚于签到时间", code="invalid_times", message_en="checkout_at must follow checkin_at")
    if end > utcnow():
        raise Invalid("签退时间不能晚于现在", code="invalid_times", message_en="checkout_at is in the future")
    if changes.get("location_flagged") is False and data.reason_code != CorrectionReason.gps_error:
        raise Invalid(
            "解除定位标记须以定位偏差为由", code="reason_mismatch", message_en="Clearing a GPS flag needs gps_error"
        )
    if after == snapshot(visit):
        raise Invalid("更正内容与原记录相同", code="nothing_to_correct", message_en="Nothing would change")
    return after


async def ask(*, session: AsyncSession, user: User, request_id: int, data: CorrectionCreate) -> VisitCorrection:
    """Ask to correct a locked visit, with a reason code; 409 ``correction_pending`` while one waits."""
    visit = await _locked_visit(session, request_id)
    await _may_ask(session, user, visit)
    correction = VisitCorrection(
        visit_id=visit.id,  # type: ignore[arg-type]
        request_id=request_id,
        reason_code=data.reason_code.value,
        comment=data.comment,
        before=snapshot(visit),
        after=_proposed(visit, data),
        requested_by=user.actor,
        requested_by_user_id=user.id,  # type: ignore[arg-type]
    )
    waiting = Conflict(
        "该记录已有待审批的更正", code="correction_pending", message_en="A correction of this visit is pending"
    )
    correction = await insert_unique(session, correction, waiting)
    emit(session, "visit.correction", [f"request:{request_id}"], _event(correction))
    return correction


def _event(correction: VisitCorrection) -> dict[str, Any]:
    return {
        "correction_id": correction.id,
        "request_id": correction.request_id,
        "status": correction.status,
        "reason_code": correction.reason_code,
    }


async def decide(
    *, session: AsyncSession, user: User, correction_id: int, approve: bool, note: str | None
) -> VisitCorrection:
    """A supervisor approves (the visit takes the new values) or rejects a correction; not their own."""
    if user.role not in SUPERVISORS:
        raise Forbidden("仅主管（市级工作人员）可审批更正", code="role_forbidden", message_en="Supervisors only")
    correction = (
        await session.execute(select(VisitCorrection).where(col(VisitCorrection.id) == correction_id).with_for_update())
    ).scalar_one_or_none()
    if correction is None:
        raise NotFound("更正申请不存在", code="correction_not_found", message_en="Unknown correction")
    if correction.requested_by_user_id == user.id:
        raise Forbidden("不能审批自己提交的更正", code="own_correction", message_en="You asked for this correction")
    if correction.status != CorrectionStatus.pending:
        raise Conflict(f"该更正已{correction.status}", code="correction_decided", message_en="Already decided")
    visit = await session.get(Visit, correction.visit_id, with_for_update=True)
    assert visit is not None
    if approve:
        if snapshot(visit) != correction.before:  # changed by another correction since it was asked
            raise Conflict(
                "记录已被其他更正修改，请重新提交", code="visit_changed", message_en="The visit changed since"
            )
        visit.checkin_at = datetime.fromisoformat(correction.after["checkin_at"])
        visit.checkout_at = datetime.fromisoformat(correction.after["checkout_at"])
        visit.notes = correction.after["notes"]
        visit.location_flagged = correction.after["location_flagged"]
    correction.status = (CorrectionStatus.approved if approve else CorrectionStatus.rejected).value
    correction.decided_by, correction.decided_at, correction.decision_note = user.actor, utcnow(), note
    await session.flush()
    emit(session, "visit.correction", [f"request:{correction.request_id}"], _event(correction))
    return correction


async def of_request(*, session: AsyncSession, request_id: int) -> list[VisitCorrection]:
    rows = await session.execute(
        select(VisitCorrection).where(col(VisitCorrection.request_id) == request_id).order_by(col(VisitCorrection.id))
    )
    return list(rows.scalars())


async def pending(*, session: AsyncSession, user: User, page: Page) -> list[VisitCorrection]:
    """A page of the corrections waiting for a supervisor, oldest first."""
    if user.role not in SUPERVISORS:
        raise Forbidden("仅主管（市级工作人员）可查看待审批更正", code="role_forbidden", message_en="Supervisors only")
    query = select(VisitCorrection).where(col(VisitCorrection.status) == CorrectionStatus.pending.value)
    return await page.scalars(session, query.order_by(col(VisitCorrection.id)))
