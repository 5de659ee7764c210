"""Every table, imported so the metadata is complete (Alembic, tests)."""

from __future__ import annotations

from backend.areas.models import Community, District, Street
from backend.audit.models import AuditEvent
from backend.benefits.models import BenefitCategory, ElderBenefit, ProviderRate
from backend.calendars.models import CalendarDay, CaregiverBooking, CaregiverShift
from backend.capacity.models import Admission, Bed, BedHold, BedKind, CapacitySnapshot, Institution, WaitingEntry
from backend.core.db import metadata
from backend.core.events import ChannelCursor, ChannelEvent, OutboxEvent
from backend.core.idempotency import IdempotentRequest
from backend.core.leases import Lease
from backend.core.secrets import PlatformSecret
from backend.dashboard.models import OrderFigure
from backend.daycare.models import DayCareBooking, DayCareCentre, DayCareDay
from backend.devices.models import Device, DeviceAlarm
from backend.dispatch.models import BreachModel, BreachSnapshot, BreachWatch, Offer
from backend.emergency.models import LadderStep
from backend.families.models import FamilyMember
from backend.feedback.models import Complaint
from backend.followups.models import FollowUp
from backend.insurance.models import Claim, ClaimEvent, Incident, PolicyReminder
from backend.notifications.models import Notification
from backend.orders.models import ConfirmationCode, RequestHistory, ServiceRequest, Visit, VisitProof
from backend.plans.models import ServicePlan
from backend.policies.models import InsurancePolicy
from backend.registry.models import (
    BlockedCaregiver,
    Caregiver,
    CaregiverAbsence,
    CaregiverSkill,
    Elder,
    Provider,
    ProviderCommunity,
    ProviderService,
    ServiceType,
)
from backend.settlement.models import Settlement, SettlementLine, VisitCorrection
from backend.users.models import User

__all__ = [
    "Admission",
    "AuditEvent",
    "Bed",
    "BedHold",
    "BedKind",
    "BenefitCategory",
    "BlockedCaregiver",
    "BreachModel",
    "BreachSnapshot",
    "BreachWatch",
    "CalendarDay",
    "CapacitySnapshot",
    "Caregiver",
    "CaregiverAbsence",
    "CaregiverBooking",
    "CaregiverShift",
    "CaregiverSkill",
    "ChannelCursor",
    "ChannelEvent",
    "Claim",
    "ClaimEvent",
    "Community",
    "Complaint",
    "ConfirmationCode",
    "DayCareBooking",
    "DayCareCentre",
    "DayCareDay",
    "Device",
    "DeviceAlarm",
    "District",
    "Elder",
    "ElderBenefit",
    "FamilyMember",
    "FollowUp",
    "IdempotentRequest",
    "Incident",
    "Institution",
    "InsurancePolicy",
    "LadderStep",
    "Lease",
    "Notification",
    "Offer",
    "OrderFigure",
    "OutboxEvent",
    "PlatformSecret",
    "PolicyReminder",
    "Provider",
    "ProviderCommunity",
    "ProviderRate",
    "ProviderService",
    "RequestHistory",
    "ServicePlan",
    "ServiceRequest",
    "ServiceType",
    "Settlement",
    "SettlementLine",
    "Street",
    "User",
    "Visit",
    "VisitCorrection",
    "VisitProof",
    "WaitingEntry",
    "metadata",
]
