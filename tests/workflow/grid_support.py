"""Shared set-up of the grid-work tests: grids with workers in 王虎寨镇, households, residents bound to chats.

(Imported by the tests; pytest puts this directory on ``sys.path``.)
"""

from __future__ import annotations

from workflow.accounts import AccountService
from workflow.cases import NewReport
from workflow.grids import bind_channel
from workflow.models import Grid, Household, Resident

PASSWORD = "Julu2026console"
#: 王虎寨镇小韩寨村: one grid (its worker 刘洋); 大韩寨村: two grids (workers 赵敏 and none).
ONE_GRID_VILLAGE = "wanghuzhai_xiaohanzhai"
TWO_GRID_VILLAGE = "wanghuzhai_dahanzhai"


def make_worker(session_factory, username: str, village: str, name: str) -> int:
    """A grid worker account; returns its id."""
    return AccountService(session_factory).create(username, PASSWORD, role="grid_worker", village_code=village,
                                                  display_name=name).id


def make_grids(session_factory) -> dict[str, int]:
    """The grids of both villages, a household in each of 大韩寨's; returns the workers' account ids."""
    liu = make_worker(session_factory, "grid-liu", ONE_GRID_VILLAGE, "刘洋")
    zhao = make_worker(session_factory, "grid-zhao", TWO_GRID_VILLAGE, "赵敏")
    with session_factory.begin() as session:
        session.add_all([
            Grid(code="XHZ-1", name="第一网格", village_code=ONE_GRID_VILLAGE, kind="rural", is_sample=False,
                 worker_account_id=liu),
            Grid(code="DHZ-1", name="第一网格", village_code=TWO_GRID_VILLAGE, kind="rural", is_sample=False,
                 worker_account_id=zhao),
            Grid(code="DHZ-2", name="第二网格", village_code=TWO_GRID_VILLAGE, kind="rural", is_sample=False),
        ])
        session.flush()
        for code, grid in (("H-DHZ-1", "DHZ-1"), ("H-DHZ-2", "DHZ-2")):
            household = Household(code=code, grid_code=grid, address=f"大韩寨村{code}号", head_name="王大爷",
                                  member_count=2, has_elderly=True, has_disabled=False, has_members_away=True,
                                  is_sample=False)
            household.residents = [Resident(name=f"王大爷{code}", role="head", is_sample=False),
                                   Resident(name=f"王小明{code}", role="child", is_sample=False)]
            session.add(household)
    return {"liu": liu, "zhao": zhao}


def bind_resident(session_factory, household_code: str, channel: str, sender_id: str) -> None:
    """Bind the household's child (the relative far away) to a chat."""
    from sqlalchemy import select

    with session_factory.begin() as session:
        resident = session.execute(select(Resident).join(Household).where(
            Household.code == household_code, Resident.role == "child")).scalar_one()
        bind_channel(session, resident.id, channel, sender_id)


def proxy(**overrides) -> NewReport:
    """A relative's 帮我办 request for the old man at home: 高龄补贴 (civil affairs, public service)."""
    values = dict(kind="proxy", beneficiary="家里老人", description="帮我家老人办一下高龄补贴",
                  category_code="civil_affairs", matter_type="public_service", township="王虎寨镇",
                  village="小韩寨村", reporter_id="wx-son-far-away", channel="wechat",
                  reporter_phone="13800138000")
    values.update(overrides)
    return NewReport(**values)


def report(**overrides) -> NewReport:
    """A resident's ordinary report in 小韩寨村 (burning straw)."""
    values = dict(description="村东头有人焚烧秸秆，烟很大", category_code="eco_environment",
                  suggested_category_code="eco_environment", category_confidence=0.6, matter_type="other",
                  township="王虎寨镇", village="小韩寨村", reporter_id="wx-resident-1", channel="wechat")
    values.update(overrides)
    return NewReport(**values)
