"""Sample grid data: sized by the county's rule, deterministic, always marked, never mixed with real rows."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from workflow.grid_csv import export_grid_csv
from workflow.grid_sample import generate_sample, remove_sample
from workflow.grids import MAX_HOUSEHOLDS, MIN_HOUSEHOLDS, bind_channel, household_count
from workflow.models import Grid, Household, Resident, ResidentChannel, Township, Village

TWO = ["julu_zhen", "guanzhai_xiang"]
_CHINESE_NAME = re.compile(r"^[\u4e00-\u9fff]{2,3}$")


def _snapshot(session):
    return (
        [tuple(r) for r in session.execute(select(Grid.code, Grid.name, Grid.kind, Grid.village_code)
                                           .order_by(Grid.code))],
        [tuple(r) for r in session.execute(select(Household.code, Household.head_name, Household.address,
                                                  Household.member_count, Household.has_elderly)
                                           .order_by(Household.code))],
        [tuple(r) for r in session.execute(select(Household.code, Resident.name, Resident.role,
                                                  Resident.id_card_last4)
                                           .join(Household).order_by(Household.code, Resident.name))],
    )


def test_every_township_gets_grids_sized_by_the_rule_all_marked_sample(session_factory):
    with session_factory.begin() as session:
        report = generate_sample(session, seed=7)
    with session_factory() as session:
        sample_villages = session.execute(select(func.count()).select_from(Village)
                                          .where(Village.is_sample.is_(True))).scalar_one()
        assert report.villages == sample_villages and report.skipped == {}
        townships = set(session.execute(select(Village.township_code).join(Grid, Grid.village_code == Village.code)
                                        .distinct()).scalars())
        assert townships == set(session.execute(select(Township.code)).scalars()) and len(townships) == 10
        grids = session.execute(select(Grid).options(selectinload(Grid.village))).scalars().all()
        assert len(grids) == report.grids and all(g.is_sample and g.code.startswith("S-") for g in grids)
        sizes = dict(session.execute(select(Household.grid_code, func.count()).group_by(Household.grid_code)).all())
        assert household_count(session, grids[0].code) == sizes[grids[0].code]
        for grid in grids:
            assert MIN_HOUSEHOLDS[grid.kind] <= sizes[grid.code] <= MAX_HOUSEHOLDS[grid.kind]
            assert grid.kind == ("urban" if grid.village.township_code == "julu_zhen" else "rural")
        assert session.execute(select(func.count()).select_from(Household)
                               .where(Household.is_sample.is_(False))).scalar_one() == 0
        residents = session.execute(select(Resident)).scalars().all()
        assert len(residents) == report.residents and all(r.is_sample for r in residents)
        assert all(r.phone is None for r in residents)  # a made-up mobile number could be somebody's
        assert all(_CHINESE_NAME.match(r.name) for r in residents)
        assert all(re.match(r"^\d{3}[\dX]$", r.id_card_last4) for r in residents)
        for household in session.execute(select(Household).options(selectinload(Household.residents))).scalars():
            people = household.residents
            assert len(people) == household.member_count and 1 <= household.member_count <= 6
            assert people[0].role == "head" and people[0].name == household.head_name
            assert len({p.name for p in people}) == len(people)
    assert "示例数据（种子 7）" in report.summary()


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(session_factory):
    with session_factory.begin() as session:
        generate_sample(session, seed=11, townships=TWO)
        first = _snapshot(session)
        remove_sample(session)
        assert _snapshot(session) == ([], [], [])
        generate_sample(session, seed=11, townships=TWO)
        assert _snapshot(session) == first
        remove_sample(session)
        generate_sample(session, seed=12, townships=TWO)
        assert _snapshot(session) != first
        remove_sample(session)
        # Village by village: a run over one township gives that township's rows of the run over two.
        generate_sample(session, seed=11, townships=["guanzhai_xiang"])
        assert _snapshot(session)[0] == [g for g in first[0] if g[3].startswith("guanzhai")]


def test_running_again_writes_nothing_unless_replacing(session_factory):
    with session_factory.begin() as session:
        first = generate_sample(session, seed=3, townships=TWO)
        again = generate_sample(session, seed=3, townships=TWO)
        assert again.grids == 0 and set(again.skipped.values()) == {"sample exists"}
        assert len(again.skipped) == first.villages
        replaced = generate_sample(session, seed=3, townships=TWO, replace=True)
        assert (replaced.grids, replaced.households) == (first.grids, first.households)


def test_it_never_mixes_with_real_grids(session_factory):
    with session_factory.begin() as session:
        session.add(Grid(code="REAL-1", name="第一网格", village_code="julu_dongguan", kind="urban", is_sample=False))
        session.add(Household(code="REAL-1-1", grid_code="REAL-1", address="东关社区1号", head_name="王建国",
                              member_count=1, has_elderly=False, has_disabled=False, has_members_away=False,
                              is_sample=False))
        report = generate_sample(session, seed=1, townships=["julu_zhen"], replace=True)
        assert report.skipped == {"julu_dongguan": "real grids"}
        assert session.execute(select(Grid.code).where(Grid.village_code == "julu_dongguan")).scalars().all() == [
            "REAL-1"]
        removed = remove_sample(session)
        assert removed == report.grids
        assert session.execute(select(Grid.code)).scalars().all() == ["REAL-1"]
        assert session.execute(select(func.count()).select_from(Household)).scalar_one() == 1


def test_removing_samples_takes_their_channel_bindings_and_exports_leave_them_out(session_factory):
    with session_factory.begin() as session:
        generate_sample(session, seed=5, townships=["guanzhai_xiang"])
        resident = session.execute(select(Resident).order_by(Resident.id)).scalars().first()
        bind_channel(session, resident.id, "socketio", "demo-1")
        assert export_grid_csv(session).decode("utf-8-sig").count("\n") == 1  # header only
        assert "S-guanzhai" in export_grid_csv(session, include_sample=True).decode("utf-8-sig")
        remove_sample(session, ["no_such_village"])
        assert session.execute(select(func.count()).select_from(ResidentChannel)).scalar_one() == 1
        remove_sample(session)
        assert session.execute(select(func.count()).select_from(ResidentChannel)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Resident)).scalar_one() == 0
