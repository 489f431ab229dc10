"""Who is calling (:class:`Principal`) and as whom they act on a case (a :class:`workflow.transitions.Actor`).

A request's bearer token is either the shared ``JUHAOBAN_ADMIN_TOKEN`` (role ``admin``, audit name
:data:`SHARED_ADMIN_NAME`) or a token from ``api_tokens`` (:mod:`workflow.api_tokens`): its role, its name and, for a
unit token, its unit. :mod:`admin.auth` puts the principal on ``request.ctx.principal``; the views ask here for the
actor they need, and get a domain error (403, 422) when the token may not act so:

- dispatcher routes: a ``dispatcher`` or ``admin`` token acts as a dispatcher named by the token;
- unit routes: a ``unit`` token acts for its unit; an ``admin`` token acts for the unit named by the ``unit`` query
  parameter (required then); a ``dispatcher`` token may not;
- reading a case or its audit trail: dispatchers and admins any case, a unit only its own
  (:func:`workflow.unit_cases.is_unit_case`), else 403 ``not_case_unit``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sanic.request import Request

from admin.query import InvalidQueryParameter
from workflow.api_tokens import ApiTokenView, TokenRole
from workflow.case_views import CaseView
from workflow.exceptions import ActorNotAllowed, NotCaseUnit
from workflow.transitions import Actor
from workflow.unit_cases import is_unit_case

#: Audit name (``case_events.actor``) of whoever acts with the shared ``JUHAOBAN_ADMIN_TOKEN``.
SHARED_ADMIN_NAME = "admin"
#: Query parameter naming the unit an admin token acts for on unit routes.
UNIT_PARAMETER = "unit"

_DISPATCHING_ROLES = (TokenRole.DISPATCHER, TokenRole.ADMIN)


@dataclass(frozen=True)
class Principal:
    """The holder of the request's bearer token.

    Attributes:
        role: ``dispatcher``, ``unit`` or ``admin``.
        name: Audit identity, written as the actor of the holder's actions.
        unit_code: The unit of a ``unit`` token; None otherwise.
        token_id: The ``api_tokens`` id; None for the shared admin token.
    """

    role: TokenRole
    name: str
    unit_code: str | None = None
    token_id: int | None = None

    @classmethod
    def shared_admin(cls) -> Principal:
        """The holder of ``JUHAOBAN_ADMIN_TOKEN``."""
        return cls(TokenRole.ADMIN, SHARED_ADMIN_NAME)

    @classmethod
    def from_token(cls, token: ApiTokenView) -> Principal:
        """The holder of a stored token."""
        return cls(token.role, token.name, token.unit_code, token.id)


def principal_of(request: Request) -> Principal:
    """The principal :mod:`admin.auth` found for ``request`` (every ``/api`` route has one)."""
    return request.ctx.principal


def dispatcher_actor(request: Request, action: str) -> Actor:
    """The dispatcher acting in ``request``: a dispatcher or admin token, named by the token.

    Raises:
        ActorNotAllowed: A unit token (→ 403).
    """
    principal = principal_of(request)
    if principal.role not in _DISPATCHING_ROLES:
        raise _not_allowed(principal, action)
    return Actor.dispatcher(principal.name)


def require_dispatcher(request: Request, action: str) -> None:
    """Let only dispatcher and admin tokens through (reading every case, listing them).

    Raises:
        ActorNotAllowed: A unit token (→ 403).
    """
    dispatcher_actor(request, action)


def unit_actor(request: Request, action: str) -> Actor:
    """The unit acting in ``request``: a unit token's unit, or for an admin token the ``unit`` query parameter.

    A unit token may repeat its own unit in ``unit`` but not name another.

    Raises:
        ActorNotAllowed: A dispatcher token, or a unit token naming another unit (→ 403).
        InvalidQueryParameter: An admin token without ``unit``, or a ``unit`` that names no unit (→ 422).
    """
    principal = principal_of(request)
    named = (request.args.get(UNIT_PARAMETER) or "").strip() or None
    if principal.role is TokenRole.UNIT:
        if named is not None and named != principal.unit_code:
            raise _not_allowed(principal, action, unit=named)
        return Actor.unit(principal.unit_code, principal.name)
    if principal.role is not TokenRole.ADMIN:
        raise _not_allowed(principal, action)
    if named is None:
        raise InvalidQueryParameter(UNIT_PARAMETER, "", "is required when an admin token acts for a unit")
    if named not in request.app.ctx.reference.units:
        raise InvalidQueryParameter(UNIT_PARAMETER, named, "names no unit of the responsibility list")
    return Actor.unit(named, principal.name)


def check_may_read(request: Request, view: CaseView) -> None:
    """Let dispatchers and admins read any case, a unit only its own.

    Raises:
        NotCaseUnit: A unit token and a case the unit does not lead (→ 403).
    """
    principal = principal_of(request)
    if principal.role is TokenRole.SENSOR:  # a sensor gateway's token only sends readings
        raise _not_allowed(principal, "read a case")
    if principal.role is TokenRole.UNIT and not is_unit_case(view, principal.unit_code):
        raise NotCaseUnit(
            f"unit {principal.unit_code!r} is not the lead unit of case {view.case_id}",
            case_id=view.case_id,
            unit=principal.unit_code,
        )


def _not_allowed(principal: Principal, action: str, **context: str) -> ActorNotAllowed:
    return ActorNotAllowed(
        f"a {principal.role.value} token may not {action}",
        action=action,
        actor_role=principal.role.value,
        **context,
    )
