"""Views of a resident's personal data in full (``personal_data_views``): every unmasked phone number is audited.

The console shows residents' phone numbers masked everywhere; a person whose role needs the number (to call the
resident back) asks for it on the case page. :func:`record_view` reads the value and writes the audit row (who,
when, which case, which field, from where) in one transaction, so the number is never handed out without its
record. :func:`views_of` lists a case's records for the audit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from workflow.case_views import normalize_case_id
from workflow.cases import utc_now
from workflow.exceptions import CaseNotFound, JuhaobanError
from workflow.models import Case, PersonalDataView

#: Personal data fields that can be viewed in full, by their ``personal_data_views.field`` name.
FIELDS = ("reporter_phone",)
_MAX_ACTOR = 128  # personal_data_views.actor
_MAX_IP = 64


class UnknownPersonalField(JuhaobanError):
    """A field that is not personal data the console unmasks. Context: ``field``."""

    code = "unknown_personal_field"


@dataclass(frozen=True)
class DataView:
    """One audited view: ``actor`` (display name) of account ``account_id`` saw ``field`` of ``case_id`` at ``at``."""

    at: dt.datetime
    actor: str
    account_id: int | None
    case_id: str
    field: str
    client_ip: str | None


def record_view(
    session_factory: sessionmaker,
    case_id: str,
    *,
    actor: str,
    account_id: int | None = None,
    field: str = "reporter_phone",
    client_ip: str | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """Write the audit row of a view of ``field`` of the case and return the value (None when the case has none).

    The row is written even when the value is empty: somebody asked to see it.

    Raises:
        UnknownPersonalField: ``field`` is not one of :data:`FIELDS`.
        CaseNotFound: No case has ``case_id``.
        ValueError: ``actor`` is empty or ``now`` naive.
    """
    if field not in FIELDS:
        raise UnknownPersonalField(f"{field!r} is not a personal data field", field=field)
    who = (actor or "").strip()[:_MAX_ACTOR]
    if not who:
        raise ValueError("actor is required")
    at = now or utc_now()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    wanted = normalize_case_id(case_id)
    with session_factory.begin() as session:
        case = session.execute(select(Case).where(Case.case_id == wanted)).scalar_one_or_none()
        if case is None:
            raise CaseNotFound(f"no case {wanted!r}", case_id=wanted)
        session.add(PersonalDataView(at=at, account_id=account_id, actor=who, case_pk=case.id, field=field,
                                     client_ip=(client_ip or None) and client_ip[:_MAX_IP]))
        return getattr(case, field)


def views_of(session_factory: sessionmaker, case_id: str) -> list[DataView]:
    """The audited views of the case's personal data, oldest first.

    Raises:
        CaseNotFound: No case has ``case_id``.
    """
    wanted = normalize_case_id(case_id)
    with session_factory() as session:
        case_pk = session.execute(select(Case.id).where(Case.case_id == wanted)).scalar_one_or_none()
        if case_pk is None:
            raise CaseNotFound(f"no case {wanted!r}", case_id=wanted)
        rows = session.execute(
            select(PersonalDataView).where(PersonalDataView.case_pk == case_pk).order_by(PersonalDataView.id)
        ).scalars()
        return [DataView(row.at, row.actor, row.account_id, wanted, row.field, row.client_ip) for row in rows]
