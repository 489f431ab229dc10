"""Grid workers (网格员) in the conversation (issue 6): bind the chat, "我网格的工单", patrol reports.

A grid worker is a console account of role ``grid_worker`` with one or more grids (:mod:`workflow.grids`). The
worker binds a chat once by sending "绑定 123456" with the one-time code the console's 绑定聊天 page shows
(:meth:`workflow.grid_work.GridWork.bind_sender`); from then on that conversation is the worker's: new cases in
their grids are pushed to it (the deliverer), "网格待办" lists their grids' open cases, and a report they write is a
patrol report (巡查上报, ``kind="patrol"``) with their grid filled in (:func:`patrol_grid`, used by
``actions/report.py``).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import constants as c
from actions import services
from bot.nlu.normalize import clean_text
from workflow.deadlines import format_deadline_zh
from workflow.exceptions import JuhaobanError
from workflow.status import describe_status

logger = logging.getLogger(__name__)

#: Open cases "网格待办" lists.
CASES_SHOWN = 10
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def worker_of(tracker: Tracker):
    """The grid worker bound to this conversation (a ``WorkerView``), or None (also when the lookup fails: a
    resident must never be blocked by it)."""
    grid_work = services.get().grid_work
    if grid_work is None:
        return None
    try:
        return grid_work.worker_of_sender(tracker.get_latest_input_channel(), tracker.sender_id)
    except Exception:
        logger.exception("Looking up the grid worker of %s failed", tracker.sender_id)
        return None


def patrol_grid(worker, township: Optional[str], village: Optional[str]) -> Optional[Dict[str, Any]]:
    """The worker's grid a patrol report belongs to: ``{"grid_code", "grid_name", "township", "village"}``.

    The rule: no place named in the report → the worker's grid when they have exactly one (several: None, the case
    resolves its grid from the village as any report does); a place named → the worker's grid in that village when
    there is exactly one, else None (a worker reporting outside their grid reports as anyone would).
    """
    if worker is None or not worker.grids:
        return None
    grids = list(worker.grids)
    if village:
        grids = [g for g in grids if village in (g.village_name, g.village_code)]
    elif township:
        grids = [g for g in grids if township in (g.township_name, g.township_code)]
    if len(grids) != 1:
        return None
    grid = grids[0]
    return {"grid_code": grid.code, "grid_name": grid.name, "township": grid.township_name,
            "village": grid.village_name}


class ActionBindAccount(Action):
    """"绑定 123456": binds this conversation to the grid worker whose console issued the code."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_BIND_ACCOUNT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Binds and says which grids; a wrong, used or expired code (or too many tries) is said plainly."""
        code = next(tracker.get_latest_entity_values(c.ENTITY_BINDING_CODE), None)
        if not code:
            found = _CODE.search(clean_text(tracker.latest_message.get("text") or ""))
            code = found.group(1) if found else None
        if not code:
            dispatcher.utter_message(text="请发送“绑定”加调度台“绑定聊天”页面上的6位数字，比如“绑定 123456”。")
            return []
        try:
            worker = services.get().grid_work.bind_sender(str(code), tracker.get_latest_input_channel() or "unknown",
                                                         tracker.sender_id)
        except JuhaobanError as error:
            if error.code == "binding_locked":
                dispatcher.utter_message(text="绑定码错误次数太多，请15分钟后再试，或在调度台重新生成绑定码。")
            else:
                dispatcher.utter_message(text="绑定码不对或已过期（10分钟内有效，只能用一次），请在调度台“绑定聊天”页面重新生成。")
            return []
        except Exception:
            logger.exception("Binding %s failed", tracker.sender_id)
            dispatcher.utter_message(text="抱歉，系统暂时没能绑定，请稍后再试。")
            return []
        grids = "、".join(f"{g.village_name}{g.name}" for g in worker.grids) or "（暂未分配网格）"
        dispatcher.utter_message(text=(
            f"绑定成功：{worker.display_name}，负责{grids}。\n"
            "本网格的新工单会推送到这里；发“网格待办”查看未办结的工单；在这里反映的问题按巡查上报登记。"))
        return []


class ActionGridCases(Action):
    """"网格待办": the open cases of the worker's grids and the 帮我办 requests assigned to them."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_GRID_CASES

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Lists up to :data:`CASES_SHOWN` cases, earliest deadline first; a resident is told it is for workers."""
        worker = worker_of(tracker)
        if worker is None:
            dispatcher.utter_message(text=(
                "“网格待办”是给网格员用的。网格员请先登录调度台，在“绑定聊天”页面取得绑定码，再发“绑定+6位数字”。"
                "查自己反映的事项请发“我的工单”。"))
            return []
        try:
            cases = services.get().grid_work.open_cases_of_worker(worker.account_id, limit=CASES_SHOWN)
        except Exception:
            logger.exception("Reading the grid cases of %s failed", worker.account_id)
            dispatcher.utter_message(text="抱歉，网格工单暂时查不到，请稍后再试，或在调度台查看。")
            return []
        if not cases:
            dispatcher.utter_message(text="您的网格现在没有未办结的工单。")
            return []
        lines = [f"您网格未办结的工单（{len(cases)}件，时限最近的在前）："]
        for case in cases:
            kind = "【帮我办】" if getattr(case, "kind", "report") == "proxy" else ""
            place = (case.village or case.township_name) or ""
            lines.append(f"· {kind}{case.case_id} {place} {case.description[:18]}：{describe_status(case)}，"
                         f"时限{format_deadline_zh(case.deadline)}")
        lines.append("办理请登录调度台。")
        dispatcher.utter_message(text="\n".join(lines))
        return []
