"""Database tables of the case domain (SQLAlchemy 1.4 declarative, ``Column`` style).

The schema is created by Alembic (``workflow/migrations``), never by ``metadata.create_all`` in production; a test
compares these models with the migrated database so the two cannot drift.

All datetimes are timezone-aware UTC (:class:`UTCDateTime`); convert to Asia/Shanghai only for display and working-day
rules. Tables: townships, villages, units, categories (reference data, loaded from ``data/reference``), cases,
case_events (audit trail of every transition), case_sequences (per-day case number counters).

Migrations: ``0001_case_domain`` (the tables), ``0002_case_lifecycle`` (the closed loop's columns on ``cases``),
``0003_notifications_jobs`` (the notifications outbox; the deadline watch's columns on ``cases``), ``0004_api_tokens``,
``0005_channels`` (evidence attachments, the shared location and the hotline call of a case; ``hotline_calls``),
``0006_console`` (console accounts, sessions, log-in events, views of personal data, conversation take-overs),
``0007_grids`` (grids, households, residents and their channel identities), ``0008_points``
(:mod:`workflow.points_models`), ``0009_grid_work`` (a case's kind, grid and grid-worker assignee; grid workers'
chats and binding codes: :mod:`workflow.grid_work_models`), ``0012_experts`` (the ``expert`` role, experts in the audit
trail, knowledge-base candidates: :mod:`workflow.expert_models`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import declarative_base, relationship

from workflow.status import CaseStatus
from workflow.transitions import ActorRole, Rating, RejectReason

# Explicit constraint names: Alembic needs them to alter or drop constraints later, on SQLite (batch mode) too.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base = declarative_base(metadata=metadata)

# JSON on SQLite, JSONB on PostgreSQL (comparable and indexable, unlike PostgreSQL's json).
JSONType = JSON().with_variant(JSONB(), "postgresql")

UNIT_LEVELS = ("county", "township", "enterprise")
MATTER_TYPES = ("emergency", "policy_consultation", "public_service", "other")
ACTOR_ROLES = tuple(role.value for role in ActorRole)
RATINGS = tuple(rating.value for rating in Rating)
REJECT_REASONS = tuple(reason.value for reason in RejectReason)
TOWNSHIP_KINDS = ("镇", "乡")
#: What a case is (migration 0009): a resident's report, a grid worker's patrol report (巡查上报), or a 帮我办 request
#: that a grid worker handles on a resident's behalf (:mod:`workflow.cases`, :mod:`workflow.grid_work`), or a
#: grower's question for an expert (``expert``, issue 7: :mod:`workflow.experts`; no CHECK, so no migration).
CASE_KINDS = ("report", "patrol", "proxy", "expert")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned as an aware UTC ``datetime``.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones, so the value is stored as naive UTC
    and the UTC zone is attached again on load.

    Raises:
        ValueError: On binding a naive datetime (its zone would be a guess).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} rejected: pass an aware UTC datetime")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Township(Base):
    """A township (乡镇) of the county; source: ``data/reference/gazetteer.yml``."""

    __tablename__ = "townships"
    __table_args__ = (CheckConstraint(_in("kind", TOWNSHIP_KINDS), name="kind"),)

    code = Column(String(64), primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    aliases = Column(JSONType, nullable=False, default=list)
    kind = Column(String(8), nullable=False)

    villages = relationship("Village", back_populates="township", order_by="Village.code")


class Village(Base):
    """A village (行政村); source: ``data/reference/gazetteer.yml`` (sample data while ``is_sample``)."""

    __tablename__ = "villages"

    code = Column(String(64), primary_key=True)
    name = Column(String(64), nullable=False)
    township_code = Column(String(64), ForeignKey("townships.code"), nullable=False, index=True)
    aliases = Column(JSONType, nullable=False, default=list)
    is_sample = Column(Boolean, nullable=False, default=False)

    township = relationship("Township", back_populates="villages")


class Unit(Base):
    """A responsible unit (责任单位): county department, township government/centre, or enterprise.

    County and enterprise units come from ``data/reference/responsibility_list.yml``; township units and the
    county dispatch centre are generated by :func:`workflow.reference.load_reference`.
    """

    __tablename__ = "units"
    __table_args__ = (CheckConstraint(_in("level", UNIT_LEVELS), name="level"),)

    code = Column(String(64), primary_key=True)
    name = Column(String(128), nullable=False)
    level = Column(String(16), nullable=False)
    township_code = Column(String(64), ForeignKey("townships.code"), nullable=True, index=True)
    active = Column(Boolean, nullable=False, default=True)


class Category(Base):
    """One of the 28 categories of the responsibility list (责任清单).

    ``lead_unit_code`` and ``cooperating`` hold unit references as written in the YAML: a unit code or a
    placeholder resolved per township (``@township``, ``@township_zongzhi``); see :mod:`workflow.routing`.
    """

    __tablename__ = "categories"

    code = Column(String(64), primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    lead_unit_code = Column(String(64), nullable=False)
    cooperating = Column(JSONType, nullable=False, default=list)
    typical_matters = Column(JSONType, nullable=False, default=list)
    position = Column(Integer, nullable=False)


class Case(Base):
    """A case (工单), Open311's service request: ``case_id`` is the service_request_id, ``category_code`` the
    service_code.

    ``version`` is the optimistic-concurrency counter: the ORM adds ``WHERE version = :old`` to every UPDATE and
    raises ``StaleDataError`` when another writer got there first (:mod:`workflow.lifecycle` turns it into
    ``ConcurrentUpdate``).

    The NLU's suggestions (``suggested_category_code``, ``category_confidence``, ``category_ranking``,
    ``suggested_matter_type``) stay beside the values the dispatcher confirmed (``category_code``,
    ``matter_type``). Closed-loop fields (:mod:`workflow.lifecycle`): ``accepted_at`` (fixes ``deadline``),
    ``assigned_at``, ``resolved_at`` with the unit's ``result`` and optional ``result_photo`` reference,
    ``closed_at`` with the resident's ``rating``/``rating_comment``, ``unsatisfied_count`` (the second
    "unsatisfied" sends the case to dispatcher review: ``returned`` with ``needs_review``), and for a rejected
    case ``rejection_reason`` and, for a duplicate, ``duplicate_of`` (the original's case id; no foreign key, see
    migration 0002).

    Deadline watch (:mod:`workflow.jobs`, migration 0003): ``warn_at`` is when the lead unit is to be warned (80% of
    the wall-clock span from the start of the current round to ``deadline``; None before acceptance), ``warned_at``
    when it was, ``overdue_at`` when the case was found past its deadline while still open (overdue is a mark, not
    a status). A new round (acceptance, a first "unsatisfied", re-assignment after review) sets ``warn_at`` afresh
    and clears the other two.
    """

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("status", tuple(s.value for s in CaseStatus)), name="status"),
        CheckConstraint(_in("matter_type", MATTER_TYPES), name="matter_type"),
        CheckConstraint("importance_level IS NULL OR importance_level BETWEEN 1 AND 3", name="importance_level"),
        CheckConstraint(
            "suggested_matter_type IS NULL OR " + _in("suggested_matter_type", MATTER_TYPES),
            name="suggested_matter_type",
        ),
        CheckConstraint("rating IS NULL OR " + _in("rating", RATINGS), name="rating"),
        CheckConstraint(
            "rejection_reason IS NULL OR " + _in("rejection_reason", REJECT_REASONS), name="rejection_reason"
        ),
        CheckConstraint("unsatisfied_count >= 0", name="unsatisfied_count"),
        Index("ix_cases_reporter_id", "reporter_id"),
        Index("ix_cases_status", "status"),
        Index("ix_cases_category_code", "category_code"),
        Index("ix_cases_created_at", "created_at"),
        Index("ix_cases_lead_unit_code", "lead_unit_code"),
        Index("ix_cases_duplicate_of", "duplicate_of"),
        # The deadline jobs' sweeps (workflow/jobs): open or resolved cases only, by the time that falls due.
        Index("ix_cases_status_warn_at", "status", "warn_at"),
        Index("ix_cases_status_deadline", "status", "deadline"),
        Index("ix_cases_status_resolved_at", "status", "resolved_at"),
        Index("ix_cases_grid_code", "grid_code"),
        Index("ix_cases_assignee_account_id", "assignee_account_id"),
        Index("ix_cases_kind_created_at", "kind", "created_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    case_id = Column(String(32), nullable=False, unique=True)
    status = Column(String(16), nullable=False, default=CaseStatus.REPORTED.value)
    category_code = Column(String(64), ForeignKey("categories.code"), nullable=True)
    suggested_category_code = Column(String(64), ForeignKey("categories.code"), nullable=True)
    category_confidence = Column(Float, nullable=True)
    category_ranking = Column(JSONType, nullable=False, default=list)
    matter_type = Column(String(32), nullable=False)
    suggested_matter_type = Column(String(32), nullable=True)
    importance_level = Column(Integer, nullable=True)
    needs_review = Column(Boolean, nullable=False, default=False)
    township_code = Column(String(64), ForeignKey("townships.code"), nullable=False)
    village_code = Column(String(64), ForeignKey("villages.code"), nullable=True)
    village_name = Column(String(128), nullable=True)
    description = Column(Text, nullable=False)
    reporter_id = Column(String(128), nullable=False)
    reporter_phone = Column(String(32), nullable=True)
    channel = Column(String(32), nullable=False)
    lead_unit_code = Column(String(64), ForeignKey("units.code"), nullable=False)
    cooperating_unit_codes = Column(JSONType, nullable=False, default=list)
    created_at = Column(UTCDateTime, nullable=False)
    accepted_at = Column(UTCDateTime, nullable=True)
    deadline = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    assigned_at = Column(UTCDateTime, nullable=True)
    resolved_at = Column(UTCDateTime, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    result = Column(Text, nullable=True)
    result_photo = Column(String(512), nullable=True)
    rating = Column(String(24), nullable=True)
    rating_comment = Column(Text, nullable=True)
    unsatisfied_count = Column(Integer, nullable=False, default=0, server_default="0")
    rejection_reason = Column(String(16), nullable=True)
    duplicate_of = Column(String(32), nullable=True)
    # Deadline watch (migration 0003, workflow/jobs): when the current round's 80% warning falls due, when the lead
    # unit was warned, when the case was found overdue. A new round (acceptance, reopening) resets them.
    warn_at = Column(UTCDateTime, nullable=True)
    warned_at = Column(UTCDateTime, nullable=True)
    overdue_at = Column(UTCDateTime, nullable=True)
    # Channels (migration 0005): where the resident said they were (a WeChat location message: WGS-84 degrees and
    # the platform's label), and the hotline call the case was taken from (hotline_calls.call_id).
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    location_label = Column(String(256), nullable=True)
    call_id = Column(String(64), nullable=True, index=True)
    # Grid work (migration 0009, issue 6): the case's kind (CASE_KINDS; validated in workflow.cases, no CHECK: see the
    # migration), its grid (workflow.grids.grid_for_case, None when the rule cannot settle it), the grid worker a
    # 帮我办 case is assigned to, whom the request is for (as said), and the first response the worker owes
    # (due within 2 working days: data/calendar/deadline_policy.yml).
    kind = Column(String(16), nullable=False, default="report", server_default="report")
    grid_code = Column(String(64), ForeignKey("grids.code"), nullable=True)
    assignee_account_id = Column(Integer, ForeignKey("accounts.id"), nullable=True)
    beneficiary = Column(Text, nullable=True)
    first_response_due = Column(UTCDateTime, nullable=True)
    first_response_at = Column(UTCDateTime, nullable=True)
    version = Column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    category = relationship("Category", foreign_keys=[category_code])
    suggested_category = relationship("Category", foreign_keys=[suggested_category_code])
    township = relationship("Township")
    village = relationship("Village")
    lead_unit = relationship("Unit")
    grid = relationship("Grid", foreign_keys=[grid_code])
    assignee = relationship("Account", foreign_keys=[assignee_account_id])
    events = relationship(
        "CaseEvent", back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    attachments = relationship(
        "CaseAttachment", back_populates="case", order_by="CaseAttachment.id", cascade="all, delete-orphan"
    )


#: Kinds of evidence a resident can attach to a report.
ATTACHMENT_KINDS = ("image", "voice", "video")


class CaseAttachment(Base):
    """Evidence the resident sent with a report (a WeChat image: its ``media_id`` and ``url``), migration 0005.

    The platform's media id and picture URL are references, not the bytes: the console fetches them when shown.
    ``source`` is the channel that received it.
    """

    __tablename__ = "case_attachments"
    __table_args__ = (CheckConstraint(_in("kind", ATTACHMENT_KINDS), name="kind"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    case_pk = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    source = Column(String(32), nullable=False)
    media_id = Column(String(256), nullable=True)
    url = Column(String(1024), nullable=True)
    added_at = Column(UTCDateTime, nullable=False)

    case = relationship("Case", back_populates="attachments")


class HotlineCall(Base):
    """One finished hotline call as the call centre posted it (migration 0005): the transcript and what was filed.

    ``call_id`` is the call centre's id and unique: posting the same call again files nothing new. ``turns`` is the
    transcript as received (``[{"speaker", "text", "start_s", "end_s", "asr_confidence"}, …]``); ``outcome`` what
    the intake made of it (matters found, cases filed, queries answered), returned again for a repeated post.
    """

    __tablename__ = "hotline_calls"

    id = Column(Integer, primary_key=True, autoincrement=True)
    call_id = Column(String(64), nullable=False, unique=True)
    caller_number = Column(String(32), nullable=True)
    started_at = Column(UTCDateTime, nullable=False)
    received_at = Column(UTCDateTime, nullable=False)
    turns = Column(JSONType, nullable=False, default=list)
    outcome = Column(JSONType, nullable=False, default=dict)


class CaseEvent(Base):
    """One audit row: who did what to a case, when, from which status to which (DESIGN.md: every transition)."""

    __tablename__ = "case_events"
    __table_args__ = (CheckConstraint(_in("actor_role", ACTOR_ROLES), name="actor_role"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    case_pk = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(UTCDateTime, nullable=False)
    actor = Column(String(128), nullable=False)
    actor_role = Column(String(16), nullable=False)
    event = Column(String(32), nullable=False)
    from_status = Column(String(16), nullable=True)
    to_status = Column(String(16), nullable=False)
    note = Column(Text, nullable=False, default="")
    data = Column(JSONType, nullable=False, default=dict)

    case = relationship("Case", back_populates="events")


class CaseSequence(Base):
    """Last case number handed out on one Asia/Shanghai day (``day`` = ``YYYYMMDD``); see :mod:`workflow.case_ids`."""

    __tablename__ = "case_sequences"

    day = Column(String(8), primary_key=True)
    last = Column(Integer, nullable=False)


# ---------------------------------------------------------------------- API tokens (migration 0004_api_tokens)
#: Roles an API token can carry (:class:`workflow.api_tokens.TokenRole`); admin may do everything a dispatcher may.
API_TOKEN_ROLES = ("dispatcher", "unit", "admin", "sensor")  # sensor: migration 0010


class ApiToken(Base):
    """A bearer token of the admin API (:mod:`workflow.api_tokens`), scoped to a role and, for a unit, to one unit.

    Only the SHA-256 hex digest of the token is stored: a database leak does not leak usable tokens. ``name`` is
    the audit identity of whoever acts with the token (``case_events.actor``). A unit token has ``unit_code``;
    other roles have none. A revoked token (``revoked_at`` set) is kept for the record and no longer accepted.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(_in("role", API_TOKEN_ROLES), name="role"),
        CheckConstraint(
            "(role = 'unit' AND unit_code IS NOT NULL) OR (role <> 'unit' AND unit_code IS NULL)",
            name="unit_scope",
        ),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(128), nullable=False)
    role = Column(String(16), nullable=False)
    unit_code = Column(String(64), ForeignKey("units.code"), nullable=True, index=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False)
    revoked_at = Column(UTCDateTime, nullable=True)


