"""The Overview page (统计): today's and this month's figures, by unit and by township, as charts and tables.

``GET /console/overview`` renders the figures of :func:`workflow.stats.overview` (their definitions are that
module's) as cards, two ranked tables (争先进位: units, townships) and two charts drawn by the vendored Chart.js
(``/console/static/chart.umd.min.js``, nothing from another address); ``GET /console/overview.json`` gives the same
figures to scripts. The chart data travel in the page as a JSON data block (``<script type="application/json">``,
escaped by Jinja's ``tojson``), read by ``overview.js``: no inline script runs (CSP). The tables carry every figure
the charts show, so the page is complete without JavaScript. Dispatchers, administrators and unit staff may open
it (aggregates only: no resident data). A table of 帮我办 per township (issue 6: filed, first response on time,
closed; today and this month, :func:`workflow.stats.proxy_figures`) follows; the JSON carries it as ``proxy``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from admin.console.session import page
from admin.console.templating import render_page
from workflow.accounts import AccountRole
from workflow.stats import Overview, Rate, overview, proxy_figures

ROLES = (AccountRole.DISPATCHER, AccountRole.ADMIN, AccountRole.UNIT)
#: The rates in the order the page shows them, with their Chinese names.
RATES = (
    ("reply_rate", "回复率"),
    ("closure_rate", "办结率"),
    ("on_time_rate", "按时办结率"),
    ("satisfaction_rate", "满意率"),
)


def register(blueprint: Blueprint) -> None:
    """Add the Overview routes to the console blueprint."""
    blueprint.add_route(overview_page, "/overview", methods=["GET"])
    blueprint.add_route(overview_json, "/overview.json", methods=["GET"])


def percent(rate: Rate) -> str:
    """``87.5%`` (one decimal), or ``—`` when there is nothing to divide by."""
    value = rate.value
    return "—" if value is None else f"{value * 100:.1f}%"


def chart_data(figures: Overview) -> dict[str, Any]:
    """What ``overview.js`` draws: this month by township (new, closed, overdue) and the units' rates (percent)."""
    month = figures.month
    return {
        "townships": {
            "labels": [row.name for row in month.by_township],
            "new": [row.figures.new for row in month.by_township],
            "closed": [row.figures.closed for row in month.by_township],
            "overdue": [row.figures.overdue for row in month.by_township],
        },
        "units": {
            "labels": [row.name for row in month.by_unit],
            "rates": {
                label: [None if getattr(row.figures, key).value is None
                        else round(getattr(row.figures, key).value * 100, 1) for row in month.by_unit]
                for key, label in RATES
            },
        },
    }


async def _figures(request: Request) -> Overview:
    now = request.app.ctx.lifecycle.now()
    return await asyncio.to_thread(overview, request.app.ctx.session_factory, now=now)


async def _proxy(request: Request):
    now = request.app.ctx.lifecycle.now()
    return await asyncio.to_thread(proxy_figures, request.app.ctx.session_factory, now=now)


@page(*ROLES)
async def overview_page(request: Request) -> HTTPResponse:
    """The Overview page."""
    figures = await _figures(request)
    return render_page(request, "overview.html", figures=figures, rates=RATES, percent=percent,
                       chart_data=chart_data(figures), proxy=await _proxy(request))


@page(*ROLES)
async def overview_json(request: Request) -> HTTPResponse:
    """The figures as JSON (:meth:`workflow.stats.Overview.to_dict`, and ``proxy``: 帮我办 per township)."""
    figures = await _figures(request)
    body = figures.to_dict()
    body["proxy"] = {name: [row.to_dict() for row in rows] for name, rows in (await _proxy(request)).items()}
    return json(body, ensure_ascii=False, headers={"Cache-Control": "no-store"})
