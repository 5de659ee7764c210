"""Import policies of the three schemes from the insurers' and bureau's spreadsheets (CSV or XLSX).

One row a policy. Columns (header names, any order; the Chinese headers in brackets also work):
``scheme`` (险种: institution_liability|home_care_liability|elder_accident, or 机构责任险|居家责任险|意外险),
the insured by ``insured_id`` (被保险人编号) or ``insured_ref`` (被保险人: an institution's licence number, a
provider's exact name, an elder's resident ID number: only for those who may read ID numbers whole, since
which row passes would tell a masked number's hidden digits), ``insurer`` (保险公司), ``number`` (保单号),
``starts_on`` (起保日期), ``ends_on`` (终止日期), ``limit_per_event_yuan`` (每次限额; ``limit_per_event`` too),
``limit_per_year_yuan`` (年累计限额; ``limit_per_year`` too), ``payer`` (付费方: government|provider|institution|
elder, or 政府|服务组织|机构|个人), optional ``premium_yuan`` (保费). Amounts in yuan with at most two decimals
(never rounded: a third decimal is a bad row); stored in fen.

Every row is checked before anything is written; a file with a bad row imports nothing unless the
caller asks for the good rows. Each bad row is reported with its line number (the header is line 1).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.capacity.models import Institution
from backend.core.crypto import blind
from backend.core.db import utcnow
from backend.core.identity import InvalidIdentity, normalize_id_number
from backend.core.masking import mask_text
from backend.core.offload import compute, preload
from backend.core.schemas import MAX_ID
from backend.core.spreadsheets import CsvEncoding, UploadLimits, check_upload, read_rows, text
from backend.insurance.schemas import PolicyCreate
from backend.policies.models import INSURED_BY_SCHEME, InsurancePolicy, InsuredType, PolicyStatus, Scheme
from backend.registry.models import ELDER_ID_NUMBER, Elder, Provider

preload(__name__)  # compute() runs this module's functions in the API's pool of processes

HEADERS_ZH = {
    "险种": "scheme",
    "被保险人编号": "insured_id",
    "被保险人": "insured_ref",
    "保险公司": "insurer",
    "保单号": "number",
    "起保日期": "starts_on",
    "终止日期": "ends_on",
    "每次限额": "limit_per_event_yuan",
    "年累计限额": "limit_per_year_yuan",
    "limit_per_event": "limit_per_event_yuan",  # the headers from before amounts were in fen
    "limit_per_year": "limit_per_year_yuan",
    "付费方": "payer",
    "保费": "premium_yuan",
}
SCHEMES_ZH = {
    "机构责任险": "institution_liability",
    "居家责任险": "home_care_liability",
    "意外险": "elder_accident",
}
PAYERS_ZH = {"政府": "government", "服务组织": "provider", "机构": "institution", "个人": "elder"}
FIELDS_ZH = {
    "scheme": "险种",
    "insurer": "保险公司",
    "number": "保单号",
    "starts_on": "起保日期",
    "ends_on": "终止日期",
    "limit_per_event_fen": "每次限额",
    "limit_per_event_yuan": "每次限额",
    "limit_per_year_fen": "年累计限额",
    "limit_per_year_yuan": "年累计限额",
    "payer": "付费方",
    "premium_fen": "保费",
    "premium_yuan": "保费",
}


@dataclass
class Report:
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    good: list[PolicyCreate] = field(default_factory=list)
    imported: int = 0


@dataclass
class Registry:
    """What rows may refer to, loaded once per file."""

    by_type: dict[str, set[int]]
    refs: dict[str, dict[str, int]]
    taken: set[tuple[str, str]]
    # False: elders only by their platform id (the caller sees ID numbers masked; no matching on them).
    elders_by_id_number: bool = True


def _elder_refs(rows: list[tuple[int, dict[str, Any]]]) -> tuple[set[int], dict[str, str]]:
    """The elder ids the rows name, and {the ID numbers they name (as written, upper case): blind index}."""
    ids: set[int] = set()
    indexes: dict[str, str] = {}
    for _line, raw in rows:
        number = _number(raw.get("insured_id"))
        if isinstance(number, int) and 0 < number <= MAX_ID:
            ids.add(number)
        ref = text(raw.get("insured_ref")).upper()
        if ref and len(ref) <= 32:
            with contextlib.suppress(InvalidIdentity):  # not an ID number: a licence number or a provider's name
                indexes[ref] = blind(normalize_id_number(ref), context=ELDER_ID_NUMBER)
    return ids, indexes


async def _registry(
    session: AsyncSession, rows: list[tuple[int, dict[str, Any]]], *, elders_by_id_number: bool
) -> Registry:
    """What the rows may refer to. Institutions and providers are few and loaded whole; elders are many, so only
    those the rows name are looked up (by id, and by the blind index of an ID number for those who may)."""
    institutions = (await session.execute(select(Institution.id, Institution.licence_no))).all()
    providers = (await session.execute(select(Provider.id, Provider.name))).all()
    wanted_ids, wanted_numbers = _elder_refs(rows)
    elder_ids: set[int] = set()
    for chunk in _chunks(sorted(wanted_ids)):
        elder_ids |= set((await session.execute(select(Elder.id).where(col(Elder.id).in_(chunk)))).scalars())
    elders: list[tuple[int, str]] = []
    if elders_by_id_number:
        by_index = {index: ref for ref, index in wanted_numbers.items()}
        for chunk in _chunks(sorted(by_index)):
            found = await session.execute(
                select(Elder.id, Elder.id_number_index).where(col(Elder.id_number_index).in_(chunk))
            )
            elders += [(elder_id, by_index[index]) for elder_id, index in found.all() if elder_id is not None]
    names: dict[str, int] = {}
    for pid, name in providers:
        names[name] = -1 if name in names else pid  # an ambiguous name cannot be used
    return Registry(
        by_type={
            InsuredType.institution: {i for i, _ in institutions},
            InsuredType.provider: {p for p, _ in providers},
            InsuredType.elder: elder_ids,
        },
        refs={
            InsuredType.institution: {ref: i for i, ref in institutions},
            InsuredType.provider: names,
            InsuredType.elder: {ref: e for e, ref in elders},
        },
        taken={
            (i, n) for i, n in (await session.execute(select(InsurancePolicy.insurer, InsurancePolicy.number))).all()
        },
        elders_by_id_number=elders_by_id_number,
    )


def _day(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value).replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat("-".join(part.zfill(2) for part in raw.split("-"))) if raw else None
    except ValueError:
        return raw  # left for the schema to refuse


def _number(value: Any) -> Any:
    raw = text(value).replace(",", "")
    try:
        return int(float(raw)) if raw else None
    except (ValueError, OverflowError):  # "abc", "nan", "inf", "1e400": left for the schema to refuse
        return raw


def _amount(value: Any) -> Any:
    """An amount cell as the schema reads yuan: a number as it is, text without its thousands separators."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return text(value).replace(",", "") or None


