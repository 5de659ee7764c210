"""Family routes: an elder's family and their consent."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.access.deps import CurrentUser, FamilyUser, PrivateElder, VisibleElder
from backend.access.personal import sees_member_whole
from backend.core.deps import SessionDep
from backend.core.identity import mask_phone
from backend.core.paging import Paged
from backend.core.schemas import PathId
from backend.families import service
from backend.families.models import FamilyMember
from backend.families.schemas import ConsentUpdate, FollowedElder, MemberCreate, MemberPublic
from backend.users.models import User

router = APIRouter(tags=["families"])


def _public(member: FamilyMember, user: User) -> MemberPublic:
    whole = sees_member_whole(user, elder_id=member.elder_id, member_user_id=member.user_id)
    public = MemberPublic.model_validate(member, from_attributes=True)
    if not whole:
        public.phone = mask_phone(public.phone)
    return public


@router.post("/elders/{elder_id}/family", status_code=status.HTTP_201_CREATED, response_model=MemberPublic)
async def add_member(
    elder_id: PathId, data: MemberCreate, session: SessionDep, user: CurrentUser, _elder: PrivateElder
) -> MemberPublic:
    """Name a family member (the elder, or staff of their area), with what they may see and hear;
    ``username``/``password`` give them their own account (role ``family``; 409 ``username_taken``)."""
    return _public(await service.add_member(session=session, user=user, elder_id=elder_id, data=data), user)


@router.get("/elders/{elder_id}/family", response_model=list[MemberPublic])
async def list_members(
    elder_id: PathId, session: SessionDep, user: CurrentUser, _elder: VisibleElder, page: Paged
) -> list[MemberPublic]:
    """The elder's family members and their consent settings (phones masked except for the elder and admins)."""
    members = page.of(await service.members_of(session=session, user=user, elder_id=elder_id))
    return [_public(m, user) for m in members]


@router.patch("/elders/{elder_id}/family/{member_id}", response_model=MemberPublic)
async def set_consent(
    elder_id: PathId,
    member_id: PathId,
    data: ConsentUpdate,
    session: SessionDep,
    user: CurrentUser,
    _elder: PrivateElder,
) -> MemberPublic:
    """What a family member may see (the orders, live) and hear (emergencies, finished visits)."""
    member = await service.set_consent(session=session, user=user, elder_id=elder_id, member_id=member_id, data=data)
    return _public(member, user)


@router.get("/family/elders", response_model=list[FollowedElder])
async def followed_elders(session: SessionDep, user: FamilyUser, page: Paged) -> list[FollowedElder]:
    """The elders this family account follows (they let it see their orders), with what else they allow."""
    return await service.followed_by(session=session, user=user, page=page)
