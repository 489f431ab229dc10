"""The dispatcher console: server-rendered Chinese pages under ``/console`` for dispatchers, units, grid workers
and administrators (sanic + Jinja2, a little plain JavaScript).

Modules: :mod:`~admin.console.session` (cookie sessions, CSRF, the :func:`~admin.console.session.page` guard),
:mod:`~admin.console.access` (what each role may see and do), :mod:`~admin.console.templating`,
:mod:`~admin.console.errors` (HTML error pages), :mod:`~admin.console.login`, and one module per page group. Every
action on a case calls the same :class:`workflow.lifecycle.CaseLifecycle` methods as the API.
"""

from __future__ import annotations

import importlib

from sanic import Blueprint

#: Page modules, each with ``register(blueprint)``.
PAGE_MODULES = (
    "admin.console.static_files",
    "admin.console.login",
    "admin.console.queue",
    "admin.console.case_page",
    "admin.console.conversation_pages",
    "admin.console.overview_page",
    "admin.console.account_pages",
    "admin.console.chat_binding_page",
    "admin.console.expert_pages",
    "admin.console.points_pages",
    "admin.console.points_mall_pages",
)


def console_blueprint() -> Blueprint:
    """A new blueprint with every console route (one per app)."""
    blueprint = Blueprint("console", url_prefix="/console")
    for name in PAGE_MODULES:
        importlib.import_module(name).register(blueprint)
    return blueprint
