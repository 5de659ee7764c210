"""Device HTTP routes (docs/contract.md, "One-key devices"): staff register devices; devices report alarms with
their own credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status

from backend.access.deps import CurrentUser
from backend.core.deps import RuntimeDep, SessionDep
from backend.core.paging import Paged
from backend.core.schemas import MAX_ID, PathId, QueryId
from backend.devices import service
from backend.devices.models import Device
from backend.devices.schemas import AlarmIn, AlarmResult, DeviceCreate, DevicePublic, DeviceRegistered, DormantShare

router = APIRouter(prefix="/devices", tags=["devices"])
# Called by the devices themselves: ``Authorization: Device <serial>:<secret>``, no user token.
device_router = APIRouter(prefix="/devices", tags=["devices"])


def _public(device: Device) -> DevicePublic:
    return DevicePublic.model_validate(device, from_attributes=True)


async def current_device(
    session: SessionDep,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header(description="Device <serial>:<secret>")] = None,
) -> Device:
    """The device named by its own credentials (checked before the body is read); 401, or 429 when guessed at."""
    return await service.authenticate(session=session, runtime=runtime, authorization=authorization)


@device_router.post(
    "/alarms",
    status_code=status.HTTP_201_CREATED,
    response_model=AlarmResult,
    responses={200: {"description": "The same alarm_id was received before: counted once, nothing new"}},
)
async def device_alarm(
    data: AlarmIn,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    device: Annotated[Device, Depends(current_device)],
) -> AlarmResult:
    """A device reports: ``red`` opens an emergency order at once (its ``request_id``), ``green`` asks an
    operator to call back (a follow-up), ``test`` is a sign of life. A red press while the elder's emergency is
    still open joins it (``absorbed``). 401 ``invalid_device_credentials``; 429 after repeated wrong secrets."""
    result = await service.alarm(session=session, settings=runtime.settings, device=device, data=data)
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeviceRegistered)
async def register_device(data: DeviceCreate, session: SessionDep, user: CurrentUser) -> DeviceRegistered:
    """Install a one-key device for an elder (staff of the elder's area); the ``secret`` is shown only now."""
    device, secret = await service.register(session=session, user=user, data=data)
    return DeviceRegistered(**_public(device).model_dump(), secret=secret)


@router.get("", response_model=list[DevicePublic])
async def elder_devices(
    session: SessionDep, user: CurrentUser, page: Paged, elder_id: Annotated[int, Query(ge=1, le=MAX_ID)]
) -> list[DevicePublic]:
    """An elder's devices, with when each was last heard from."""
    return [_public(d) for d in page.of(await service.devices_of(session=session, user=user, elder_id=elder_id))]


@router.get("/dormant", response_model=list[DormantShare])
async def dormant_share(
    session: SessionDep, user: CurrentUser, page: Paged, district_id: QueryId = None
) -> list[DormantShare]:
    """Per district: active devices and the share dormant (no heartbeat for ``ELDERCARE_DEVICE_DORMANT_DAYS``)."""
    return page.of(await service.dormant_share(session=session, user=user, district_id=district_id))


@router.get("/{device_id}", response_model=DevicePublic)
async def get_device(device_id: PathId, session: SessionDep, user: CurrentUser) -> DevicePublic:
    """One device."""
    return _public(await service.get_device(session=session, user=user, device_id=device_id))


@router.post("/{device_id}/deactivate", response_model=DevicePublic)
async def deactivate_device(device_id: PathId, session: SessionDep, user: CurrentUser) -> DevicePublic:
    """Uninstall: the device's credentials stop working."""
    return _public(await service.deactivate(session=session, user=user, device_id=device_id))
