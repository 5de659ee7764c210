"""Settings of the platform, read from the environment (prefix ``ELDERCARE_``)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "admin", "password"}
# What the demo seed gives its accounts and its one-key device: printed in the README, so never valid in production.
DEMO_PASSWORD = "demo1234"
DEMO_DEVICE_SECRET = "demo-device-secret"
# Passwords and secrets anybody would try first, the demo's among them: production refuses them at every door.
WELL_KNOWN_SECRETS = frozenset(
    PLACEHOLDER_SECRETS
    | {DEMO_PASSWORD, DEMO_DEVICE_SECRET, "admin123", "123456", "12345678", "123456789", "password1", "qwerty123"}
)
REPO_ROOT = Path(__file__).resolve().parents[2]


def async_url(url: str) -> str:
    """A database URL with the platform's async driver: ``postgresql://`` (or ``postgres://``) takes asyncpg,
    ``sqlite://`` aiosqlite; an explicit driver stays as written."""
    for plain, driver in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://")):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


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
    # Connections each API process keeps to the database, and how many more it may open when busy (a Celery
    # worker's child takes at most 2 + 2; docs/operations.md, "Connection budget").
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_max_overflow: int = Field(default=20, ge=0, le=500)
    # The database URL is a PgBouncer in transaction pooling: no server-side prepared statement outlives its
    # transaction (asyncpg's and SQLAlchemy's statement caches off, each statement named uniquely; psycopg's
    # automatic preparing off).
    database_pgbouncer: bool = False
    # A streaming replica (hot standby) for the reads that tolerate its lag: the dashboard's figures, the city table
    # and its export, lists of areas, settlement listings and exports (README, "Reads off the primary"). Unset:
    # every read on ELDERCARE_DATABASE_URL. The same URL forms; ELDERCARE_DATABASE_PGBOUNCER applies to both.
    database_read_url: str | None = None
    # After the replica failed to answer, its reads go to the primary this long before the replica is tried again.
    database_read_retry_seconds: float = Field(default=10.0, ge=0, le=3600)
    redis_url: str | None = None
    # Every key the platform keeps in Redis starts with "<prefix>:", Celery's queues and bindings too: two
    # deployments (a district's test and production) may share one Redis.
    redis_prefix: str = Field(default="eldercare", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # The tokens' signing key. Unset outside production: a random key is made on first start and kept in the
    # database, shared by every process. Production refuses to start without it (never a key in the database).
    secret_key: str | None = None
    # Encryption at rest of ID and phone numbers: "id:base64key,…" (the first seals, all open) and the blind
    # index's key (``eldercare new-key`` makes one). Production refuses to start without them; elsewhere a key
    # file under var/secrets/ is made on first use.
    data_keys: str | None = None
    blind_index_key: str | None = None
    # Unset: "admin" in the embedded mode; elsewhere a random password, printed once when admin is created.
    admin_password: str | None = None
    # Tokens are short; the pages and apps renew them while in use (POST /api/v1/auth/refresh).
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # A signed-in session may be renewed for this long after its sign-in, then the person signs in again.
    session_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    # /docs and /openapi.json: None means public except in production, where they need a sign-in.
    docs_public: bool | None = None

    # What a request may send: JSON bodies, and uploads (multipart forms) with what they may inflate to.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1_048_576, ge=1024)
    max_upload_inflated_bytes: int = Field(default=50 * 1_048_576, ge=1024)  # an XLSX's members, unpacked
    max_upload_members: int = Field(default=200, ge=1)
    max_import_rows: int = Field(default=50_000, ge=1)
    # permessage-deflate on the sockets: events are a few hundred bytes, where compressing each for each socket costs
    # more CPU than it saves in bytes (off unless a deployment's links are that slow).
    websocket_compression: bool = False
    # The server's own pings find sockets whose phone has gone without a word; the apps ping every 25 s themselves,
    # so a minute is enough, and twenty thousand phones cost a third of the pings they would at uvicorn's 20 s.
    websocket_ping_seconds: float = Field(default=60.0, gt=0, le=3600)
    # Sockets opened a second by one API process at most: a reconnect storm (every phone of a district back at
    # once) waits its turn in the handshake instead of holding offers and status changes up behind it.
    websocket_opens_per_second: float = Field(default=400.0, gt=0)

    # A POST's Idempotency-Key is remembered (with its answer) this long.
    idempotency_hours: float = Field(default=24.0, gt=0, le=24 * 7)

    # Sign-in throttling (failed attempts; "N/period" in the `limits` notation): per account and per address.
    login_limit_per_account: str = "5/15 minutes"
    login_limit_per_address: str = "50/15 minutes"
    # One-key devices: wrong secrets per serial and per address.
    device_auth_limit: str = "10/15 minutes"
    # The apps' SOS button, per elder: presses beyond this are refused (429) until the window moves on; one open
    # emergency absorbs the presses within it anyway, so this only stops a stuck or replaying app.
    sos_limit: str = "6/10 minutes"

    # Dispatch. The policy: greedy (each order from a snapshot), batched (orders of a window matched jointly,
    # ``dispatch_batch_seconds``), lookahead (an order booked for later scored from where each caregiver will be
    # free: see backend/calendars/positions.py). Unset: batched when a window is set, else greedy.
    dispatch_policy: Literal["greedy", "batched", "lookahead"] | None = None
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
    # Only providers with home-care liability cover valid on the visit's day are offered orders (docs/contract.md,
    # "Insurance").
    liability_cover_required: bool = True
    # An emergency's escalation ladder: each rung's timer, swept from the database.
    emergency_ladder: list[LadderStepConfig] = Field(default_factory=default_ladder, min_length=1)
    # Who sends SMS: the logged fake (development), Aliyun SMS or Tencent Cloud SMS. A provider sends only approved
    # templates: the sign name (签名) and, per platform template (``emergency``, ``visit_code``, …, optionally per
    # language as ``visit_code.en``), the provider's template code; parameters are the template's fields, in the
    # order the Chinese text names them (Tencent's are positional). Voice messages are logged until a voice
    # gateway is configured.
    notify_sender: Literal["fake", "aliyun", "tencent"] = "fake"
    sms_sign_name: str = Field(default="苏州虚拟养老", min_length=1, max_length=32)
    sms_templates: dict[str, str] = Field(default_factory=dict)
    sms_access_key_id: str | None = None  # Aliyun AccessKeyId / Tencent SecretId
    sms_access_key_secret: SecretStr | None = None  # Aliyun AccessKeySecret / Tencent SecretKey
    sms_sdk_app_id: str | None = None  # Tencent's SmsSdkAppId
    sms_region: str | None = None  # default: cn-hangzhou (Aliyun), ap-guangzhou (Tencent)
    sms_endpoint: str | None = None  # default: the provider's public endpoint (a stub's, in tests)
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
    # Rolling re-optimisation (the lookahead policy): how often each provider's accepted visits that have not
    # started are planned again (0: never), the planner's seconds for it, the travel minutes one change of hands
    # must be worth, the net minutes a new plan must save, and how soon before setting off a visit stops moving.
    replan_minutes: float = Field(default=10.0, ge=0)
    replan_seconds: float = Field(default=2.0, gt=0)
    replan_change_minutes: float = Field(default=5.0, ge=0)
    replan_min_saving_minutes: float = Field(default=2.0, ge=0)
    replan_freeze_minutes: float = Field(default=30.0, ge=0)
    checkin_radius_m: float = 300.0
    # The hotline the apps offer to call (12349: the national elder-care service hotline).
    hotline_phone: str = Field(default="12349", pattern=r"^[0-9+\-]{3,20}$")
    # Who hands trips to the phone's map apps: Amap's and Baidu's ``src`` (Baidu asks "platform.company.app"),
    # Tencent's ``referer`` (the developer key from lbs.qq.com; an app name is accepted without one).
    map_source: str = Field(default="webapp.eldercare.caregiver", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    tencent_map_key: str = Field(default="eldercare", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    # A phone's own time for en route, check-in and check-out (an action queued offline and replayed later) is
    # taken when no older than this and no more than ``device_time_ahead_seconds`` ahead of the server.
    device_time_lateness_hours: float = Field(default=12.0, gt=0, le=72)
    device_time_ahead_seconds: float = Field(default=120.0, ge=0, le=3600)
    # A visit shorter than this share of its service's usual minutes is not paid (settlement: too_short).
    min_visit_share: float = Field(default=0.25, ge=0, le=1)
    # A visit paid with public money (the government's quota, the one-key emergency service) on a public holiday
    # (法定节假日, per backend/calendars/holidays.py) is paid this much more, in percent of its price, rounded half
    # up to the fen (the city's decision: 0 marks holiday visits on the statement without paying more).
    holiday_premium_percent: Decimal = Field(default=Decimal(0), ge=0, le=300, decimal_places=2)
    # Proof of the visit: photos and signatures (JPEG, PNG or WebP) up to this size, kept in the file store; the
    # elder's confirmation code by SMS is valid this long, at most so many are sent per order, and wrong codes are
    # counted per order (``N/period``: then 429 until the window moves on; check-out without a code still works).
    max_proof_bytes: int = Field(default=5 * 1_048_576, ge=1024)
    confirmation_code_minutes: int = Field(default=10, ge=1, le=24 * 60)
    confirmation_code_sends: str = "5/1 hour"
    confirmation_code_limit: str = "5/1 day"

    # Where uploaded files (proof of visits) are kept: a folder (written atomically), or S3-compatible object
    # storage (AWS S3, MinIO, Aliyun OSS, Tencent COS…); files are content-addressed (``proofs/<sha256>``).
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path = REPO_ROOT / "var" / "storage"
    s3_endpoint_url: str | None = None  # none: AWS itself
    s3_bucket: str | None = None
    s3_access_key: str | None = None  # none: boto3's own chain (environment, instance role)
    s3_secret_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    emergency_escalate_seconds: int = 90
    stalled_seconds: float = 30.0
    # An order nobody is free for, but someone will be (busy, or holding another offer), waits this long.
    dispatch_wait_seconds: float = Field(default=600.0, ge=0)
    # A waiting order is woken by the caregiver who becomes free; the sweep looks at it again only this often, in
    # case a way of becoming free told nobody (and at once when its waiting time is up, to give it to an operator).
    waiting_recheck_seconds: float = Field(default=60.0, gt=0)

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
    # The audit trail of personal data is kept this long (MLPS level 3 asks for at least six months).
    audit_retention_days: int = Field(default=3 * 365, ge=180)
    prune_seconds: float = 3600.0

    log_level: str = "INFO"
    # json: one JSON object a line (for a log collector); text: for people at a terminal.
    log_format: Literal["json", "text"] = "text"

    # Metrics (Prometheus): GET /metrics on every API process, open unless a token is set (then
    # ``Authorization: Bearer <token>``); workers and the scheduler serve their own on these ports when set.
    metrics_token: SecretStr | None = None
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    scheduler_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"  # where workers and the scheduler listen (0.0.0.0 in a pod)

    # SLA-breach prediction (backend/dispatch/breach.py): every ``breach_sweep_seconds`` each open order is scored;
    # at ``breach_threshold`` or above it is flagged (the operators told once), and its next rounds offer it to
    # ``breach_offer_fanout`` caregivers at once within ``breach_radius_factor`` × the dispatch radius. The model is
    # trained nightly at ``breach_train_at`` on the last ``breach_history_days`` of snapshots; below
    # ``breach_min_samples`` labelled snapshots the rule-based estimate is used. A snapshot of an open order is kept
    # at most every ``breach_snapshot_minutes``.
    breach_sweep_seconds: float = Field(default=60.0, gt=0)
    breach_threshold: float = Field(default=0.5, gt=0, le=1)
    breach_offer_fanout: int = Field(default=3, ge=1, le=20)
    breach_radius_factor: float = Field(default=1.5, ge=1, le=5)
    breach_train_at: str = Field(default="03:40", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    breach_history_days: int = Field(default=14, ge=1, le=365)
    breach_min_samples: int = Field(default=300, ge=10)
    breach_snapshot_minutes: float = Field(default=5.0, ge=0)

    @property
    def production(self) -> bool:
        """True in production: no demo data, no well-known passwords, docs behind sign-in."""
        return self.environment == "production"

    @property
    def docs_open(self) -> bool:
        """True when /docs and /openapi.json need no sign-in."""
        return self.docs_public if self.docs_public is not None else not self.production

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_url(value) if value else value

    @field_validator("database_read_url")
    @classmethod
    def _read_driver(cls, value: str | None) -> str | None:
        return async_url(value) if value else None  # empty (compose's default): no replica

    @field_validator(
        "login_limit_per_account",
        "login_limit_per_address",
        "device_auth_limit",
        "sos_limit",
        "confirmation_code_sends",
        "confirmation_code_limit",
    )
    @classmethod
    def _a_limit(cls, value: str) -> str:
        from limits import parse

        parse(value)  # ValueError on anything but "N/period"
        return value

    @field_validator("data_keys", "blind_index_key")
    @classmethod
    def _keys(cls, value: str | None, info: Any) -> str | None:
        if value:
            from backend.core.crypto import parse_index_key, parse_keys

            parse_keys(value) if info.field_name == "data_keys" else parse_index_key(value)
        return value

    @model_validator(mode="after")
    def _sms_complete(self) -> Settings:
        if self.notify_sender != "fake":
            missing = [
                name
                for name, value in (
                    ("ELDERCARE_SMS_ACCESS_KEY_ID", self.sms_access_key_id),
                    ("ELDERCARE_SMS_ACCESS_KEY_SECRET", self.sms_access_key_secret),
                    ("ELDERCARE_SMS_TEMPLATES", self.sms_templates),
                    *([("ELDERCARE_SMS_SDK_APP_ID", self.sms_sdk_app_id)] if self.notify_sender == "tencent" else []),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"ELDERCARE_NOTIFY_SENDER={self.notify_sender} needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _policy_complete(self) -> Settings:
        if self.dispatch_policy == "batched" and self.dispatch_batch_seconds <= 0:
            raise ValueError("ELDERCARE_DISPATCH_POLICY=batched needs ELDERCARE_DISPATCH_BATCH_SECONDS > 0")
        return self

    @model_validator(mode="after")
    def _storage_complete(self) -> Settings:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("ELDERCARE_STORAGE_BACKEND=s3 needs ELDERCARE_S3_BUCKET")
        return self

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            if self.secret_key is None or self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 32:
                raise ValueError("production needs ELDERCARE_SECRET_KEY, a real secret of 32+ characters")
            if not self.data_keys or not self.blind_index_key:
                raise ValueError(
                    "production needs ELDERCARE_DATA_KEYS and ELDERCARE_BLIND_INDEX_KEY (eldercare new-key)"
                )
            if self.admin_password is not None and self.admin_password in WELL_KNOWN_SECRETS:
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

    @property
    def batches(self) -> bool:
        """Whether orders wait for the next batch window (any policy but greedy, when a window is set)."""
        return self.dispatch_batch_seconds > 0 and self.dispatch_policy != "greedy"

    @property
    def looks_ahead(self) -> bool:
        """Whether orders booked for later are scored from the caregivers' future positions."""
        return self.dispatch_policy == "lookahead"

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
