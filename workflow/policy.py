"""The county's deadline policy (限时办结) as data: ``data/calendar/deadline_policy.yml``.

Office hours and limits are configuration, not code: the county changes ``end_of_day`` or the number of working days
in that file and restarts. Missing keys keep the defaults of :class:`workflow.deadlines.DeadlinePolicy` (the county's
practice in ../shared/DESIGN.md); a file that is present but wrong stops start-up with a clear error.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from workflow.deadlines import DEFAULT_POLICY, DeadlinePolicy, OfficeHours
from workflow.exceptions import ReferenceDataError

POLICY_FILE = Path("calendar") / "deadline_policy.yml"
_KEYS = {"timezone", "end_of_day", "emergency_hours", "public_service_workdays", "other_workdays",
         "proxy_first_response_workdays", "expert_first_response_workdays"}


def load_policy(data_dir: Path) -> DeadlinePolicy:
    """Reads ``<data_dir>/calendar/deadline_policy.yml``; the defaults when the file does not exist.

    Returns:
        The policy: ``end_of_day`` a local ``HH:MM`` in ``timezone``; ``emergency_hours`` hours (may be fractional,
        > 0); the working-day counts (public service, other, 帮我办 and expert first response) whole numbers ≥ 1.

    Raises:
        ReferenceDataError: Unreadable YAML, an unknown key, or a value out of range (the message names it).
    """
    path = Path(data_dir) / POLICY_FILE
    if not path.exists():
        return DEFAULT_POLICY
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ReferenceDataError(f"{path}: not valid YAML: {error}", path=str(path)) from None
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"{path}: expected a mapping of settings", path=str(path))
    unknown = set(raw) - _KEYS
    if unknown:
        raise ReferenceDataError(f"{path}: unknown keys {sorted(unknown)}; allowed {sorted(_KEYS)}", path=str(path))
    try:
        office = OfficeHours(
            timezone=str(raw.get("timezone", DEFAULT_POLICY.office_hours.timezone)),
            end_of_day=_time(raw.get("end_of_day"), DEFAULT_POLICY.office_hours.end_of_day),
        )
        hours = raw.get("emergency_hours")
        return DeadlinePolicy(
            office_hours=office,
            emergency_duration=(dt.timedelta(hours=float(hours)) if hours is not None
                                else DEFAULT_POLICY.emergency_duration),
            public_service_workdays=raw.get("public_service_workdays", DEFAULT_POLICY.public_service_workdays),
            other_workdays=raw.get("other_workdays", DEFAULT_POLICY.other_workdays),
            proxy_first_response_workdays=raw.get("proxy_first_response_workdays",
                                                  DEFAULT_POLICY.proxy_first_response_workdays),
            expert_first_response_workdays=raw.get("expert_first_response_workdays",
                                                   DEFAULT_POLICY.expert_first_response_workdays),
        )
    except (ValueError, TypeError, KeyError) as error:  # ZoneInfo raises KeyError subclasses for unknown zones
        raise ReferenceDataError(f"{path}: {error}", path=str(path)) from None


def _time(value, default: dt.time) -> dt.time:
    if value is None:
        return default
    if isinstance(value, int):  # YAML 1.1 reads an unquoted 17:30 as the sexagesimal number 1050
        return dt.time(value // 60, value % 60)
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"end_of_day must be a local time like \"17:30\", got {value!r}") from None
