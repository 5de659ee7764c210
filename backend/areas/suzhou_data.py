"""The data tables behind :mod:`backend.areas.suzhou` (constants only, and the shape of their rows).

Suzhou's 10 county-level units (2018-2019) with their real streets/towns (approximate positions and a demo slice
of their communities/villages), and the stems and suffixes of synthetic community and village names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DistrictKind = Literal["district", "county_city"]


@dataclass(frozen=True)
class UnitSpec:
    """A real street/town: approximate real position and demo children."""

    name: str
    lat: float
    lon: float
    demo: tuple[str, ...] = ()


@dataclass(frozen=True)
class DistrictSpec:
    """A county-level unit: centre, official numbers of streets and towns, the real ones known."""

    code: str
    name: str
    kind: DistrictKind
    lat: float
    lon: float
    n_streets: int
    n_towns: int
    # Urban-core districts have no villages; elsewhere some streets keep villages.
    urban_core: bool
    streets: tuple[UnitSpec, ...]
    towns: tuple[UnitSpec, ...]


_U = UnitSpec

DISTRICTS: tuple[DistrictSpec, ...] = (
    DistrictSpec(
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
    DistrictSpec(
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
    DistrictSpec(
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
    DistrictSpec(
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
    DistrictSpec(
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
    DistrictSpec(
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
    DistrictSpec(
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
    DistrictSpec(
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
    DistrictSpec(
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
    DistrictSpec(
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
STEMS: tuple[str, ...] = (
    "金桥", "东湖", "西塘", "南苑", "北港", "新民", "永安", "长青", "和平", "幸福",
    "友谊", "团结", "红旗", "建设", "光明", "朝晖", "向阳", "春晖", "荷花", "桂花",
    "梅园", "竹园", "柳溪", "枫林", "松鹤", "翠湖", "碧水", "清河", "白莲", "青石",
    "石湖", "双桥", "三里", "五福", "六合", "七星", "八角", "九龙", "万安", "千秋",
    "百花", "新华", "振华", "中兴", "兴隆", "富民", "丰收", "太和", "安乐", "康乐",
    "吉祥", "如意", "华庄", "沈浜", "张泾", "王家", "李巷", "徐塘", "顾庄", "钱巷",
    "陆墓", "盛家", "蒋泾", "褚家", "卫浜", "杨湾", "朱塘", "秦家", "尤泾", "许家",
    "何浜", "吕家", "施家", "孔巷", "曹湾", "严家", "华阳", "金星", "银杏", "玉兰",
)  # fmt: skip

COMMUNITY_SUFFIXES: tuple[str, ...] = (
    "社区",
    "新村社区",
    "花园社区",
    "苑社区",
    "家园社区",
)
VILLAGE_SUFFIXES: tuple[str, ...] = ("村", "港村", "浜村", "泾村", "湾村")
