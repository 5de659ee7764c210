"""Seed data: the administrative tree (demo slice or full city) and a believable demo."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from stdnum.cn import ric, uscc

from backend.areas.models import Community, District, Street
from backend.areas.suzhou import DistrictSeed, city_tree, demo_tree
from backend.benefits.models import ElderBenefit, ProviderRate
from backend.capacity.models import Institution
from backend.core.config import DEMO_DEVICE_SECRET, DEMO_PASSWORD
from backend.core.db import utcnow
from backend.core.money import yuan_to_fen
from backend.core.schemas import Location
from backend.daycare.models import DayCareCentre
from backend.devices.models import Device
from backend.devices.service import digest
from backend.families.models import FamilyMember
from backend.insurance.seed import insure, insure_providers
from backend.policies.models import InsurancePolicy, Scheme
from backend.registry import service as registry
from backend.registry.models import ServiceType
from backend.registry.schemas import CaregiverCreate, ElderCreate, ProviderCreate
from backend.users import service as users
from backend.users.models import Role, User
from backend.users.schemas import UserCreate

# The demo's one-key device in the first elder's home: press its red button with
# curl -X POST :8000/api/v1/devices/alarms -H "Authorization: Device DEMO-YJT-0001:demo-device-secret" ...
DEMO_DEVICE = ("DEMO-YJT-0001", DEMO_DEVICE_SECRET)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程苏魏吕丁沈"
# Given names as Suzhou's elders and caregivers carry them, by gender (the resident ID number's 17th digit agrees).
GIVEN = {
    "female": ["秀英", "桂英", "玉兰", "凤英", "美华", "梅芳", "雪珍", "月娥", "巧珍", "静娟"],
    "male": ["建国", "国平", "志强", "金宝", "阿毛", "根生", "福根", "荣生", "文华", "德明"],
}


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    scope: str


async def seed_areas(session: AsyncSession, tree: tuple[DistrictSeed, ...]) -> int:
    """Insert districts, streets and communities that are not there yet (matched by code)."""
    have = set((await session.execute(select(Community.code))).scalars())
    districts = {d.code: d for d in (await session.execute(select(District))).scalars()}
    streets = {s.code: s for s in (await session.execute(select(Street))).scalars()}
    added = 0
    for d in tree:
        district = districts.get(d.code)
        if district is None:
            district = District(code=d.code, name=d.name, kind=d.kind, lat=d.lat, lon=d.lon)
            session.add(district)
            await session.flush()
        for s in d.streets:
            street = streets.get(s.code)
            if street is None:
                street = Street(district_id=district.id, code=s.code, name=s.name, kind=s.kind, lat=s.lat, lon=s.lon)  # type: ignore[arg-type]
                session.add(street)
                await session.flush()
            for c in s.communities:
                if c.code not in have:
                    session.add(
                        Community(
                            street_id=street.id,  # type: ignore[arg-type]
                            district_id=district.id,  # type: ignore[arg-type]
                            code=c.code,
                            name=c.name,
                            kind=c.kind,
                            lat=c.lat,
                            lon=c.lon,
                        )
                    )
                    added += 1
    await session.flush()
    return added


def demo_id_number(rng: random.Random, born: date, gender: str = "female") -> str:
    """A valid resident ID number of an elder born in old Suzhou (沧浪区 code 320502): its sequence number odd for a
    man, even for a woman, as GB 11643 has it."""
    sequence = rng.randint(50, 499) * 2 + (1 if gender == "male" else 0)
    body = f"320502{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def demo_person(rng: random.Random, gender: str) -> str:
    """A name that goes with the gender."""
    return rng.choice(SURNAMES) + rng.choice(GIVEN[gender])


# Self-pay prices of the demo providers, in yuan.
SELF_PAY_PRICES = {
    "meal": "18.50",
    "bathing": "90.00",
    "bed_bathing": "180.00",
    "cleaning": "70.00",
    "companionship": "50.00",
    "mobility": "60.00",
}
# What proof the demo city asks of each visit before paying for it (PUT /api/v1/service-types/{code}/proof).
DEMO_PROOF = {
    "bathing": ["arrival_photo", "departure_photo", "confirmation"],
    "bed_bathing": ["arrival_photo", "departure_photo", "confirmation"],
    "cleaning": ["departure_photo", "confirmation"],
    "meal": ["confirmation"],
}


def demo_uscc(rng: random.Random, division: str = "320508") -> str:
    """A well-formed unified social credit code of a private non-enterprise unit (民办非企业单位, 52) registered in a
    Suzhou district: its check character computed as GB 32100-2015 says."""
    body = f"52{division}MJ{rng.randint(0, 9_999_999):07d}"
    return body + uscc.calc_check_digit(body)


def _near(rng: random.Random, lat: float, lon: float, km: float) -> Location:
    return Location(lat=lat + rng.uniform(-km, km) / 111.0, lon=lon + rng.uniform(-km, km) / 95.0)


# Demo providers, by district; each gets five caregivers and two elders in each of its district's communities.
DEMO_PROVIDERS = [
    ("姑苏区", "姑苏区平江居家养老服务中心"),
    ("苏州工业园区", "园区湖西颐家居家养老服务社"),
    ("吴中区", "吴中区长桥乐龄居家服务中心"),
]
ALL_TYPES = [
    "meal",
    "bathing",
    "bed_bathing",
    "cleaning",
    "emergency",
    "medical_escort",
    "mobility",
    "companionship",
]
SKILL_SETS = [
    ALL_TYPES,
    ["meal", "cleaning", "companionship"],
    ["bathing", "bed_bathing", "mobility", "emergency"],
    ["meal", "medical_escort", "emergency"],
]


@dataclass
class _DemoTally:
    """Running numbers of the demo (caregivers and elders so far) and the first provider, community and elder."""

    cg_no: int = 0
    elder_no: int = 0
    first_provider_id: int | None = None
    first_community_id: int | None = None
    first_elder_id: int | None = None


async def seed_demo(session: AsyncSession) -> list[DemoAccount]:
    """Providers, caregivers, elders and one account per role, in 姑苏区, 工业园区 and 吴中区."""
    if (await session.execute(select(User.id).where(col(User.username) == "operator"))).first():
        return _demo_accounts(await session.execute(select(User.username, User.role)))
    rng = random.Random(2019)
    await _require_demo_proof(session)
    districts = {d.name: d for d in (await session.execute(select(District))).scalars()}
    tally = _DemoTally()
    for district_name, provider_name in DEMO_PROVIDERS:
        await _seed_demo_provider(session, rng=rng, district=districts[district_name], name=provider_name, tally=tally)
    first_elder_id, first_community_id = tally.first_elder_id, tally.first_community_id
    assert first_elder_id is not None and first_community_id is not None
    await _seed_demo_day_care(session, rng=rng, community_id=first_community_id)
    _seed_demo_device(session, elder_id=first_elder_id)
    gusu = districts["姑苏区"]
    await _seed_demo_users(
        session,
        community_id=first_community_id,
        district_id=gusu.id,
        provider_id=tally.first_provider_id,
        elder_id=first_elder_id,
    )
    await session.flush()
    return _demo_accounts(await session.execute(select(User.username, User.role)))


async def _require_demo_proof(session: AsyncSession) -> None:
    """The proof the demo city asks of each visit (DEMO_PROOF), on the service types that exist."""
    for code, required in DEMO_PROOF.items():
        kind = await session.get(ServiceType, code)
        if kind is not None:
            kind.proof_required = required


async def _seed_demo_provider(
    session: AsyncSession, *, rng: random.Random, district: District, name: str, tally: _DemoTally
) -> None:
    """A home-care provider covering the district's communities, its caregivers and the communities' elders."""
    communities = list(
        (
            await session.execute(
                select(Community).where(col(Community.district_id) == district.id).order_by(col(Community.code))
            )
        ).scalars()
    )
    provider = await registry.create_provider(
        session=session,
        data=ProviderCreate(
            name=name,
            kind="home_care",
            community_ids=[c.id for c in communities],
            service_types=ALL_TYPES,
            location=Location(lat=district.lat, lon=district.lon),
            uscc=demo_uscc(rng),
        ),
    )
    tally.first_provider_id = tally.first_provider_id or provider.id
    await insure_providers(session, [provider.id])
    session.add_all(
        ProviderRate(provider_id=provider.id, service_type=code, price_fen=yuan_to_fen(price))
        for code, price in SELF_PAY_PRICES.items()
    )
    await _seed_demo_caregivers(session, rng=rng, provider_id=provider.id, communities=communities, tally=tally)
    for community in communities:
        tally.first_community_id = tally.first_community_id or community.id
        for _ in range(2):
            await _seed_demo_elder(session, rng=rng, community=community, tally=tally)


async def _seed_demo_caregivers(
    session: AsyncSession,
    *,
    rng: random.Random,
    provider_id: int | None,
    communities: list[Community],
    tally: _DemoTally,
) -> None:
    """Five caregivers of the provider, based in its first communities."""
    for i in range(5):
        tally.cg_no += 1
        cg_no = tally.cg_no
        base = communities[i % len(communities)]
        await registry.create_caregiver(
            session=session,
            user=None,
            data=CaregiverCreate(
                provider_id=provider_id,
                name=demo_person(rng, "male" if i == 4 else "female"),
                phone=f"1390512{cg_no:04d}",
                username=f"cg{cg_no:02d}",
                password=DEMO_PASSWORD,
                skills=SKILL_SETS[i % len(SKILL_SETS)],
                gender="male" if i == 4 else "female",  # most home caregivers are women
                # Two in five grew up here and speak 苏州话 with the elders who prefer it.
                languages=["mandarin", "suzhounese"] if i in (0, 3) else ["mandarin"],
                location=_near(rng, base.lat, base.lon, 1.0),
            ),
        )


async def _seed_demo_elder(
    session: AsyncSession, *, rng: random.Random, community: Community, tally: _DemoTally
) -> None:
    """One elder of the community, with 低保 or accident cover for some."""
    tally.elder_no += 1
    elder_no = tally.elder_no
    born = date(1930, 1, 1) + timedelta(days=rng.randint(0, 365 * 22))
    gender = "female" if rng.random() < 0.6 else "male"  # women outlive men
    elder = await registry.create_elder(
        session=session,
        user=None,
        data=ElderCreate(
            name=demo_person(rng, gender),
            id_number=demo_id_number(rng, born, gender),
            language="suzhounese" if elder_no % 3 == 0 else None,
            phone=f"1381234{elder_no:04d}",
            community_id=community.id,
            address=f"{community.name}{rng.randint(1, 60)}幢{rng.randint(1, 6)}0{rng.randint(1, 4)}室",
            location=_near(rng, community.lat, community.lon, 0.4),
        ),
    )
    tally.first_elder_id = tally.first_elder_id or elder.id
    assert elder.id is not None
    if elder_no % 3 == 1:  # every third elder receives 低保 (and with it 8 orders a month)
        session.add(
            ElderBenefit(elder_id=elder.id, category="low_income", valid_from=date(2025, 1, 1), by="system:seed")
        )
    if elder_no % 4 == 0:  # every fourth has their own accident cover
        await insure(session, Scheme.elder_accident, [elder.id])


async def _seed_demo_day_care(session: AsyncSession, *, rng: random.Random, community_id: int) -> None:
    """A day-care centre in the first community: its places show on the community's dashboard."""
    home = await session.get(Community, community_id)
    assert home is not None
    centre = await registry.create_provider(
        session=session,
        data=ProviderCreate(
            name=f"{home.name}日间照料中心",
            kind="day_care",
            community_ids=[home.id],
            service_types=["day_care"],
            location=Location(lat=home.lat, lon=home.lon),
            uscc=demo_uscc(rng),
        ),
    )
    session.add(
        DayCareCentre(provider_id=centre.id, community_id=community_id, places=30, meal_places=25, transport_places=8)
    )


