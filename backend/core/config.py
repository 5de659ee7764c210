"""Settings of the platform, read from the environment (prefix ``ELDERCARE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "admin", "password"}
REPO_ROOT = Path(__file__).resolve().parents[2]


class WaitingWeights(BaseModel):
    """How a city orders its bed waiting lists (``ELDERCARE_WAITING_WEIGHTS``): higher first, then who came first."""

    extreme_poverty: int = Field(default=100, ge=0)  # 特困
    low_income: int = Field(default=50, ge=0)  # 低保
    per_disability_level: int = Field(default=10, ge=0)


class LadderStepConfig(BaseModel):
    """One rung of an emergency's escalation ladder (``ELDERCARE_EMERGENCY_LADDER``)."""

    code: Literal["operator_callback", "family", "community_staff", "caregiver", "public_emergency"]
    seconds: int = Field(ge=0, le=86_400)  # how long before the next rung; 0: until someone acts


def default_ladder() -> list[LadderStepConfig]:
    return [
        LadderStepConfig(code="operator_callback", seconds=60),
        LadderStepConfig(code="family", seconds=120),
        LadderStepConfig(code="community_staff", seconds=300),
        LadderStepConfig(code="caregiver", seconds=300),
        LadderStepConfig(code="public_emergency", seconds=0),
    ]


class DispatchWeights(BaseModel):
    """What each objective is worth, in minutes of travel (a city sets its own: ``ELDERCARE_DISPATCH_WEIGHTS``).

    The dispatcher ranks eligible caregivers by a cost in minutes: travel time, plus lateness against the
    order's window, plus today's workload, minus bonuses for continuity of care, the elder's preferred
    caregiver and language, and for a provider below its fair share of government-paid orders; for an
    emergency, plus a cost per booked visit the caregiver would hand to a colleague.
    """

    travel_per_minute: float = Field(default=1.0, ge=0)
    lateness_per_minute: float = Field(default=2.0, ge=0)
    continuity_per_visit: float = Field(default=4.0, ge=0)
    continuity_max_visits: int = Field(default=3, ge=0)
    poor_rating_penalty: float = Field(default=10.0, ge=0)
    preferred_caregiver: float = Field(default=15.0, ge=0)
    language: float = Field(default=6.0, ge=0)
    workload_per_order: float = Field(default=3.0, ge=0)
    # An emergency may take a caregiver whose visit booked for later overlaps it; that visit goes to a colleague.
    bump_per_visit: float = Field(default=30.0, ge=0)
    fairness_per_point: float = Field(default=0.5, ge=0)
    fairness_max_points: float = Field(default=20.0, ge=0)