# ---------------------------------------------------------------------- notifications outbox (migration 0003)
#: Who a notification is for: a resident (``recipient_id`` = the channel's sender id), a unit (its unit code) or the
#: county dispatch centre (``recipient_id`` = ``dispatch``).
RECIPIENT_ROLES = ("resident", "unit", "dispatcher", "grid_worker")


class Notification(Base):
    """One message to a resident, a unit or the dispatchers: the transactional outbox of :mod:`workflow.notifications`.

    Written in the same transaction as the change it tells about (a transition, a deadline warning), so a message
    exists exactly when the change does; delivered later by a deliverer (Rasa's ``trigger_intent`` for residents).
    ``channel`` is the resident's channel from the case (``rest``, ``wechat``, ``socketio`` …), None for staff.
    ``next_attempt_at`` is when a deliverer may take the row next (a claim or a failure pushes it later); it is None
    once the row is finished: ``delivered_at`` set, or ``failed_at`` set when delivery was given up.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("recipient_role", RECIPIENT_ROLES), name="recipient_role"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_notifications_recipient", "recipient_role", "recipient_id", "created_at"),
        Index("ix_notifications_next_attempt_at", "next_attempt_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    created_at = Column(UTCDateTime, nullable=False)
    case_pk = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=True, index=True)
    recipient_role = Column(String(16), nullable=False)
    recipient_id = Column(String(128), nullable=False)
    channel = Column(String(32), nullable=True)
    kind = Column(String(32), nullable=False)
    text = Column(Text, nullable=False)
    data = Column(JSONType, nullable=False, default=dict)
    next_attempt_at = Column(UTCDateTime, nullable=True)
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    last_error = Column(Text, nullable=True)
    delivered_at = Column(UTCDateTime, nullable=True)
    failed_at = Column(UTCDateTime, nullable=True)


# ---------------------------------------------------------------------- dispatcher console (migration 0006)
#: Roles of console accounts (:mod:`workflow.accounts`).
ACCOUNT_ROLES = ("dispatcher", "unit", "grid_worker", "admin", "expert")  # expert: migration 0012


class Account(Base):
    """A person who logs in to the dispatcher console (:mod:`workflow.accounts`).

    ``username`` is the login name (lower case), ``display_name`` the audit identity written as the actor of the
    person's actions (``case_events.actor``). A ``unit`` account has ``unit_code`` (a county unit or a township); a
    ``grid_worker`` account has ``village_code``, the village or community its grid lies in (the grid model itself
    is issue 6's); dispatchers and administrators have neither. Only an argon2id hash of the password is stored.
    ``failed_logins`` counts wrong passwords since the last success; ``locked_until`` is set when they reach the
    limit. A disabled account (``disabled_at``) is kept for the record and cannot log in.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(_in("role", ACCOUNT_ROLES), name="role"),
        CheckConstraint(
            "(role = 'unit' AND unit_code IS NOT NULL) OR (role <> 'unit' AND unit_code IS NULL)", name="unit_scope"
        ),
        CheckConstraint(
            "(role = 'grid_worker' AND village_code IS NOT NULL) OR (role <> 'grid_worker' AND village_code IS NULL)",
            name="village_scope",
        ),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(128), nullable=False)
    role = Column(String(16), nullable=False)
    unit_code = Column(String(64), ForeignKey("units.code"), nullable=True, index=True)
    village_code = Column(String(64), ForeignKey("villages.code"), nullable=True, index=True)
    password_hash = Column(String(256), nullable=False)
    failed_logins = Column(Integer, nullable=False, default=0, server_default="0")
    locked_until = Column(UTCDateTime, nullable=True)
    last_login_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False)
    disabled_at = Column(UTCDateTime, nullable=True)


