"""Jinja2 for the console's pages: autoescaping everywhere, strict undefined names, Chinese date and mask filters.

Every value a template prints is HTML-escaped (``autoescape=True``), so a resident's ``<script>`` shows as text. A
name a template uses but the view did not pass is an error (``StrictUndefined``) rather than an empty string, so a
broken page fails its test instead of showing a blank. Filters:

- ``local``: an aware datetime as ``YYYY-MM-DD HH:MM`` in Asia/Shanghai (``None`` → ``—``).
- ``iso``: an aware datetime as ISO 8601 (for ``data-`` attributes read by ``console.js``).
- ``masked_phone``: a phone number with its middle digits hidden (:func:`workflow.phones.mask_phone`).
- ``duration``: seconds as ``3天4小时``/``2小时5分``/``5分钟``.
- ``segment``: a value made safe as one URL path segment (``/`` and spaces encoded too, unlike ``urlencode``).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sanic.response import HTTPResponse, html

from admin.console.static_files import asset_url
from workflow.accounts import AccountRole
from workflow.phones import mask_phone

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "console"
SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Headers of every console page: scripts and styles only from here, no framing, nothing cached (pages carry
#: residents' personal data). Images may come from the channels' media servers (WeChat photo URLs).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(SHANGHAI).strftime(fmt)


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def duration_text(seconds: float) -> str:
    """A positive duration in seconds as Chinese text: ``3天4小时``, ``2小时5分``, ``5分钟``, ``不到1分钟``."""
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分"
    return f"{minutes}分钟" if minutes else "不到1分钟"


def _masked(value: str | None) -> str:
    return mask_phone(value) if value else "—"


def make_environment(template_dir: Path = TEMPLATE_DIR) -> Environment:
    """The console's Jinja2 environment (see the module docstring for its settings and filters)."""
    environment = Environment(
        loader=FileSystemLoader(str(template_dir)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["local"] = _local
    environment.filters["iso"] = _iso
    environment.filters["masked_phone"] = _masked
    environment.filters["duration"] = duration_text
    environment.filters["zip"] = lambda first, second: list(zip(first, second))
    environment.filters["segment"] = lambda value: urllib.parse.quote(str(value), safe="")
    environment.globals["asset_url"] = asset_url
    return environment


_ENVIRONMENT = make_environment()


#: The navigation bar: (path, label, roles that see it).
NAVIGATION = (
    ("/console/cases", "工单", tuple(AccountRole)),
    ("/console/conversations", "在线会话", (AccountRole.DISPATCHER, AccountRole.ADMIN)),
    ("/console/overview", "统计", (AccountRole.DISPATCHER, AccountRole.ADMIN, AccountRole.UNIT)),
    ("/console/accounts", "账号", (AccountRole.ADMIN,)),
    ("/console/chat-binding", "绑定聊天", (AccountRole.GRID_WORKER,)),
    ("/console/experts", "专家咨询", (AccountRole.EXPERT, AccountRole.DISPATCHER, AccountRole.ADMIN)),
    ("/console/knowledge-candidates", "知识库候选", (AccountRole.ADMIN,)),
    ("/console/activities", "志愿活动", (AccountRole.DISPATCHER, AccountRole.ADMIN, AccountRole.GRID_WORKER)),
    ("/console/mall", "积分兑换", (AccountRole.DISPATCHER, AccountRole.ADMIN, AccountRole.GRID_WORKER)),
)


def page_context(request: Any) -> dict[str, Any]:
    """What every logged-in page's layout needs: ``me`` (the account), ``csrf_token``, ``nav``, ``current_path``."""
    session = getattr(request.ctx, "console", None)
    if session is None:
        return {"me": None, "csrf_token": "", "nav": [], "current_path": request.path}
    account = session.account
    nav = [(path, label) for path, label, roles in NAVIGATION if account.role in roles]
    return {"me": account, "csrf_token": session.csrf_token, "nav": nav, "current_path": request.path}


def render_page(request: Any, template: str, *, status: int = 200, **context: Any) -> HTTPResponse:
    """:func:`render` with the layout's :func:`page_context` of ``request`` added (``context`` wins on a clash)."""
    return render(template, status=status, **{**page_context(request), **context})


def render(template: str, *, status: int = 200, **context: Any) -> HTTPResponse:
    """Render ``template`` (a file under ``admin/templates/console``) as an HTML response with :data:`PAGE_HEADERS`.

    Raises:
        jinja2.TemplateError: The template is missing or uses a name not in ``context`` (a bug: the error handler
            logs it and shows the generic error page).
    """
    body = _ENVIRONMENT.get_template(template).render(**context)
    return html(body, status=status, headers=dict(PAGE_HEADERS))