def _seed_demo_device(session: AsyncSession, *, elder_id: int) -> None:
    """The demo's one-key device (DEMO_DEVICE) in the first elder's home."""
    serial, secret = DEMO_DEVICE
    session.add(
        Device(
            elder_id=elder_id,
            serial=serial,
            model="一键通演示机",
            sim="1440000000001",
            secret_hash=digest(secret),
            last_seen_at=utcnow(),
        )
    )


async def _seed_demo_users(
    session: AsyncSession, *, community_id: int, district_id: int | None, provider_id: int | None, elder_id: int
) -> None:
    """One account per role (operator, community and district staff, provider, elder) and the elder's daughter."""
    for data in (
        UserCreate(username="operator", password=DEMO_PASSWORD, role=Role.operator, display_name="话务员小王"),
        UserCreate(
            username="community",
            password=DEMO_PASSWORD,
            role=Role.community_staff,
            community_id=community_id,
            display_name="社区工作人员",
        ),
        UserCreate(
            username="district",
            password=DEMO_PASSWORD,
            role=Role.community_staff,
            district_id=district_id,
            display_name="姑苏区民政",
        ),
        UserCreate(
            username="provider",
            password=DEMO_PASSWORD,
            role=Role.provider_admin,
            provider_id=provider_id,
            display_name="服务中心管理员",
        ),
        UserCreate(
            username="elder", password=DEMO_PASSWORD, role=Role.elder, elder_id=elder_id, display_name="老人账号"
        ),
        UserCreate(username="family", password=DEMO_PASSWORD, role=Role.family, display_name="家属（女儿）"),
    ):
        made = await users.create_user(session=session, data=data)
        if made.role == Role.family:  # the first elder's daughter: follows her orders, told of emergencies
            session.add(
                FamilyMember(elder_id=elder_id, user_id=made.id, name="王丽", phone="+8613912340001", relation="女儿")
            )