class ConsoleSession(Base):
    """A logged-in browser session of the console (:mod:`workflow.console_sessions`).

    The cookie carries a random token; only its SHA-256 digest is stored (``token_hash``). ``csrf_token`` is the
    session's anti-forgery token, sent back with every form and script request. A session ends at ``expires_at``
    (absolute), after ``idle`` seconds without a request (``last_seen_at``), or when revoked (log-out).
    """

    __tablename__ = "console_sessions"

    id = Column(Integer, primary_key=True, autoincrement=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)
    revoked_at = Column(UTCDateTime, nullable=True)
    client_ip = Column(String(64), nullable=True)


#: What ``login_events.outcome`` records.
LOGIN_OUTCOMES = ("success", "wrong_password", "unknown_user", "locked", "disabled")


class LoginEvent(Base):
    """One log-in attempt, successful or not (the security audit of the console)."""

    __tablename__ = "login_events"
    __table_args__ = (CheckConstraint(_in("outcome", LOGIN_OUTCOMES), name="outcome"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(UTCDateTime, nullable=False, index=True)
    username = Column(String(64), nullable=False)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True)
    outcome = Column(String(16), nullable=False)
    client_ip = Column(String(64), nullable=True)


class PersonalDataView(Base):
    """One view of a resident's personal data in full (a phone number unmasked on a case page): who, when, what."""

    __tablename__ = "personal_data_views"

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(UTCDateTime, nullable=False, index=True)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True)
    actor = Column(String(128), nullable=False)
    case_pk = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    field = Column(String(32), nullable=False)
    client_ip = Column(String(64), nullable=True)


