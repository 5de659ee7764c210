"""Handing a trip to the phone's own map app: a navigation URI for Amap, Baidu and Tencent Maps.

Each app documents its own scheme (looked up 2026-12; the parameters used here and where each is described):

- Amap (高德), web URI that opens the app: ``https://uri.amap.com/navigation?to=lon,lat,name&mode=ride&src=…
  &callnative=1`` — https://lbs.amap.com/api/uri-api/guide/travel/route (``from``/``to`` as ``lon,lat[,name]``,
  ``mode`` car|bus|walk|ride, ``src``, ``callnative``); ``coordinate=wgs84`` takes GPS coordinates as they are
  ("coordinate=gaode 表示高德坐标（gcj02坐标），coordinate=wgs84 表示wgs84坐标（GPS原始坐标）"),
  https://lbs.amap.com/api/uri-api/guide/mobile-web/point.
- Baidu (百度): ``baidumap://map/direction?destination=name:…|latlng:lat,lng&coord_type=wgs84&mode=riding&src=…`` —
  https://lbsyun.baidu.com/docs/webapi?title=mapadjustment%2Furi%2Fandriod (``coord_type`` bd09ll|bd09mc|gcj02|
  wgs84, "如用户使用的坐标类型为gcj02、wgs84，则必须传递此参数值"; ``src`` required; ``direction`` with
  ``origin``/``destination`` as ``name:…|latlng:lat,lng``, latitude first, ``mode`` transit|driving|walking|riding;
  no origin: from where the phone is).
- Tencent (腾讯): ``qqmap://map/routeplan?type=bike&fromcoord=CurrentLocation&to=…&tocoord=lat,lng&referer=…`` —
  https://lbs.qq.com/webApi/uriV1/uriGuide/uriMobileRoute (``type`` bus|drive|walk|bike, ``fromcoord``
  ``CurrentLocation`` for the phone's own position, ``tocoord`` ``lat,lng``, ``referer`` the developer key). The app
  scheme takes no coordinate type: its coordinates are GCJ-02, converted here from the WGS-84 the platform keeps.

Caregivers ride electric scooters (``travel_speed_kmh``), so each trip is asked for by bike. The destination's name
is shown by the map app and travels to its maker: the caller passes what the caregiver needs to recognise the door
(the address), never the elder's name; it is percent-encoded like every value.
"""

from __future__ import annotations

from urllib.parse import quote

from backend.core.config import Settings
from backend.core.geo import wgs84_to_gcj02


def _q(value: str) -> str:
    return quote(value, safe="")


def navigation_links(settings: Settings, *, lat: float, lon: float, name: str) -> dict[str, str]:
    """The URIs that open Amap, Baidu and Tencent Maps routing from the phone's position to (lat, lon) WGS-84."""
    glat, glon = wgs84_to_gcj02(lat, lon)
    source = _q(settings.map_source)
    return {
        "amap": (
            f"https://uri.amap.com/navigation?to={lon:.6f},{lat:.6f},{_q(name)}"
            f"&mode=ride&coordinate=wgs84&callnative=1&src={source}"
        ),
        "baidu": (
            f"baidumap://map/direction?destination=name:{_q(name)}|latlng:{lat:.6f},{lon:.6f}"
            f"&coord_type=wgs84&mode=riding&src={source}"
        ),
        "tencent": (
            f"qqmap://map/routeplan?type=bike&fromcoord=CurrentLocation&to={_q(name)}"
            f"&tocoord={glat:.6f},{glon:.6f}&referer={_q(settings.tencent_map_key)}"
        ),
    }
