"""Case deadlines by matter type (限时办结).

Source of the rules: the county's 限时办结 practice as written in ../shared/DESIGN.md "Matter types and
deadlines":

- emergency (突发紧急): 2 hours after acceptance, wall clock;
- policy_consultation (政策咨询): 17:30 of the acceptance day when it is a working day and acceptance is
  before 17:30; otherwise 17:30 of the next working day;
- public_service (公共服务): 17:30 of the 2nd working day after the acceptance day;
- other (其他): 17:30 of the 7th working day after the acceptance day.

Timestamps in and out are timezone-aware; results are UTC. The working day and the 17:30 end of day are
taken in Asia/Shanghai. Nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from zoneinfo import ZoneInfo

from workflow.workcalendar import WorkingCalendar

_WEEKDAYS_ZH = ("一", "二", "三", "四", "五", "六", "日")


class MatterType(str, Enum):
    """Matter type of a case (事项类型); decides its deadline. Values are stable codes stored with cases."""

    EMERGENCY = "emergency"
    POLICY_CONSULTATION = "policy_consultation"
    PUBLIC_SERVICE = "public_service"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The Chinese name shown to residents and staff, e.g. ``突发紧急``."""
        return _MATTER_LABELS[self]


_MATTER_LABELS = {
    MatterType.EMERGENCY: "突发紧急",
    MatterType.POLICY_CONSULTATION: "政策咨询",
    MatterType.PUBLIC_SERVICE: "公共服务",
    MatterType.OTHER: "其他",
}