def _check(raw: dict[str, Any], registry: Registry) -> tuple[list[str], PolicyCreate | None]:
    problems: list[str] = []
    scheme = SCHEMES_ZH.get(text(raw.get("scheme")), text(raw.get("scheme")))
    if scheme not in {s.value for s in Scheme}:
        return [f"险种 {scheme or '（空）'} 无效"], None
    insured_type = INSURED_BY_SCHEME[Scheme(scheme)].value
    insured_id: int | None = None
    ident, ref = text(raw.get("insured_id")), text(raw.get("insured_ref"))
    if ident:
        number = _number(ident)
        if isinstance(number, int) and number in registry.by_type[insured_type]:
            insured_id = number
        else:
            problems.append(f"被保险人编号 {ident} 不存在")
    elif ref and insured_type == InsuredType.elder and not registry.elders_by_id_number:
        problems.append("被保险人为老人时请填写老人编号（被保险人编号），不能以身份证号匹配")
    elif ref:
        found = registry.refs[insured_type].get(ref.upper() if insured_type == InsuredType.elder else ref)
        if insured_type == InsuredType.elder:
            ref = mask_text(ref)
        if found is None:
            problems.append(f"被保险人 {ref} 不存在")
        elif found < 0:
            problems.append(f"被保险人 {ref} 重名，请填写编号")
        else:
            insured_id = found
    else:
        problems.append("缺少被保险人")
    payer = text(raw.get("payer"))
    values = {
        "scheme": scheme,
        "insured_type": insured_type,
        "insured_id": insured_id or 1,  # checked above; keeps the schema's own checks to the other fields
        "insurer": text(raw.get("insurer")),
        "number": text(raw.get("number")),
        "starts_on": _day(raw.get("starts_on")),
        "ends_on": _day(raw.get("ends_on")),
        "limit_per_event_yuan": _amount(raw.get("limit_per_event_yuan")),
        "limit_per_year_yuan": _amount(raw.get("limit_per_year_yuan")),
        "premium_yuan": _amount(raw.get("premium_yuan")),
        "payer": PAYERS_ZH.get(payer, payer),
    }
    try:
        policy = PolicyCreate.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            # A refused amount is named in its context (the check runs on the whole row).
            where = str(error["loc"][0]) if error["loc"] else str((error.get("ctx") or {}).get("field", ""))
            problems.append(f"{FIELDS_ZH.get(where, where) or '行'}：{error['msg']}")
        return problems, None
    if (policy.insurer, policy.number) in registry.taken:
        problems.append(f"保单 {policy.insurer} {policy.number} 已登记")
    return problems, policy if not problems else None


async def check_rows(
    session: AsyncSession,
    data: bytes,
    filename: str,
    *,
    limits: UploadLimits,
    elders_by_id_number: bool,
    encoding: CsvEncoding | None = None,
) -> Report:
    """Read and check every row (off the event loop, in the offload pool: parsing is CPU-bound); nothing is written.

    ``elders_by_id_number``: rows may name an elder by resident ID number (callers who read them whole).
    """
    await anyio.to_thread.run_sync(check_upload, data, filename, limits)  # a bomb refused at once, here
    rows = await compute(_read_all, data, filename, limits, encoding)
    registry = await _registry(session, rows, elders_by_id_number=elders_by_id_number)
    return await compute(_check_all, rows, registry)


def _read_all(
    data: bytes, filename: str, limits: UploadLimits, encoding: CsvEncoding | None
) -> list[tuple[int, dict[str, Any]]]:
    return list(read_rows(data, filename, HEADERS_ZH, limits, encoding))


def _chunks(values: list[Any], size: int = 1000) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _check_all(rows: list[tuple[int, dict[str, Any]]], registry: Registry) -> Report:
    report = Report()
    for line, raw in rows:
        report.rows += 1
        problems, policy = _check(raw, registry)
        if problems:
            report.errors.append((line, "；".join(problems)))
            continue
        assert policy is not None
        registry.taken.add((policy.insurer, policy.number))
        report.good.append(policy)
    return report


async def write_rows(session: AsyncSession, report: Report, *, by: str) -> None:
    """Insert the checked rows' policies (one multi-row insert: a large file does not build an object per row
    on the event loop)."""
    if report.good:
        now = utcnow()
        rows = [
            {**policy.model_dump(), "by": by, "status": PolicyStatus.active.value, "created_at": now}
            for policy in report.good
        ]
        await session.execute(insert(InsurancePolicy), rows)
    report.imported = len(report.good)