class ConversationTakeover(Base):
    """A dispatcher's take-over of a live bot conversation, from ``taken_at`` until ``released_at`` (hand-back).

    At most one open take-over per conversation (``sender_id``; a partial unique index). ``channel`` is the input
    channel the resident used, where the dispatcher's messages go.
    """

    __tablename__ = "conversation_takeovers"
    __table_args__ = (
        Index("uq_conversation_takeovers_open", "sender_id", unique=True,
              sqlite_where=text("released_at IS NULL"), postgresql_where=text("released_at IS NULL")),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    sender_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(32), nullable=True)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    taken_by = Column(String(128), nullable=False)
    taken_at = Column(UTCDateTime, nullable=False)
    released_at = Column(UTCDateTime, nullable=True)
    released_by = Column(String(128), nullable=True)
    messages_sent = Column(Integer, nullable=False, default=0, server_default="0")


# ---------------------------------------------------------------------- grids and households (migration 0007_grids)
#: A grid's kind: the county's rule sizes a rural grid (农村网格) at 50–60 households and an urban one (城镇/社区网格)
#: at about 100 (issue 6; :mod:`workflow.grids`).
GRID_KINDS = ("rural", "urban")
#: A resident's place in the household (与户主关系), stored as these codes; the CSV writes them in Chinese.
RESIDENT_ROLES = ("head", "spouse", "child", "parent", "grandchild", "sibling", "other")
#: Members of one household the register accepts (a row outside is refused by the import).
HOUSEHOLD_MEMBERS_MIN, HOUSEHOLD_MEMBERS_MAX = 1, 20