@dataclass(frozen=True)
class OfficeHours:
    """Where and when a working day ends.

    Attributes:
        timezone: IANA zone of the county; working days and end of day are taken there.
        end_of_day: Local time at which a working day's deadlines fall (17:30 in the county's practice).
    """

    timezone: str = "Asia/Shanghai"
    end_of_day: dt.time = dt.time(17, 30)

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # fail at configuration time on an unknown zone
        if self.end_of_day.tzinfo is not None:
            raise ValueError("end_of_day is a local wall time; give it without tzinfo")

    @property
    def tz(self) -> ZoneInfo:
        """The zone as a ``ZoneInfo``."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DeadlinePolicy:
    """Durations of the 限时办结 rules; defaults are the county's practice (see module docstring).

    Attributes:
        office_hours: Time zone and end of the working day.
        emergency_duration: Wall-clock time allowed for an emergency (2 hours).
        public_service_workdays: Working days after the acceptance day for public service (2).
        other_workdays: Working days after the acceptance day for other matters (7).
        proxy_first_response_workdays: Working days after the filing day within which a grid worker gives the
            first response to a 帮我办 request (2, issue 6; :func:`first_response_due`).
        expert_first_response_workdays: Working days after the filing day within which an expert gives the first
            response (a question back or the answer) to a grower's consultation (1, issue 7; :mod:`workflow.experts`).

    Raises:
        ValueError: A duration is not positive.
    """

    office_hours: OfficeHours = field(default_factory=OfficeHours)
    emergency_duration: dt.timedelta = dt.timedelta(hours=2)
    public_service_workdays: int = 2
    other_workdays: int = 7
    proxy_first_response_workdays: int = 2
    expert_first_response_workdays: int = 1

    def __post_init__(self) -> None:
        if self.emergency_duration <= dt.timedelta(0):
            raise ValueError(f"emergency_duration must be positive, got {self.emergency_duration}")
        for name in ("public_service_workdays", "other_workdays", "proxy_first_response_workdays",
                     "expert_first_response_workdays"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1 working days, got {value!r}")


DEFAULT_OFFICE_HOURS = OfficeHours()
DEFAULT_POLICY = DeadlinePolicy()


def _require_aware(value: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (store and pass UTC), got naive {value.isoformat()}")
    return value


def compute_deadline(
    matter_type: MatterType | str,
    accepted_at: dt.datetime,
    calendar: WorkingCalendar,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> dt.datetime:
    """The deadline (限时办结时限) of a case accepted at ``accepted_at``.

    Rules (the county's 限时办结 practice, ../shared/DESIGN.md):

    - emergency: ``accepted_at`` + 2 hours of wall-clock time, holidays or not;
    - policy_consultation: 17:30 of the acceptance day if it is a working day and acceptance is before
      17:30 (Asia/Shanghai); otherwise 17:30 of the next working day;
    - public_service: 17:30 of the 2nd working day after the acceptance day (the acceptance day itself never
      counts, even when it is a working day);
    - other: 17:30 of the 7th working day after the acceptance day.

    Args:
        matter_type: A ``MatterType`` or its code (``"public_service"``).
        accepted_at: When the case was accepted; timezone-aware, any zone.
        calendar: The working-day calendar.
        policy: Durations and office hours; defaults to the county's practice.

    Returns:
        The deadline as an aware UTC datetime.

    Raises:
        ValueError: ``accepted_at`` is naive, or ``matter_type`` is not a known code.
        TypeError: ``accepted_at`` is not a datetime.
    """
    accepted_at = _require_aware(accepted_at, "accepted_at")
    matter_type = MatterType(matter_type)
    if matter_type is MatterType.EMERGENCY:
        return accepted_at.astimezone(dt.timezone.utc) + policy.emergency_duration

    hours = policy.office_hours
    local = accepted_at.astimezone(hours.tz)
    accepted_day = local.date()
    if matter_type is MatterType.POLICY_CONSULTATION:
        same_day = calendar.is_workday(accepted_day) and local.time() < hours.end_of_day
        due_day = accepted_day if same_day else calendar.next_workday(accepted_day)
    elif matter_type is MatterType.PUBLIC_SERVICE:
        due_day = calendar.add_workdays(accepted_day, policy.public_service_workdays)
    else:
        due_day = calendar.add_workdays(accepted_day, policy.other_workdays)
    due_local = dt.datetime.combine(due_day, hours.end_of_day, tzinfo=hours.tz)
    return due_local.astimezone(dt.timezone.utc)


def first_response_due(
    filed_at: dt.datetime, calendar: WorkingCalendar, policy: DeadlinePolicy = DEFAULT_POLICY, *,
    workdays: int | None = None,
) -> dt.datetime:
    """When a grid worker's first response to a 帮我办 request is due: ``end_of_day`` (17:30 Asia/Shanghai) of the
    ``policy.proxy_first_response_workdays``-th (2nd) working day after the filing day (the filing day never
    counts, as for public service). Source: issue 6 ("a first response due within 2 working days").
    ``workdays`` replaces that count (an expert's: ``policy.expert_first_response_workdays``, issue 7).

    Raises:
        ValueError: ``filed_at`` is naive.
        TypeError: ``filed_at`` is not a datetime.
    """
    filed_at = _require_aware(filed_at, "filed_at")
    hours = policy.office_hours
    count = policy.proxy_first_response_workdays if workdays is None else workdays
    due_day = calendar.add_workdays(filed_at.astimezone(hours.tz).date(), count)
    return dt.datetime.combine(due_day, hours.end_of_day, tzinfo=hours.tz).astimezone(dt.timezone.utc)


def deadline_warning_at(accepted_at: dt.datetime, deadline: dt.datetime, fraction: float = 0.8) -> dt.datetime:
    """The moment a unit is warned that a deadline is near: ``fraction`` of the wall-clock time elapsed.

    DESIGN.md: "Warn the unit at 80% of the time". The span is measured in wall-clock time (nights and
    holidays included), so over a long holiday the warning may fall on a rest day; the reminder job decides
    when to deliver it.

    Args:
        accepted_at: Start of the span; timezone-aware.
        deadline: End of the span (from :func:`compute_deadline`); timezone-aware, not before ``accepted_at``.
        fraction: Share of the span, ``0 <= fraction <= 1``; default 0.8.

    Returns:
        The warning moment as an aware UTC datetime.

    Raises:
        ValueError: A datetime is naive, ``deadline`` is before ``accepted_at``, or ``fraction`` is outside
            [0, 1].
    """
    accepted_at = _require_aware(accepted_at, "accepted_at")
    deadline = _require_aware(deadline, "deadline")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
    if deadline < accepted_at:
        raise ValueError(f"deadline {deadline.isoformat()} is before accepted_at {accepted_at.isoformat()}")
    start = accepted_at.astimezone(dt.timezone.utc)
    return start + (deadline.astimezone(dt.timezone.utc) - start) * fraction


def format_deadline_zh(deadline: dt.datetime, office_hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> str:
    """The deadline as residents and units read it, e.g. ``2026年12月8日(星期二)17:30前``.

    Always the full date, weekday and time in the county's zone (Asia/Shanghai), also for emergencies.
    Seconds are dropped, so the shown minute is never later than the real deadline.

    Args:
        deadline: Timezone-aware datetime.
        office_hours: Gives the display time zone.

    Raises:
        ValueError: ``deadline`` is naive.
    """
    local = _require_aware(deadline, "deadline").astimezone(office_hours.tz)
    return (
        f"{local.year}年{local.month}月{local.day}日(星期{_WEEKDAYS_ZH[local.weekday()]})"
        f"{local.hour:02d}:{local.minute:02d}前"
    )