async def seed_demo_cover(session: AsyncSession) -> int:
    """Liability cover for the demo's institutions, all but the last (so the bureau's cover rate is not 100 %)."""
    homes = list(
        (
            await session.execute(
                select(Institution.id)
                .where(col(Institution.licence_no).startswith("DEMO-"))
                .order_by(col(Institution.id))
            )
        ).scalars()
    )
    covered = select(InsurancePolicy.insured_id).where(
        col(InsurancePolicy.scheme) == Scheme.institution_liability.value
    )
    if not homes or (await session.execute(covered.where(col(InsurancePolicy.insured_id).in_(homes)))).first():
        return 0
    return await insure(session, Scheme.institution_liability, homes[:-1])


def _demo_accounts(rows: object) -> list[DemoAccount]:
    accounts = []
    for username, role in rows:  # type: ignore[attr-defined]
        if username == "admin":
            accounts.append(DemoAccount(username, "$ELDERCARE_ADMIN_PASSWORD (默认 admin)", role, "全市"))
            accounts.append(DemoAccount(DEMO_DEVICE[0], DEMO_DEVICE[1], "device (一键通)", "第一位老人家中"))
        else:
            accounts.append(DemoAccount(username, DEMO_PASSWORD, role, ""))
    return accounts


def tree_for(scale: str) -> tuple[DistrictSeed, ...]:
    """The administrative tree of a seed scale."""
    return city_tree() if scale == "city" else demo_tree()
