"""帮我办 counts per township on the Overview (workflow.stats.proxy_figures): filed, first response on time, closed."""

from __future__ import annotations

import datetime as dt

from grid_support import make_grids, proxy
from workflow.stats import proxy_figures
from workflow.transitions import Actor


def test_proxy_cases_are_counted_per_township_today_and_this_month(case_service, lifecycle, session_factory, clock):
    workers = make_grids(session_factory)
    clock.now = dt.datetime(2026, 12, 7, 1, 30, tzinfo=dt.timezone.utc)  # Monday 7 Dec, 09:30 Shanghai
    liu = Actor.grid_worker(workers["liu"], "刘洋")
    on_time = case_service.file_report(proxy())
    late = case_service.file_report(proxy())
    case_service.file_report(proxy(kind="report"))                # not a proxy case
    lifecycle.acknowledge(on_time.case_id, liu)
    clock.advance(dt.timedelta(days=3))                           # Thursday 10 Dec: past Wednesday's 17:30
    lifecycle.acknowledge(late.case_id, liu)

    figures = proxy_figures(session_factory, now=clock.now)
    month = {row.code: row for row in figures["month"]}
    assert (month["wanghuzhai_zhen"].filed, month["wanghuzhai_zhen"].responded_on_time,
            month["wanghuzhai_zhen"].closed) == (2, 1, 0)
    assert month["julu_zhen"].filed == 0 and len(month) == 10     # every township, zeros included
    assert {row.code: row.filed for row in figures["today"]}["wanghuzhai_zhen"] == 0  # filed on Monday
