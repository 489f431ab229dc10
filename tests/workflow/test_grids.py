"""The grid model: tables and constraints, the grid of a location or a case, grid workers, channel bindings."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from workflow.accounts import AccountService
from workflow.cases import NewReport
from workflow.grids import (
    GridError,
    SenderAlreadyBound,
    UnknownGrid,
    assign_worker,
    bind_channel,
    grid_for_case,
    grid_of_sender,
    grid_size_warning,
    grids_of_village,
    grids_of_worker,
    resident_by_sender,
    residents_by_phone,
    resolve_grid,
    unbind_channel,
    worker_of_grid,
)
from workflow.models import Case, Grid, Household, Resident, ResidentChannel

PASSWORD = "Julu2026console"
NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)


def _grid(session, code, village="julu_dongguan", name=None, kind="rural", **extra):
    grid = Grid(code=code, name=name or code, village_code=village, kind=kind, is_sample=False, **extra)
    session.add(grid)
    session.flush()
    return grid


def _household(session, code, grid_code, address="东关村1排1号", members=(("王建国", "head"),), **extra):
    household = Household(code=code, grid_code=grid_code, address=address, head_name=members[0][0],
                          member_count=max(len(members), 1), has_elderly=False, has_disabled=False,
                          has_members_away=False, is_sample=False, **extra)
    household.residents = [Resident(name=name, role=role, is_sample=False, phone=phone)
                           for name, role, phone in ((*m, None)[:3] for m in members)]
    session.add(household)
    session.flush()
    return household


@pytest.fixture
def accounts(session_factory):
    return AccountService(session_factory)


# ---------------------------------------------------------------------- schema
def test_the_tables_enforce_kinds_counts_roles_and_id_endings(session_factory):
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            _grid(session, "g1", kind="suburban")
    for values in (dict(member_count=0), dict(member_count=21)):
        with pytest.raises(IntegrityError):
            with session_factory.begin() as session:
                _grid(session, "g1")
                session.add(Household(code="h1", grid_code="g1", address="a", head_name="王", has_elderly=False,
                                      has_disabled=False, has_members_away=False, is_sample=False, **values))
    for values in (dict(role="boss"), dict(id_card_last4="12345"), dict(id_card_last4="123")):
        with pytest.raises((IntegrityError, DataError)):  # PostgreSQL: too long for varchar(4)
            with session_factory.begin() as session:
                _grid(session, "g1")
                household = _household(session, "h1", "g1")
                session.add(Resident(household_id=household.id, name="李四", is_sample=False,
                                     **{"role": "child", **values}))


def test_a_grid_needs_a_known_village_and_a_name_unique_in_it(session_factory):
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            _grid(session, "g1", village="no_such_village")
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            _grid(session, "g1", name="第一网格")
            _grid(session, "g2", name="第一网格")
    with session_factory.begin() as session:  # the same name in another village is fine
        _grid(session, "g1", name="第一网格")
        _grid(session, "g2", village="julu_xiguan", name="第一网格")


def test_a_sender_id_is_unique_per_channel_and_goes_with_its_resident(session_factory):
    with session_factory.begin() as session:
        _grid(session, "g1")
        household = _household(session, "h1", "g1", members=(("王建国", "head"), ("李秀英", "spouse")))
        first, second = household.residents
        bind_channel(session, first.id, "wechat", "openid-1", now=NOW)
        bind_channel(session, second.id, "socketio", "openid-1", now=NOW)  # another channel: another identity
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            session.add(ResidentChannel(resident_id=second.id, channel="wechat", sender_id="openid-1", bound_at=NOW))
    with session_factory.begin() as session:
        session.delete(session.get(Household, household.id))
    with session_factory() as session:
        assert session.execute(select(ResidentChannel)).scalars().all() == []


# ---------------------------------------------------------------------- sizing rule
def test_the_size_warning_follows_the_countys_rule():
    assert grid_size_warning("rural", 60) is None
    assert "61 户" in grid_size_warning("rural", 61) and "50–60" in grid_size_warning("rural", 61)
    assert grid_size_warning("urban", 100) is None
    assert "101 户" in grid_size_warning("urban", 101)
    with pytest.raises(ValueError):
        grid_size_warning("suburban", 3)


# ---------------------------------------------------------------------- resolution
def test_a_village_with_one_grid_resolves_to_it(session_factory):
    with session_factory.begin() as session:
        _grid(session, "g1")
        assert resolve_grid(session, "julu_dongguan").code == "g1"
        assert resolve_grid(session, "julu_xiguan") is None  # no grid
        assert resolve_grid(session, None) is None
        assert [g.code for g in grids_of_village(session, "julu_dongguan")] == ["g1"]


def test_several_grids_resolve_only_by_household_or_address(session_factory):
    with session_factory.begin() as session:
        _grid(session, "g1", name="第一网格")
        _grid(session, "g2", name="第二网格")
        _household(session, "h1", "g1", address="东关村1排1号")
        _household(session, "h2", "g2", address="东关村 9排3号", members=(("赵敏", "head"),))
        _grid(session, "x1", village="julu_xiguan")
        _household(session, "hx", "x1", address="西关村2排2号", members=(("孙强", "head"),))
        # No silent guess: the dispatcher chooses.
        assert resolve_grid(session, "julu_dongguan") is None
        assert resolve_grid(session, "julu_dongguan", address="东关村5排5号") is None
        assert resolve_grid(session, "julu_dongguan", household_code="h2").code == "g2"
        assert resolve_grid(session, None, household_code="h2").code == "g2"
        assert resolve_grid(session, "julu_dongguan", address="东关村９排３号").code == "g2"  # full-width, spaces
        # A household of another village says nothing about this one.
        assert resolve_grid(session, "julu_dongguan", household_code="hx") is None
        assert resolve_grid(session, "julu_dongguan", household_code="nope") is None


def test_several_grids_at_one_address_stay_unresolved(session_factory):
    with session_factory.begin() as session:
        _grid(session, "g1", name="第一网格")
        _grid(session, "g2", name="第二网格")
        _household(session, "h1", "g1", address="东关村1排1号")
        _household(session, "h2", "g2", address="东关村1排1号", members=(("赵敏", "head"),))
        assert resolve_grid(session, "julu_dongguan", address="东关村1排1号") is None


def _file(case_service, **overrides):
    values = dict(description="路灯不亮", category_code="city_management", matter_type="other", township="巨鹿镇",
                  village="东关村", reporter_id="wx-100", channel="wechat")
    values.update(overrides)
    return case_service.file_report(NewReport(**values))


def test_a_cases_grid_comes_from_its_village_and_its_bound_reporter(case_service, session_factory):
    with session_factory.begin() as session:
        _grid(session, "g1", name="第一网格")
        _grid(session, "g2", name="第二网格")
        household = _household(session, "h2", "g2")
        bind_channel(session, household.residents[0].id, "wechat", "wx-100", now=NOW)
        _grid(session, "x1", village="julu_xiguan")
    bound = _file(case_service)
    stranger = _file(case_service, reporter_id="wx-200")
    elsewhere = _file(case_service, village="西关村")
    no_village = _file(case_service, village=None)
    other_channel = _file(case_service, channel="socketio")
    with session_factory() as session:
        case = lambda view: session.execute(select(Case).where(Case.case_id == view.case_id)).scalar_one()  # noqa
        assert grid_for_case(session, case(bound)).code == "g2"
        assert grid_for_case(session, case(stranger)) is None  # two grids, nothing to choose by
        assert grid_for_case(session, case(elsewhere)).code == "x1"  # the case's village, not the home's
        assert grid_for_case(session, case(no_village)) is None
        assert grid_for_case(session, case(other_channel)) is None
        assert grid_of_sender(session, "wechat", "wx-100").code == "g2"
        assert grid_of_sender(session, "wechat", "wx-200") is None


# ---------------------------------------------------------------------- grid workers
def test_one_worker_per_grid_of_their_village(session_factory, accounts):
    worker = accounts.create("wanggw", PASSWORD, role="grid_worker", display_name="网格员王", village_code="julu_dongguan")
    other = accounts.create("ligw", PASSWORD, role="grid_worker", display_name="网格员李", village_code="julu_xiguan")
    dispatcher = accounts.create("disp", PASSWORD, role="dispatcher", display_name="调度员")
    with session_factory.begin() as session:
        _grid(session, "g1", name="第一网格")
        _grid(session, "g2", name="第二网格")
        assert worker_of_grid(session, "g1") is None
        assign_worker(session, "g1", worker.id)
        assign_worker(session, "g2", worker.id)
        assign_worker(session, "g2", worker.id)  # idempotent
        for refused in (other.id, dispatcher.id, 99999):
            with pytest.raises(GridError) as raised:
                assign_worker(session, "g1", refused)
            assert raised.value.context["field"] == "worker_account_id"
        with pytest.raises(UnknownGrid):
            assign_worker(session, "nope", worker.id)
        with pytest.raises(UnknownGrid):
            worker_of_grid(session, "nope")
    with session_factory.begin() as session:
        assert worker_of_grid(session, "g1").username == "wanggw"
        assert [g.code for g in grids_of_worker(session, worker.id)] == ["g1", "g2"]
        assert grids_of_worker(session, other.id) == []
        assign_worker(session, "g2", None)
    accounts.disable(worker.id)
    with session_factory() as session:
        assert worker_of_grid(session, "g1") is None  # a disabled account receives nothing
        assert worker_of_grid(session, "g2") is None
        with pytest.raises(GridError, match="disabled"):
            assign_worker(session, "g2", worker.id)


# ---------------------------------------------------------------------- channels
def test_binding_a_sender_is_idempotent_and_never_steals_silently(session_factory):
    with session_factory.begin() as session:
        _grid(session, "g1")
        household = _household(session, "h1", "g1", members=(("王建国", "head", "13812345678"),
                                                               ("李秀英", "spouse")))
        wang, li = (r.id for r in household.residents)
        first = bind_channel(session, wang, "wechat", "openid-1", now=NOW)
        assert bind_channel(session, wang, " wechat ", "openid-1 ").id == first.id
        assert first.bound_at == NOW
        bind_channel(session, wang, "socketio", "web-1", now=NOW)
        with pytest.raises(SenderAlreadyBound) as raised:
            bind_channel(session, li, "wechat", "openid-1", now=NOW)
        assert raised.value.context == {"channel": "wechat", "resident_id": wang}
        assert resident_by_sender(session, "wechat", "openid-1").name == "王建国"
        bind_channel(session, li, "wechat", "openid-1", now=NOW, replace=True)
        assert resident_by_sender(session, "wechat", "openid-1").name == "李秀英"
        assert resident_by_sender(session, "socketio", "web-1").name == "王建国"
        assert resident_by_sender(session, "wechat", "openid-2") is None
        assert resident_by_sender(session, None, "openid-1") is None
        for channel, sender, resident in (("", "x", wang), ("wechat", "", wang), ("w" * 33, "x", wang),
                                          ("wechat", "x" * 256, wang), ("wechat", "x", 99999)):
            with pytest.raises(GridError):
                bind_channel(session, resident, channel, sender)
        assert unbind_channel(session, "wechat", "openid-1") is True
        assert unbind_channel(session, "wechat", "openid-1") is False
        assert resident_by_sender(session, "wechat", "openid-1") is None
        assert [r.name for r in residents_by_phone(session, "+86 138-1234-5678")] == ["王建国"]
        with pytest.raises(ValueError):
            residents_by_phone(session, "12345")
