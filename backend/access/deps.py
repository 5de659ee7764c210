"""Who is calling: the bearer token's user, their role, their caregiver record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import ElderUse, check_caregiver, check_elder, check_request, check_visit_proof
from backend.core.config import Settings
from backend.core.context import current
from backend.core.deps import SessionDep, SettingsDep
from backend.core.errors import Forbidden, NotFound, Unauthorized
from backend.core.schemas import PathId
from backend.core.security import TokenClaims, decode_access_token
from backend.orders.models import ServiceRequest
from backend.registry.models import Caregiver, Elder
from backend.users.models import Role, User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def signed_in(session: AsyncSession, settings: Settings, token: str | None) -> tuple[User, TokenClaims]:
    """The active user a token names, with the token's claims; 401 when it is missing, expired or revoked."""
    claims = token_claims(settings, token)
    return accept_sign_in(await session.get(User, claims.user_id), claims), claims


def token_claims(settings: Settings, token: str | None) -> TokenClaims:
    """What a valid token says; 401 when it is missing, malformed or expired."""
    if not token:
        raise Unauthorized("请先登录", code="not_authenticated", message_en="Not authenticated")
    return decode_access_token(settings, token)


def accept_sign_in(user: User | None, claims: TokenClaims) -> User:
    """The user the claims name, if still active and the token not revoked since (401 otherwise); the request's
    context learns who it is."""
    if user is None or not user.is_active:
        raise Unauthorized("账号不存在或已停用", code="invalid_token", message_en="Unknown or inactive user")
    if claims.version != user.token_version:
        raise Unauthorized(
            "登录已失效（已退出或权限已变更），请重新登录",
            code="token_revoked",
            message_en="This sign-in has ended (signed out, or access changed): sign in again",
        )
    context = current()
    if context is not None:
        context.sign_in(user_id=user.id, username=user.username, role=user.role)
    return user


async def user_from_token(session: AsyncSession, settings: Settings, token: str | None) -> User:
    """The active user a token names, or 401."""
    return (await signed_in(session, settings, token))[0]


async def get_current_user(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    """The signed-in user of this request."""
    return await user_from_token(session, settings, token)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_sign_in(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> tuple[User, TokenClaims]:
    """The signed-in user and what their token says (renewal needs when they signed in)."""
    return await signed_in(session, settings, token)


CurrentSignIn = Annotated[tuple[User, TokenClaims], Depends(get_current_sign_in)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only these roles through (403 otherwise)."""
    allowed = {r.value for r in roles}

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden("无权执行此操作", code="role_forbidden", message_en="Your role may not do this")
        return user

    return check


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
StaffUser = Annotated[User, Depends(require_roles(Role.admin, Role.operator, Role.community_staff))]
# Those who may move an order by hand (the state machine's rights for assign and redispatch).
OperatorUser = Annotated[User, Depends(require_roles(Role.admin, Role.operator))]
# The city's own staff (admins and hotline operators): city-wide reads, imports, the bureau's decisions.
CityStaff = Annotated[User, Depends(require_roles(Role.admin, Role.operator))]
# A family account (家属): follows the elders who named it, within their consent.
FamilyUser = Annotated[User, Depends(require_roles(Role.family))]


async def get_current_caregiver(session: SessionDep, user: CurrentUser) -> Caregiver:
    """The caregiver record of the signed-in caregiver (403 for other roles)."""
    if user.role != Role.caregiver:
        raise Forbidden("仅护理员可用", code="caregiver_only", message_en="Caregivers only")
    caregiver = (await session.execute(select(Caregiver).where(col(Caregiver.user_id) == user.id))).scalar_one_or_none()
    if caregiver is None:
        raise Forbidden("账号未关联护理员", code="caregiver_only", message_en="No caregiver record for this account")
    return caregiver


CurrentCaregiver = Annotated[Caregiver, Depends(get_current_caregiver)]


def managed_caregiver(*roles: Role) -> Callable[..., Awaitable[Caregiver]]:
    """A dependency: the path's caregiver, for these roles only, within the caller's scope (403/404 otherwise)."""
    allowed = {r.value for r in roles}

    async def check(caregiver_id: PathId, session: SessionDep, user: CurrentUser) -> Caregiver:
        caregiver = await check_caregiver(session, user, caregiver_id)
        if user.role not in allowed:
            raise Forbidden("无权管理该护理员", code="role_forbidden", message_en="Your role may not do this")
        return caregiver

    return check


# A caregiver whose absence may be reported (the hotline, their provider).
AbsenceReporter = Annotated[Caregiver, Depends(managed_caregiver(Role.admin, Role.operator, Role.provider_admin))]
# A caregiver whose record (skills, languages) or roster may be changed: as who may register her, admins or her
# provider's admin.
CaregiverKeeper = Annotated[Caregiver, Depends(managed_caregiver(Role.admin, Role.provider_admin))]
RosterKeeper = CaregiverKeeper


async def elder_herself_or_admin(elder_id: PathId, session: SessionDep, user: CurrentUser) -> User:
    """The elder herself (her own account) or an admin; 404 for an unknown elder, 403 for anyone else."""
    if await session.get(Elder, elder_id) is None:
        raise NotFound("老人不存在", code="elder_not_found", message_en="Unknown elder")
    if user.role == Role.admin or (user.role == Role.elder and user.elder_id == elder_id):
        return user
    raise Forbidden(
        "仅老人本人或管理员可查看", code="elder_or_admin_only", message_en="The elder herself or admins only"
    )


ElderHerselfOrAdmin = Annotated[User, Depends(elder_herself_or_admin)]


async def visible_elder(elder_id: PathId, session: SessionDep, user: CurrentUser) -> Elder:
    """The path's elder, if the caller may read her file (404 unknown, 403 outside; audited)."""
    return await check_elder(session, user, elder_id)


async def elder_to_act_for(elder_id: PathId, session: SessionDep, user: CurrentUser) -> Elder:
    """The path's elder, if the caller may act for her (family: only with her consent to act)."""
    return await check_elder(session, user, elder_id, ElderUse.act)


async def elder_private(elder_id: PathId, session: SessionDep, user: CurrentUser) -> Elder:
    """The path's elder, for what never goes to her family: benefit status, devices, her family's consents."""
    return await check_elder(session, user, elder_id, ElderUse.private)


async def visible_request(request_id: PathId, session: SessionDep, user: CurrentUser) -> ServiceRequest:
    """The order named in the path, if the caller may see it (404 unknown, 403 outside scope)."""
    return await check_request(session, user, request_id)


async def proof_readable_request(request_id: PathId, session: SessionDep, user: CurrentUser) -> ServiceRequest:
    """The order named in the path, if the caller may read its visit's proof (404 unknown, 403 otherwise)."""
    return await check_visit_proof(session, user, request_id)


async def visible_caregiver(caregiver_id: PathId, session: SessionDep, user: CurrentUser) -> Caregiver:
    """The path's caregiver, if the caller may follow them (404 unknown, 403 outside scope)."""
    return await check_caregiver(session, user, caregiver_id)


VisibleElder = Annotated[Elder, Depends(visible_elder)]
ElderToActFor = Annotated[Elder, Depends(elder_to_act_for)]
PrivateElder = Annotated[Elder, Depends(elder_private)]
VisibleRequest = Annotated[ServiceRequest, Depends(visible_request)]
ProofReadableRequest = Annotated[ServiceRequest, Depends(proof_readable_request)]
VisibleCaregiver = Annotated[Caregiver, Depends(visible_caregiver)]
