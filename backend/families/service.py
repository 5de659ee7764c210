"""Family rules: the elder (or staff of their area) names family members and what each may see and hear."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.errors import Forbidden, NotFound
from backend.families.models import FamilyMember
from backend.families.schemas import ConsentUpdate, MemberCreate
from backend.registry.service import phone_or_422
from backend.users.models import Role, User
from backend.users.scope import check_elder
from backend.users.service import add_user

MANAGERS = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value, Role.elder.value})


async def _managed(session: AsyncSession, user: User, elder_id: int) -> None:
    """The elder themself, or staff of their area (a family member does not add others)."""
    if user.role not in MANAGERS:
        raise Forbidden("无权管理家属", code="role_forbidden", message_en="Your role may not manage family members")
    await check_elder(session, user, elder_id)


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
    return member


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
        setattr(member, name, value)
    await session.flush()
    return member