class Settings(BaseSettings):
    """Every tunable of the platform; defaults give the embedded single-process mode."""

    model_config = SettingsConfigDict(env_prefix="ELDERCARE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'eldercare.db'}"
    redis_url: str | None = None
    redis_prefix: str = "eldercare"
    # Unset: a random key is made on first start and kept in the database, shared by every process.
    secret_key: str | None = None
    # Unset: "admin" in the embedded mode; elsewhere a random password, printed once when admin is created.
    admin_password: str | None = None
    access_token_minutes: int = 12 * 60

    # Dispatch
    dispatch_batch_seconds: float = 0.0
    offer_seconds_normal: int = 120
    offer_seconds_urgent: int = 60
    offer_seconds_emergency: int = 30
    offer_fanout_emergency: int = 3
    max_candidates: int = 20
    candidate_radius_km: float = 30.0
    dispatch_weights: DispatchWeights = Field(default_factory=DispatchWeights)
    travel_speed_kmh: float = Field(default=15.0, gt=0)  # an electric scooter in town
    road_factor: float = Field(default=1.3, ge=1)  # road distance over straight-line distance
    fairness_days: int = Field(default=30, ge=1)  # the window over which providers' shares are counted
    fairness_cache_seconds: float = Field(default=30.0, ge=0)
    # Only providers with home-care liability cover valid on the visit's day are offered orders (contract v1).
    liability_cover_required: bool = True
    # An emergency's escalation ladder: each rung's timer, swept from the database.
    emergency_ladder: list[LadderStepConfig] = Field(default_factory=default_ladder, min_length=1)
    # Who sends SMS and voice messages (only the logged fake ships with the platform).
    notify_sender: Literal["fake"] = "fake"
    # After the visit: the share of orders called back (first-time elders always), within how long; a rating
    # at or below ``low_rating`` opens a complaint, which the provider answers within ``complaint_answer_hours``;
    # a finished order closes once followed up, or after ``close_after_hours``.
    follow_up_share: float = Field(default=0.1, ge=0, le=1)
    follow_up_hours: int = Field(default=24, ge=1)
    low_rating: int = Field(default=2, ge=0, le=5)
    complaint_answer_hours: int = Field(default=72, ge=1)
    close_after_hours: int = Field(default=72, ge=1)
    # One-key devices: an operator calls back a green button within this; a device silent this long is checked.
    help_call_minutes: int = Field(default=15, ge=1)
    device_dormant_days: int = Field(default=7, ge=1)
    dormant_check_days: int = Field(default=3, ge=1)  # the community's time to visit a dormant device
    # Days each step of an insurance claim may take before the bureau and the insured are told it is overdue.
    claim_deadline_days: dict[str, int] = Field(
        default_factory=lambda: {"reported": 3, "documents": 15, "submitted": 30, "approved": 10}
    )
    # The evening day plan: at this local time tomorrow's visits are generated and routed.
    day_plan_at: str = Field(default="20:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    day_plan_seconds: float = Field(default=30.0, gt=0)  # the planner's time limit per provider
    # A planned visit still unplanned this close to its window goes to the dispatcher.
    plan_fallback_hours: float = Field(default=2.0, ge=0)
    # Capacity: how long a bed is held for an elder before it lapses back to free.
    bed_hold_hours: float = Field(default=48.0, gt=0)
    waiting_weights: WaitingWeights = Field(default_factory=WaitingWeights)
    waiting_offer_hours: float = Field(default=24.0, gt=0)  # a bed offered from the waiting list is held this long
    # A visit the day plan could only make this late after its window goes to the dispatcher instead.
    plan_max_late_minutes: float = Field(default=30.0, ge=0)
    checkin_radius_m: float = 300.0
    emergency_escalate_seconds: int = 90
    stalled_seconds: float = 30.0
    # An order nobody is free for, but someone will be (busy, or holding another offer), waits this long.
    dispatch_wait_seconds: float = Field(default=600.0, ge=0)

    # The queue's colours: minutes an order may wait to be accepted, and for the caregiver to arrive (after the
    # order, or after the start of its window plus ``sla_late_arrival_minutes``), by priority; amber from this share.
    sla_accept_minutes: dict[str, int] = Field(default_factory=lambda: {"emergency": 3, "urgent": 15, "normal": 60})
    sla_arrive_minutes: dict[str, int] = Field(default_factory=lambda: {"emergency": 30, "urgent": 120, "normal": 1440})
    sla_late_arrival_minutes: int = Field(default=30, ge=0)
    sla_warn_share: float = Field(default=0.75, gt=0, le=1)

    # Scheduler
    sweep_seconds: float = 5.0
    relay_sweep_seconds: float = 2.0

    event_retention_days: int = 7
    prune_seconds: float = 3600.0

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            if self.secret_key is not None and (self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 32):
                raise ValueError("ELDERCARE_SECRET_KEY must be a real secret of 32+ characters (or unset)")
            if self.admin_password is not None and self.admin_password in PLACEHOLDER_SECRETS:
                raise ValueError("ELDERCARE_ADMIN_PASSWORD must not be a placeholder in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: in-process bus and worker."""
        return not self.redis_url

    def offer_seconds(self, priority: str) -> int:
        """How long a caregiver has to answer an offer of this priority."""
        return {
            "emergency": self.offer_seconds_emergency,
            "urgent": self.offer_seconds_urgent,
        }.get(priority, self.offer_seconds_normal)

    def travel_minutes(self, distance_m: float) -> float:
        """Estimated travel time over a straight-line distance."""
        return distance_m * self.road_factor / 1000 / self.travel_speed_kmh * 60

    def offer_fanout(self, priority: str) -> int:
        """How many caregivers are offered an order of this priority at once."""
        return max(1, self.offer_fanout_emergency) if priority == "emergency" else 1

    @property
    def sync_database_url(self) -> str:
        """The same database for synchronous drivers (Alembic)."""
        return (
            self.database_url.replace("+asyncpg", "+psycopg")
            .replace("+aiosqlite", "")
            .replace("postgresql://", "postgresql+psycopg://")
        )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return Settings()
