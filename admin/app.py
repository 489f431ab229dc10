"""The admin application factory: ``create_app()`` wires settings, database, services and routes.

Start-up order (sanic listeners): ``before_server_start`` opens the engine and session factory, reads
the reference data (category codes and townships used to validate filters, units for admin tokens
acting for a unit) and builds the ``CaseService`` and the ``CaseLifecycle`` (the one implementation of
the closed loop, shared with the bot and the jobs; ``Settings.auto_accept_threshold``) unless they
were injected, and the console's services; ``after_server_stop`` closes the Rasa client and disposes the engine.
Everything lives on ``app.ctx``: ``settings``, ``engine``, ``session_factory``, ``reference``, ``cases``,
``lifecycle``, and for the console ``accounts``, ``console_sessions``, ``tracker`` (Rasa's tracker store, read only),
``takeovers``, ``rasa`` (Rasa's HTTP API: ``Settings.rasa_url``, ``rasa_token``) and ``canned_replies``. The
database must be migrated (``juhaoban migrate``): bearer tokens other than the shared admin token are
looked up in its ``api_tokens`` table.
"""

from __future__ import annotations

import logging
import uuid

from sanic import Sanic

from admin import auth
from admin.canned_replies import load_canned_replies
from admin.cases import cases_blueprint
from admin.chat import chat_blueprint
from admin.conversations import TrackerConversations
from admin.console import console_blueprint
from admin.console.session import console_session_middleware
from admin.dispatch_routes import dispatch_blueprint
from admin.errors import register_error_handler
from admin.health import health_blueprint
from admin.rasa_client import RasaClient
from admin.residents import residents_blueprint
from admin.sensor_routes import sensor_blueprint
from admin.trace_routes import trace_blueprint
from admin.unit_routes import unit_blueprint
from workflow.accounts import AccountService
from workflow.cases import CaseService
from workflow.console_sessions import ConsoleSessions
from workflow.db import make_engine, make_session_factory
from workflow.lifecycle import CaseLifecycle
from workflow.policy import load_policy
from workflow.reference import ReferenceData
from workflow.settings import Settings
from workflow.takeovers import TakeoverService
from workflow.workcalendar import WorkingCalendar

logger = logging.getLogger(__name__)

APP_NAME_PREFIX = "juhaoban_admin"


def create_app(
    settings: Settings | None = None,
    *,
    case_service: CaseService | None = None,
    lifecycle: CaseLifecycle | None = None,
) -> Sanic:
    """Build the admin/management API application.

    Each call returns a new app with a unique name (sanic 21.12 keeps a process-wide registry of
    app names), so tests can build as many as they need.

    Args:
        settings: Process settings; default :meth:`Settings.from_env`. ``database_url`` is used for
            the engine (health check, and the case service when none is injected); ``data_dir`` for
            the reference data and working calendar; ``admin_token`` guards ``/api``.
        case_service: A ready :class:`CaseService` to use instead of building one at start-up (tests
            inject one with a frozen clock). It should work on the same database as
            ``settings.database_url``, which the health check pings.
        lifecycle: A ready :class:`CaseLifecycle` to use instead of building one at start-up (tests
            inject one with a frozen clock); same database as ``settings.database_url``, where the
            token lookup and the unit work lists read.

    Returns:
        The sanic app; run it with ``app.run(...)`` (see ``python -m admin``).

    Raises:
        admin.auth.AdminTokenMissing: ``settings.admin_token`` is not set: the API never runs
            without authentication.
        admin.chat.ChatSocketUrlInvalid: ``JUHAOBAN_CHAT_SOCKET_URL`` is set but the chat page could
            not connect to it.
    """
    settings = settings or Settings.from_env()
    token = auth.require_admin_token(settings.admin_token)

    app = Sanic(f"{APP_NAME_PREFIX}_{uuid.uuid4().hex}", configure_logging=False)
    app.ctx.settings = settings
    app.ctx.injected_case_service = case_service
    app.ctx.injected_lifecycle = lifecycle

    app.register_listener(_open_resources, "before_server_start")
    app.register_listener(_close_resources, "after_server_stop")
    app.register_middleware(auth.bearer_token_middleware(token), "request")
    app.register_middleware(console_session_middleware(), "request")
    register_error_handler(app)
    app.blueprint(health_blueprint())
    app.blueprint(cases_blueprint())
    app.blueprint(dispatch_blueprint())
    app.blueprint(unit_blueprint())
    app.blueprint(residents_blueprint())
    app.blueprint(sensor_blueprint())  # farms, field sensors, growers' broadcasts (issue 7)
    app.blueprint(trace_blueprint())  # traceability API and the public /trace/<code> page (issue 7)
    app.blueprint(chat_blueprint())  # the residents' web chat page, no token (JUHAOBAN_CHAT_SOCKET_URL)
    app.blueprint(console_blueprint())  # the dispatcher console: accounts and cookie sessions, no bearer token
    return app


async def _open_resources(app: Sanic, _loop: object) -> None:
    settings: Settings = app.ctx.settings
    app.ctx.engine = make_engine(settings.database_url)
    app.ctx.session_factory = make_session_factory(app.ctx.engine)
    # Read (and validate) the reference files once: a broken responsibility list stops start-up here.
    app.ctx.reference = ReferenceData.load(settings.data_dir)
    calendar = WorkingCalendar.default(settings.data_dir)
    policy = load_policy(settings.data_dir)  # office hours and limits: data/calendar/deadline_policy.yml
    app.ctx.cases = app.ctx.injected_case_service or CaseService(app.ctx.session_factory, calendar, policy=policy)
    app.ctx.lifecycle = app.ctx.injected_lifecycle or CaseLifecycle(
        app.ctx.session_factory, calendar, policy=policy, auto_accept_threshold=settings.auto_accept_threshold
    )
    clock = app.ctx.lifecycle.now
    app.ctx.accounts = AccountService(app.ctx.session_factory, clock)
    app.ctx.console_sessions = ConsoleSessions(app.ctx.session_factory, clock)
    # Live conversations: Rasa's tracker store is in the same database (juhaoban serve); its HTTP API pauses them.
    app.ctx.tracker = TrackerConversations(app.ctx.engine)
    app.ctx.takeovers = TakeoverService(app.ctx.session_factory, clock)
    app.ctx.rasa = RasaClient(settings.rasa_url, token=settings.rasa_token)
    app.ctx.canned_replies = load_canned_replies(settings.data_dir)  # validated: a typo stops start-up
    logger.info("Admin API ready (database %s)", app.ctx.engine.url.render_as_string(hide_password=True))


async def _close_resources(app: Sanic, _loop: object) -> None:
    rasa = getattr(app.ctx, "rasa", None)
    if rasa is not None:
        await rasa.close()
    engine = getattr(app.ctx, "engine", None)
    if engine is not None:
        engine.dispose()
