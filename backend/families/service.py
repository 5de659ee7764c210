"""Family rules: the elder (or staff of their area) names family members and what each may see and hear."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.changes import access_changed
from backend.access.scope import ElderUse, check_elder
from backend.audit import service as audit
from backend.core.errors import Forbidden, Invalid, NotFound
from backend.core.paging import Page
from backend.families.models import FamilyMember
from backend.families.schemas import ConsentUpdate, FollowedElder, MemberCreate
from backend.registry.models import Elder
from backend.registry.service import phone_or_422
from backend.users.models import Role, User
from backend.users.service import add_user

MANAGERS = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value, Role.elder.value})


async def _managed(session: AsyncSession, user: User, elder_id: int) -> None:
    """The elder themself, or staff of their area (a family member neither adds others nor changes consents)."""
    if user.role not in MANAGERS:
        raise Forbidden("无权管理家属", code="role_forbidden", message_en="Your role may not manage family members")
    await check_elder(session, user, elder_id, ElderUse.private)


async def add_member(*, session: AsyncSession, user: User, elder_id: int, data: MemberCreate) -> FamilyMember:
    """Name a family member, with the elder's consent settings; with a username, their own account too."""
    await _managed(session, user, elder_id)
    phone = phone_or_422(data.phone)
    account = None
    if data.username and data.password:
        account = await add_user(
            session=session, username=data.username, password=data.password, role=Role.family, display_name=data.name
        )
    member = FamilyMember(
        elder_id=elder_id,
        user_id=account.id if account else None,
        phone=phone,
        **data.model_dump(exclude={"phone", "username", "password"}),
    )
    session.add(member)
    await session.flush()
    await audit.record(session, action="elder.family", subjects=audit.elders([elder_id]), fields=["family_member"])
    return member


async def followed_by(*, session: AsyncSession, user: User, page: Page) -> list[FollowedElder]:
    """A page of the elders who let this family account see their orders (the reads of their names audited)."""
    rows = await page.rows(
        session,
        select(FamilyMember, Elder.name)
        .join(Elder, col(Elder.id) == col(FamilyMember.elder_id))
        .where(col(FamilyMember.user_id) == user.id, col(FamilyMember.see_orders).is_(True))
        .order_by(col(FamilyMember.id)),
    )
    await audit.record_reads(session, action="elder.read", elder_ids=[m.elder_id for m, _ in rows])
    return [
        FollowedElder(
            elder_id=m.elder_id, elder_name=name, member_id=m.id, relation=m.relation, act_for_elder=m.act_for_elder
        )
        for m, name in rows
    ]


async def members_of(*, session: AsyncSession, user: User, elder_id: int) -> list[FamilyMember]:
    await check_elder(session, user, elder_id)
    rows = await session.execute(
        select(FamilyMember).where(col(FamilyMember.elder_id) == elder_id).order_by(col(FamilyMember.id))
    )
    return list(rows.scalars())


async def set_consent(
    *, session: AsyncSession, user: User, elder_id: int, member_id: int, data: ConsentUpdate
) -> FamilyMember:
    """Change what a family member may see and hear (the elder, or staff of their area)."""
    await _managed(session, user, elder_id)
    member = await session.get(FamilyMember, member_id)
    if member is None or member.elder_id != elder_id:
        raise NotFound("家属不存在", code="family_member_not_found", message_en="Unknown family member")
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise Invalid(f"{name} 不能为空", code="invalid_value", message_en=f"{name} may not be null")
        setattr(member, name, value)
    access_changed(session, [member.user_id], reason="consent_changed")  # their open sockets re-check at once
    changed = [f"family_member.{name}" for name in data.model_fields_set]
    await audit.record(session, action="elder.family", subjects=audit.elders([elder_id]), fields=changed)
    await session.flush()
    return member