class Grid(Base):
    """A grid (网格) of a village or community: the smallest unit of grid management, with one grid worker.

    The chain is county → township → village/community (``village_code``) → grid → household → resident. ``code``
    is the county's stable grid code (unique across the county); ``name`` is unique within the village (第一网格).
    ``worker_account_id`` is the grid worker (网格员, an ``accounts`` row of role ``grid_worker``): one per grid, who
    also acts as the proxy (帮我办) for the grid's households; None while the post is vacant. ``is_sample`` marks
    made-up development data (:mod:`workflow.grid_sample`), never mixed with real rows in one village.
    """

    __tablename__ = "grids"
    __table_args__ = (
        CheckConstraint(_in("kind", GRID_KINDS), name="kind"),
        UniqueConstraint("village_code", "name"),
    )

    code = Column(String(64), primary_key=True)
    name = Column(String(64), nullable=False)
    village_code = Column(String(64), ForeignKey("villages.code"), nullable=False, index=True)
    kind = Column(String(8), nullable=False)
    worker_account_id = Column(Integer, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True)
    is_sample = Column(Boolean, nullable=False, default=False)

    village = relationship("Village")
    worker = relationship("Account")
    households = relationship("Household", back_populates="grid", order_by="Household.code")


class Household(Base):
    """A household (户) registered in a grid.

    ``code`` is the county's household code (unique). ``head_name`` the head of household (户主), ``member_count``
    the number of people in the household (1–20; the register's count, which may exceed the residents entered).
    ``has_elderly`` (an elderly member who needs help: 留守/独居老人), ``has_disabled`` (a disabled member) and
    ``has_members_away`` (working-age members away: 外出务工) are what the grid worker needs to know for 帮我办
    (doing errands on the household's behalf); data only, no rule reads them yet.
    """

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint(
            f"member_count BETWEEN {HOUSEHOLD_MEMBERS_MIN} AND {HOUSEHOLD_MEMBERS_MAX}", name="member_count"
        ),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    code = Column(String(64), nullable=False, unique=True)
    grid_code = Column(String(64), ForeignKey("grids.code"), nullable=False, index=True)
    address = Column(String(256), nullable=False)
    head_name = Column(String(64), nullable=False)
    member_count = Column(Integer, nullable=False)
    has_elderly = Column(Boolean, nullable=False, default=False)
    has_disabled = Column(Boolean, nullable=False, default=False)
    has_members_away = Column(Boolean, nullable=False, default=False)
    is_sample = Column(Boolean, nullable=False, default=False)

    grid = relationship("Grid", back_populates="households")
    residents = relationship(
        "Resident", back_populates="household", order_by="Resident.id", cascade="all, delete-orphan"
    )


