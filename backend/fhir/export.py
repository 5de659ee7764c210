"""``eldercare fhir-export``: a month of the platform as FHIR bulk data (one NDJSON file per resource type).

Run on the server by the city's operators for the health system (which links records by the resident ID number,
so Patients carry it whole): the month's ServiceRequests, Tasks and Encounters of consenting elders, and the
Patients, Practitioners and Organizations they refer to. Every elder exported is named in the audit trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from sqlmodel import col, select

from backend.access.personal import WHOLE
from backend.audit import service as audit
from backend.core.runtime import Runtime
from backend.fhir import resources, service
from backend.registry import service as registry
from backend.registry.models import Caregiver, Elder, Provider

PAGE = 1000


async def export_month(runtime: Runtime, month: str, folder: Path) -> dict[str, int]:
    """Write ``<Type>.ndjson`` files for the month into ``folder``; how many resources of each type."""
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    refs: dict[str, set[int]] = {"Patient": set(), "Practitioner": set(), "Organization": set()}
    async with runtime.unit_of_work() as session:
        for kind in service.KINDS:
            made: list[dict[str, Any]] = []
            offset = 0
            while True:
                page = await service.search(session, kind=kind, month=month, user=None, limit=PAGE, offset=offset)
                made.extend(page.resources)
                offset += PAGE
                if offset >= page.total:
                    break
            for item in made:
                for key in ("subject", "for", "owner", "serviceProvider"):
                    _collect(refs, item.get(key))
                for part in item.get("performer", []) + [p.get("individual") for p in item.get("participant", [])]:
                    _collect(refs, part)
            counts[kind] = await anyio.to_thread.run_sync(_write, folder / f"{kind}.ndjson", made)
        elders = (await session.execute(select(Elder).where(col(Elder.id).in_(sorted(refs["Patient"]))))).scalars()
        patients = [resources.patient(await registry.elder_file(session, e, whole=True)) for e in elders]
        await audit.record_reads(session, action="fhir.bulk_export", elder_ids=sorted(refs["Patient"]))
        counts["Patient"] = await anyio.to_thread.run_sync(_write, folder / "Patient.ndjson", patients)
        staff = (
            await session.execute(select(Caregiver).where(col(Caregiver.id).in_(sorted(refs["Practitioner"]))))
        ).scalars()
        people = [resources.practitioner(await registry.caregiver_public(session, c, shown=WHOLE)) for c in staff]
        counts["Practitioner"] = await anyio.to_thread.run_sync(_write, folder / "Practitioner.ndjson", people)
        providers = select(Provider).where(col(Provider.id).in_(sorted(refs["Organization"])))
        orgs = [
            resources.organization(await registry.get_provider_public(session=session, provider=p))
            for p in (await session.execute(providers)).scalars()
        ]
        counts["Organization"] = await anyio.to_thread.run_sync(_write, folder / "Organization.ndjson", orgs)
    return counts


def _collect(refs: dict[str, set[int]], reference: Any) -> None:
    if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
        kind, _, ident = reference["reference"].partition("/")
        if kind in refs and ident.isdigit():
            refs[kind].add(int(ident))


def _write(path: Path, items: list[dict[str, Any]]) -> int:
    with path.open("w", encoding="utf-8") as out:
        out.writelines(service.ndjson(items))
    return len(items)
