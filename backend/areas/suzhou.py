"""Administrative-division seed data for Suzhou municipality (苏州市), 2018-2019.

Pure data and deterministic generators; no database access, stdlib only.

Two entry points:

* :func:`demo_tree` -- all 10 county-level units with a small, believable
  slice of real street/town (街道/镇) and community/village (社区/村) names.
* :func:`city_tree` -- a full-size synthetic city matching the official
  totals (37 streets, 53 towns, 1,162 communities, 1,026 villages).  Real
  names are used first, synthetic ones fill the remainder.

Coordinates are WGS-84 and *schematic*: every street/town is placed within
~6 km of its district centre (~12 km for county-level cities) and every
community/village within ~1.5 km of its street/town, so real locations that
lie further out are pulled towards the centre along their true bearing.

Code scheme (mirrors the national statistical division codes):

* district: 6 digits, e.g. ``320508``;
* street: district + ``001``-``099``, town: district + ``101``-``199``;
* community: street + ``001``-``199``, village: street + ``201``-``399``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal

DistrictKind = Literal["district", "county_city"]
StreetKind = Literal["street", "town"]
CommunityKind = Literal["community", "village"]


@dataclass(frozen=True)
class CommunitySeed:
    """A community (社区居委会) or village (村委会)."""

    code: str
    name: str
    kind: CommunityKind
    lat: float
    lon: float


@dataclass(frozen=True)
class StreetSeed:
    """A sub-district (街道) or town (镇)."""

    code: str
    name: str
    kind: StreetKind
    lat: float
    lon: float
    communities: tuple[CommunitySeed, ...] = field(default=())


@dataclass(frozen=True)
class DistrictSeed:
    """A county-level unit: district (区) or county-level city (县级市)."""

    code: str
    name: str
    kind: DistrictKind
    lat: float
    lon: float
    streets: tuple[StreetSeed, ...] = field(default=())


# (min_lat, min_lon, max_lat, max_lon), a generous box around the municipality.
SUZHOU_BOUNDS: tuple[float, float, float, float] = (30.75, 119.90, 32.05, 121.40)

# ---------------------------------------------------------------------------
# Static reference data
# ---------------------------------------------------------------------------

_KM_PER_DEG_LAT = 111.32
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))

# Maximum distance (km) of a street/town from its district centre.
_STREET_RADIUS_KM: dict[DistrictKind, float] = {"district": 6.0, "county_city": 12.0}
# Real positions further out are clamped to this fraction of the radius.
_STREET_CLAMP = 0.92
# Maximum distance (km) of a community/village from its street/town.
_COMMUNITY_SPIRAL_KM = 1.3
_COMMUNITY_CLAMP_KM = 1.4
_COMMUNITY_JITTER_KM = 0.08

# Official city totals (2018-2019).
_TOTAL_STREETS = 37
_TOTAL_TOWNS = 53
_TOTAL_COMMUNITIES = 1162
_TOTAL_VILLAGES = 1026

# Code-space limits within one parent.
_MAX_PER_CODE_BLOCK = 99  # streets 001-099, towns 101-199
_MAX_CHILDREN_PER_KIND = 199  # communities 001-199, villages 201-399


@dataclass(frozen=True)
class _UnitSpec:
    """A real street/town: approximate real position and demo children."""

    name: str
    lat: float
    lon: float
    demo: tuple[str, ...] = ()


@dataclass(frozen=True)
class _DistrictSpec:
    code: str
    name: str
    kind: DistrictKind
    lat: float
    lon: float
    n_streets: int
    n_towns: int
    # Urban-core districts have no villages; elsewhere some streets keep villages.
    urban_core: bool
    streets: tuple[_UnitSpec, ...]
    towns: tuple[_UnitSpec, ...]


_U = _UnitSpec

_DISTRICTS: tuple[_DistrictSpec, ...] = (
    _DistrictSpec(
        code="320508",
        name="姑苏区",
        kind="district",
        lat=31.31,
        lon=120.62,
        n_streets=8,
        n_towns=0,
        urban_core=True,
        streets=(
            _U("平江街道", 31.321, 120.632, ("平江新村社区", "新桥社区", "钮家巷社区")),
            _U("金阊街道", 31.318, 120.598, ("石路社区", "彩香社区", "留园社区")),
            _U("双塔街道", 31.300, 120.633, ("十全街社区", "南园社区")),
            _U("沧浪街道", 31.290, 120.612),
            _U("虎丘街道", 31.335, 120.585),
            _U("吴门桥街道", 31.283, 120.622),
            _U("白洋湾街道", 31.345, 120.575),
            _U("苏锦街道", 31.340, 120.612),
        ),
        towns=(),
    ),
    _DistrictSpec(
        code="320505",
        name="苏州高新区(虎丘区)",
        kind="district",
        lat=31.30,
        lon=120.54,
        n_streets=5,
        n_towns=2,
        urban_core=False,
        streets=(
            _U("狮山街道", 31.297, 120.560, ("狮山社区", "何山社区", "金色家园社区")),
            _U("枫桥街道", 31.318, 120.548, ("枫桥社区", "寒山社区")),
            _U("横塘街道", 31.275, 120.565),
            _U("镇湖街道", 31.270, 120.380),
            _U("东渚街道", 31.290, 120.430),
        ),
        towns=(
            _U("浒墅关镇", 31.380, 120.505, ("兴贤社区", "青灯村")),
            _U("通安镇", 31.360, 120.440),
        ),
    ),
    _DistrictSpec(
        code="320506",
        name="吴中区",
        kind="district",
        lat=31.26,
        lon=120.63,
        n_streets=7,
        n_towns=7,
        urban_core=False,
        streets=(
            _U("长桥街道", 31.275, 120.620, ("新家社区", "龙桥社区", "长桥社区")),
            _U("郭巷街道", 31.255, 120.680, ("郭巷社区", "尹山湖社区")),
            _U("苏苑街道", 31.280, 120.640),
            _U("龙西街道", 31.265, 120.610),
            _U("城南街道", 31.245, 120.630),
            _U("越溪街道", 31.225, 120.600),
            _U("横泾街道", 31.170, 120.580),
        ),
        towns=(
            _U("木渎镇", 31.262, 120.515, ("香溪社区", "天平村", "金山村")),
            _U("甪直镇", 31.270, 120.850),
            _U("胥口镇", 31.230, 120.480),
            _U("东山镇", 31.080, 120.400),
            _U("光福镇", 31.290, 120.440),
            _U("金庭镇", 31.130, 120.290),
            _U("临湖镇", 31.170, 120.500),
        ),
    ),
    _DistrictSpec(
        code="320507",
        name="相城区",
        kind="district",
        lat=31.37,
        lon=120.64,
        n_streets=6,
        n_towns=4,
        urban_core=False,
        streets=(
            _U("元和街道", 31.375, 120.640, ("御窑社区", "陆慕社区")),
            _U("澄阳街道", 31.400, 120.625),
            _U("黄桥街道", 31.355, 120.590),
            _U("太平街道", 31.450, 120.700),
            _U("北桥街道", 31.480, 120.600),
            _U("漕湖街道", 31.450, 120.550),
        ),
        towns=(
            _U("渭塘镇", 31.430, 120.630, ("渭塘社区", "渭西村")),
            _U("阳澄湖镇", 31.440, 120.780, ("莲花村", "消泾村")),
            _U("黄埭镇", 31.440, 120.550),
            _U("望亭镇", 31.450, 120.450),
        ),
    ),
    _DistrictSpec(
        code="320509",
        name="吴江区",
        kind="district",
        lat=31.14,
        lon=120.65,
        n_streets=4,
        n_towns=7,
        urban_core=False,
        streets=(
            _U("松陵街道", 31.160, 120.640, ("流虹社区", "垂虹社区")),
            _U("江陵街道", 31.130, 120.640, ("江陵社区", "鲈乡社区")),
            _U("八坼街道", 31.100, 120.660),
            _U("横扇街道", 31.080, 120.550),
        ),
        towns=(
            _U("同里镇", 31.160, 120.720, ("同里社区", "北联村", "叶建村")),
            _U("平望镇", 30.970, 120.640),
            _U("盛泽镇", 30.900, 120.650),
            _U("黎里镇", 30.990, 120.720),
            _U("震泽镇", 30.920, 120.500),
            _U("七都镇", 30.950, 120.430),
            _U("桃源镇", 30.830, 120.500),
        ),
    ),
    _DistrictSpec(
        code="320571",
        name="苏州工业园区",
        kind="district",
        lat=31.32,
        lon=120.72,
        n_streets=4,
        n_towns=0,
        urban_core=True,
        streets=(
            _U("娄葑街道", 31.300, 120.680, ("葑谊社区", "东湖社区", "南施社区")),
            _U("斜塘街道", 31.290, 120.740, ("淞泽社区", "莲香社区")),
            _U("唯亭街道", 31.360, 120.800, ("青剑湖社区", "浦田社区")),
            _U("胜浦街道", 31.310, 120.820),
        ),
        towns=(),
    ),
    _DistrictSpec(
        code="320582",
        name="张家港市",
        kind="county_city",
        lat=31.88,
        lon=120.56,
        n_streets=0,
        n_towns=8,
        urban_core=False,
        streets=(),
        towns=(
            _U("杨舍镇", 31.870, 120.550, ("暨阳社区", "东苑社区", "善港村")),
            _U("塘桥镇", 31.840, 120.630, ("塘桥社区", "韩山村")),
            _U("金港镇", 31.960, 120.430),
            _U("锦丰镇", 31.950, 120.620),
            _U("乐余镇", 31.970, 120.720),
            _U("凤凰镇", 31.800, 120.620),
            _U("南丰镇", 31.980, 120.800),
            _U("大新镇", 31.930, 120.560),
        ),
    ),
    _DistrictSpec(
        code="320581",
        name="常熟市",
        kind="county_city",
        lat=31.65,
        lon=120.75,
        n_streets=2,
        n_towns=9,
        urban_core=False,
        streets=(
            _U("虞山街道", 31.660, 120.740, ("书院社区", "虞园社区", "湖苑社区")),
            _U("琴川街道", 31.645, 120.765, ("琴川社区", "方塔社区")),
        ),
        towns=(
            _U("支塘镇", 31.570, 120.900, ("支塘社区", "蒋巷村")),
            _U("梅李镇", 31.700, 120.880),
            _U("海虞镇", 31.750, 120.850),
            _U("古里镇", 31.620, 120.850),
            _U("沙家浜镇", 31.560, 120.800),
            _U("董浜镇", 31.680, 120.920),
            _U("尚湖镇", 31.600, 120.650),
            _U("辛庄镇", 31.550, 120.680),
            _U("碧溪镇", 31.750, 120.900),
        ),
    ),
    _DistrictSpec(
        code="320585",
        name="太仓市",
        kind="county_city",
        lat=31.46,
        lon=121.13,
        n_streets=1,
        n_towns=6,
        urban_core=False,
        streets=(_U("娄东街道", 31.460, 121.130, ("娄江社区", "弇山社区")),),
        towns=(
            _U("城厢镇", 31.450, 121.100, ("南门社区", "东林村")),
            _U("浏河镇", 31.510, 121.280, ("浏河社区", "新闸村")),
            _U("沙溪镇", 31.560, 121.050),
            _U("浮桥镇", 31.580, 121.170),
            _U("璜泾镇", 31.640, 121.070),
            _U("双凤镇", 31.510, 121.020),
        ),
    ),
    _DistrictSpec(
        code="320583",
        name="昆山市",
        kind="county_city",
        lat=31.39,
        lon=120.98,
        n_streets=0,
        n_towns=10,
        urban_core=False,
        streets=(),
        towns=(
            _U("玉山镇", 31.385, 120.960, ("亭林社区", "玉峰社区", "朝阳社区")),
            _U("周市镇", 31.440, 120.990, ("周市社区", "东方村")),
            _U("巴城镇", 31.440, 120.880, ("巴城社区", "绰墩山村")),
            _U("陆家镇", 31.320, 121.050),
            _U("花桥镇", 31.310, 121.100),
            _U("张浦镇", 31.280, 120.940),
            _U("千灯镇", 31.270, 120.990),
            _U("淀山湖镇", 31.170, 120.980),
            _U("锦溪镇", 31.180, 120.900),
            _U("周庄镇", 31.120, 120.850),
        ),
    ),
)

# Two-character stems for synthetic names.
_STEMS: tuple[str, ...] = (
    "金桥", "东湖", "西塘", "南苑", "北港", "新民", "永安", "长青", "和平", "幸福",
    "友谊", "团结", "红旗", "建设", "光明", "朝晖", "向阳", "春晖", "荷花", "桂花",
    "梅园", "竹园", "柳溪", "枫林", "松鹤", "翠湖", "碧水", "清河", "白莲", "青石",
    "石湖", "双桥", "三里", "五福", "六合", "七星", "八角", "九龙", "万安", "千秋",
    "百花", "新华", "振华", "中兴", "兴隆", "富民", "丰收", "太和", "安乐", "康乐",
    "吉祥", "如意", "华庄", "沈浜", "张泾", "王家", "李巷", "徐塘", "顾庄", "钱巷",
    "陆墓", "盛家", "蒋泾", "褚家", "卫浜", "杨湾", "朱塘", "秦家", "尤泾", "许家",
    "何浜", "吕家", "施家", "孔巷", "曹湾", "严家", "华阳", "金星", "银杏", "玉兰",
)  # fmt: skip

_COMMUNITY_SUFFIXES: tuple[str, ...] = (
    "社区",
    "新村社区",
    "花园社区",
    "苑社区",
    "家园社区",
)
_VILLAGE_SUFFIXES: tuple[str, ...] = ("村", "港村", "浜村", "泾村", "湾村")

# ---------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------


def _km_per_deg_lon(lat: float) -> float:
    return _KM_PER_DEG_LAT * math.cos(math.radians(lat))


def _offset_km(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """Local (east, north) offset in km of (lat, lon) from (lat0, lon0)."""
    return (lon - lon0) * _km_per_deg_lon(lat0), (lat - lat0) * _KM_PER_DEG_LAT


def _move_km(lat0: float, lon0: float, east_km: float, north_km: float) -> tuple[float, float]:
    lat = lat0 + north_km / _KM_PER_DEG_LAT
    lon = lon0 + east_km / _km_per_deg_lon(lat0)
    return round(lat, 6), round(lon, 6)


def _clamp_to_radius(lat0: float, lon0: float, lat: float, lon: float, max_km: float) -> tuple[float, float]:
    """Pull (lat, lon) towards (lat0, lon0) so it lies within max_km."""
    east, north = _offset_km(lat0, lon0, lat, lon)
    dist = math.hypot(east, north)
    if dist > max_km:
        scale = max_km / dist
        east, north = east * scale, north * scale
    return _move_km(lat0, lon0, east, north)


def _spiral_point(lat0: float, lon0: float, index: int, phase: float) -> tuple[float, float]:
    """Deterministic, bounded golden-angle spiral around a street centre."""
    radius = _COMMUNITY_SPIRAL_KM * math.sqrt((index + 0.5) / (index + 6.5))
    angle = phase + index * _GOLDEN_ANGLE
    return _move_km(lat0, lon0, radius * math.cos(angle), radius * math.sin(angle))


def _phase_for(code: str) -> float:
    return math.radians(int(code) % 360)


# ---------------------------------------------------------------------------
# Code helpers
# ---------------------------------------------------------------------------


def _street_code(district_code: str, kind: StreetKind, index: int) -> str:
    base = 0 if kind == "street" else 100
    return f"{district_code}{base + index + 1:03d}"


def _community_code(street_code: str, kind: CommunityKind, index: int) -> str:
    base = 0 if kind == "community" else 200
    return f"{street_code}{base + index + 1:03d}"


def _community_kind(name: str) -> CommunityKind:
    if name.endswith("社区"):
        return "community"
    if name.endswith("村"):
        return "village"
    raise ValueError(f"cannot infer community kind from name {name!r}")


def _split_demo(names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    communities = [n for n in names if _community_kind(n) == "community"]
    villages = [n for n in names if _community_kind(n) == "village"]
    return communities, villages


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def _street_position(district: _DistrictSpec, unit: _UnitSpec) -> tuple[float, float]:
    max_km = _STREET_RADIUS_KM[district.kind] * _STREET_CLAMP
    return _clamp_to_radius(district.lat, district.lon, unit.lat, unit.lon, max_km)


def _build_children(
    street_code: str,
    lat: float,
    lon: float,
    community_names: list[str],
    village_names: list[str],
    n_real_communities: int,
    n_real_villages: int,
    rng: random.Random | None,
) -> tuple[CommunitySeed, ...]:
    """Place children on a spiral; real (demo) children are never jittered.

    Real children come first in each list, so demo and full-city trees agree on
    their codes and positions.
    """
    phase = _phase_for(street_code)
    ordered: list[tuple[str, CommunityKind, int, bool]] = []
    # Interleave real children in demo order (communities then villages),
    # followed by synthetic children, so spiral slots are stable.
    for i, name in enumerate(community_names[:n_real_communities]):
        ordered.append((name, "community", i, True))
    for i, name in enumerate(village_names[:n_real_villages]):
        ordered.append((name, "village", i, True))
    for i in range(n_real_communities, len(community_names)):
        ordered.append((community_names[i], "community", i, False))
    for i in range(n_real_villages, len(village_names)):
        ordered.append((village_names[i], "village", i, False))

    result: list[CommunitySeed] = []
    for slot, (name, kind, index, real) in enumerate(ordered):
        c_lat, c_lon = _spiral_point(lat, lon, slot, phase)
        if not real and rng is not None:
            c_lat, c_lon = _move_km(
                c_lat,
                c_lon,
                rng.uniform(-_COMMUNITY_JITTER_KM, _COMMUNITY_JITTER_KM),
                rng.uniform(-_COMMUNITY_JITTER_KM, _COMMUNITY_JITTER_KM),
            )
            c_lat, c_lon = _clamp_to_radius(lat, lon, c_lat, c_lon, _COMMUNITY_CLAMP_KM)
        result.append(
            CommunitySeed(
                code=_community_code(street_code, kind, index),
                name=name,
                kind=kind,
                lat=c_lat,
                lon=c_lon,
            )
        )
    result.sort(key=lambda c: c.code)
    return tuple(result)


def demo_tree() -> tuple[DistrictSeed, ...]:
    """All 10 county-level units with a small slice of real streets/communities."""
    districts: list[DistrictSeed] = []
    for spec in _DISTRICTS:
        streets: list[StreetSeed] = []
        for kind, units in (("street", spec.streets), ("town", spec.towns)):
            street_kind: StreetKind = "street" if kind == "street" else "town"
            for index, unit in enumerate(units):
                if not unit.demo:
                    continue
                code = _street_code(spec.code, street_kind, index)
                lat, lon = _street_position(spec, unit)
                communities, villages = _split_demo(unit.demo)
                children = _build_children(
                    code,
                    lat,
                    lon,
                    communities,
                    villages,
                    len(communities),
                    len(villages),
                    None,
                )
                streets.append(
                    StreetSeed(
                        code=code,
                        name=unit.name,
                        kind=street_kind,
                        lat=lat,
                        lon=lon,
                        communities=children,
                    )
                )
        districts.append(
            DistrictSeed(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                lat=spec.lat,
                lon=spec.lon,
                streets=tuple(streets),
            )
        )
    return tuple(districts)


@dataclass
class _Slot:
    """Mutable working record for one street/town while building the city."""

    code: str
    name: str
    kind: StreetKind
    lat: float
    lon: float
    demo_communities: list[str]
    demo_villages: list[str]
    community_weight: float
    village_weight: float


def _allocate(total: int, weights: list[float], minima: list[int]) -> list[int]:
    """Largest-remainder apportionment of `total` with per-item minima."""
    rest = total - sum(minima)
    if rest < 0:
        raise ValueError("minima exceed total")
    weight_sum = sum(weights)
    if weight_sum <= 0:
        if rest:
            raise ValueError("no positive weights to distribute remainder")
        return list(minima)
    quotas = [rest * w / weight_sum for w in weights]
    counts = [math.floor(q) for q in quotas]
    leftover = rest - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for i in order[:leftover]:
        counts[i] += 1
    return [m + c for m, c in zip(minima, counts, strict=True)]


def _synthetic_names(rng: random.Random, suffixes: tuple[str, ...], taken: set[str], count: int) -> list[str]:
    pool = [stem + suffix for suffix in suffixes for stem in _STEMS]
    rng.shuffle(pool)
    names: list[str] = []
    for name in pool:
        if len(names) == count:
            break
        if name not in taken:
            taken.add(name)
            names.append(name)
    if len(names) < count:
        raise ValueError("synthetic name pool exhausted")
    return names


def _district_slots(spec: _DistrictSpec, rng: random.Random) -> list[_Slot]:
    slots: list[_Slot] = []
    radius = _STREET_RADIUS_KM[spec.kind]
    used_names = {u.name for u in (*spec.streets, *spec.towns)}
    plan: tuple[tuple[StreetKind, tuple[_UnitSpec, ...], int, str], ...] = (
        ("street", spec.streets, spec.n_streets, "街道"),
        ("town", spec.towns, spec.n_towns, "镇"),
    )
    for kind, units, wanted, suffix in plan:
        if wanted > _MAX_PER_CODE_BLOCK:
            raise ValueError(f"too many {kind}s in {spec.name}")
        real = list(units[:wanted])
        extra = _synthetic_names(rng, (suffix,), used_names, wanted - len(real))
        for index in range(wanted):
            code = _street_code(spec.code, kind, index)
            if index < len(real):
                unit = real[index]
                name = unit.name
                lat, lon = _street_position(spec, unit)
                demo_c, demo_v = _split_demo(unit.demo)
            else:
                name = extra[index - len(real)]
                r = radius * rng.uniform(0.3, 0.85)
                angle = rng.uniform(0.0, 2.0 * math.pi)
                lat, lon = _move_km(spec.lat, spec.lon, r * math.cos(angle), r * math.sin(angle))
                demo_c, demo_v = [], []
            if kind == "street":
                c_weight = 1.4 if spec.urban_core else 1.0
                v_weight = 0.0 if spec.urban_core else 0.5
            else:
                c_weight, v_weight = 0.35, 1.0
            slots.append(
                _Slot(
                    code=code,
                    name=name,
                    kind=kind,
                    lat=lat,
                    lon=lon,
                    demo_communities=demo_c,
                    demo_villages=demo_v,
                    community_weight=c_weight * rng.uniform(0.7, 1.3),
                    village_weight=v_weight * rng.uniform(0.7, 1.3),
                )
            )
    return slots


def city_tree(seed: int = 0) -> tuple[DistrictSeed, ...]:
    """Full-size synthetic Suzhou matching the official 2018-2019 totals.

    Deterministic for a given ``seed``: 37 streets, 53 towns, 1,162
    communities and 1,026 villages.  Real names (those of :func:`demo_tree`
    and other known streets/towns) come first, synthetic names fill the rest.
    """
    rng = random.Random(seed)
    per_district = [_district_slots(spec, rng) for spec in _DISTRICTS]
    slots = [slot for group in per_district for slot in group]

    n_streets = sum(1 for s in slots if s.kind == "street")
    n_towns = sum(1 for s in slots if s.kind == "town")
    if (n_streets, n_towns) != (_TOTAL_STREETS, _TOTAL_TOWNS):
        raise AssertionError(f"street/town totals off: {n_streets}/{n_towns}")

    # Every street/town keeps at least one community (its seat).
    community_counts = _allocate(
        _TOTAL_COMMUNITIES,
        [s.community_weight for s in slots],
        [max(1, len(s.demo_communities)) for s in slots],
    )
    village_counts = _allocate(
        _TOTAL_VILLAGES,
        [s.village_weight for s in slots],
        [len(s.demo_villages) for s in slots],
    )

    districts: list[DistrictSeed] = []
    offset = 0
    for spec, group in zip(_DISTRICTS, per_district, strict=True):
        streets: list[StreetSeed] = []
        for slot in group:
            n_c = community_counts[offset]
            n_v = village_counts[offset]
            offset += 1
            if n_c > _MAX_CHILDREN_PER_KIND or n_v > _MAX_CHILDREN_PER_KIND:
                raise ValueError(f"too many children under {slot.name}")
            taken = {*slot.demo_communities, *slot.demo_villages}
            community_names = slot.demo_communities + _synthetic_names(
                rng, _COMMUNITY_SUFFIXES, taken, n_c - len(slot.demo_communities)
            )
            village_names = slot.demo_villages + _synthetic_names(
                rng, _VILLAGE_SUFFIXES, taken, n_v - len(slot.demo_villages)
            )
            children = _build_children(
                slot.code,
                slot.lat,
                slot.lon,
                community_names,
                village_names,
                len(slot.demo_communities),
                len(slot.demo_villages),
                rng,
            )
            streets.append(
                StreetSeed(
                    code=slot.code,
                    name=slot.name,
                    kind=slot.kind,
                    lat=slot.lat,
                    lon=slot.lon,
                    communities=children,
                )
            )
        districts.append(
            DistrictSeed(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                lat=spec.lat,
                lon=spec.lon,
                streets=tuple(streets),
            )
        )
    return tuple(districts)