class Resident(Base):
    """A person of a household. Personal data kept to the minimum the grid worker needs.

    ``phone`` is stored normalised (:func:`workflow.phones.normalize_phone`) and indexed (a resident is found by
    the number they call from). ``id_card_last4`` holds at most the last 4 characters of the ID card (for the grid
    worker to confirm identity on the phone); full ID numbers are never stored. ``role`` is the relation to the
    head (:data:`RESIDENT_ROLES`). A resident is identified within the household by ``name`` (unique there).
    """

    __tablename__ = "residents"
    __table_args__ = (
        CheckConstraint(_in("role", RESIDENT_ROLES), name="role"),
        CheckConstraint("id_card_last4 IS NULL OR length(id_card_last4) = 4", name="id_card_last4"),
        UniqueConstraint("household_id", "name"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    household_id = Column(Integer, ForeignKey("households.id", ondelete="CASCADE"), nullable=False, index=True)
    name = Column(String(64), nullable=False)
    phone = Column(String(32), nullable=True, index=True)
    id_card_last4 = Column(String(4), nullable=True)
    role = Column(String(16), nullable=False)
    is_sample = Column(Boolean, nullable=False, default=False)

    household = relationship("Household", back_populates="residents")
    channels = relationship(
        "ResidentChannel", back_populates="resident", order_by="ResidentChannel.id", cascade="all, delete-orphan"
    )


class ResidentChannel(Base):
    """A channel identity bound to a resident: the sender id the bot sees (WeChat openid, web chat id, …).

    ``channel`` is Rasa's input channel name (``wechat``, ``socketio``, ``rest``, ``hotline``); ``sender_id`` is
    unique per channel, so one conversation belongs to at most one resident (:func:`workflow.grids.bind_channel`).
    """

    __tablename__ = "resident_channels"
    __table_args__ = (UniqueConstraint("channel", "sender_id"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    resident_id = Column(Integer, ForeignKey("residents.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False)
    bound_at = Column(UTCDateTime, nullable=False)

    resident = relationship("Resident", back_populates="channels")

from workflow import points_models  # noqa: E402,F401  (points tables, migration 0008)
from workflow import grid_work_models  # noqa: E402,F401  (grid workers' chats and binding codes, migration 0009)
from workflow import sensor_models, trace_models  # noqa: E402,F401  (farms, sensors, traceability: migration 0010)
from workflow import expert_models  # noqa: E402,F401  (knowledge-base candidates from experts' answers: migration 0012)
