"""Sample grid data for development and the pilot's demonstrations: grids, households and residents of the pilot
county's 10 townships' sample villages (``data/reference/gazetteer.yml``: the villages marked ``sample: true``).

EVERYTHING HERE IS MADE UP and written with ``is_sample = True``; codes start with ``S-`` so a sample row is
recognisable anywhere (an export, a log). Rules that keep it apart from real data (DESIGN.md: "Village and grid
data beyond these are sample data and must be marked as such"):

- only villages that are themselves sample villages get sample grids;
- a village holding any real grid is skipped (reported), never topped up with samples; and the CSV import refuses
  to put real rows into a village that holds sample grids (:mod:`workflow.grid_csv`);
- :func:`remove_sample` deletes sample rows only (grids, their households and residents, the residents' channel
  bindings).

Sizing follows the county's rule (issue 6: 50–60 rural households or 100 urban per grid): a rural village gets
1–3 grids of 50–60 households each, an urban community 1–2 grids of 90–100. The villages of 巨鹿镇 (the county
seat, 县城) are taken as urban communities, all others as rural villages — an assumption of the sample, not a fact
about the county. Households have 1–6 members (about 3 on average), the head first, with plausible North China
names; flags for 帮我办 (elderly, disabled, members away) are set on a plausible share. Sample residents get no
phone number (a made-up mobile number could belong to somebody) and a random ID-card ending.

Deterministic: the same seed gives the same data, village by village (a run over some townships gives the same
rows for them as a run over all).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from workflow.grids import MAX_HOUSEHOLDS, MIN_HOUSEHOLDS
from workflow.models import Grid, Household, Resident, ResidentChannel, Village

#: The seed used when none is given.
DEFAULT_SEED = 2026
#: The county seat's township: its sample villages are generated as urban communities.
URBAN_TOWNSHIPS = frozenset({"julu_zhen"})
#: Grids per village the generator makes (inclusive range), by kind.
GRIDS_PER_VILLAGE = {"rural": (1, 3), "urban": (1, 2)}
SAMPLE_PREFIX = "S-"

# Common surnames of Hebei and the North China plain, roughly by frequency (weights repeat the commonest).
_SURNAMES = ("王王王王李李李张张张刘刘刘赵赵杨杨陈陈孙孙郭郭马马高高韩韩吕吕周吴徐朱胡何宋许董冯"
             "曹魏田任袁于杜贾郝路段崔尚耿范孟邢焦薛武常康")
_MALE_GIVEN = ("建国", "国强", "志强", "振华", "海涛", "立新", "永刚", "保平", "红军", "文亮", "建军", "春生",
               "庆华", "明", "强", "磊", "伟", "军", "勇", "涛", "浩然", "子轩", "宇航", "俊杰", "博文", "梓豪",
               "金柱", "玉林", "福来", "长江", "树森", "志刚", "新民", "广才", "书林", "铁锁")
_FEMALE_GIVEN = ("秀英", "桂兰", "玉兰", "秀兰", "淑芬", "凤英", "丽娟", "红梅", "春燕", "海燕", "晓丽", "丽",
                 "静", "敏", "娜", "芳", "欣怡", "梓涵", "雨桐", "思琪", "佳怡", "秀珍", "翠花", "美玲", "爱华",
                 "素梅", "金凤", "彩霞", "月娥", "小红")
_GRID_NUMERALS = "一二三四五六七八九十"
_ALPHABET_LAST = "0123456789"


@dataclass
class SampleReport:
    """What :func:`generate_sample` wrote: counts, and the villages left alone with the reason."""

    seed: int = DEFAULT_SEED
    villages: int = 0
    grids: int = 0
    households: int = 0
    residents: int = 0
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the command line."""
        skipped = f"；跳过 {len(self.skipped)} 个村/社区" if self.skipped else ""
        return (f"示例数据（种子 {self.seed}）：{self.villages} 个村/社区，{self.grids} 个网格，"
                f"{self.households} 户，{self.residents} 人{skipped}")


def generate_sample(session: Session, *, seed: int = DEFAULT_SEED, townships: list[str] | None = None,
                    replace: bool = False) -> SampleReport:
    """Write sample grids, households and residents for the sample villages, in the caller's transaction.

    Args:
        seed: Any integer; the same seed gives the same rows.
        townships: Township codes to limit the run to (default: all 10).
        replace: Regenerate villages that already hold sample grids (delete them first); by default such a village
            is skipped, so running twice writes nothing new.

    Returns:
        Counts, and ``skipped``: village code → why (``real grids``: it holds real data; ``sample exists``).
    """
    report = SampleReport(seed=seed)
    query = select(Village).where(Village.is_sample.is_(True)).order_by(Village.township_code, Village.code)
    if townships is not None:
        query = query.where(Village.township_code.in_(townships))
    villages = list(session.execute(query).scalars())
    for village in villages:
        kinds = set(session.execute(select(Grid.is_sample).where(Grid.village_code == village.code)).scalars())
        if False in kinds:
            report.skipped[village.code] = "real grids"
            continue
        if True in kinds:
            if not replace:
                report.skipped[village.code] = "sample exists"
                continue
            remove_sample(session, [village.code])
        _generate_village(session, village, random.Random(f"{seed}:{village.code}"), report)
    session.flush()
    return report


def remove_sample(session: Session, village_codes: list[str] | None = None) -> int:
    """Delete sample grids (all, or those of ``village_codes``) with their households, residents and the residents'
    channel bindings; real rows are never touched. Returns the number of grids deleted."""
    query = select(Grid.code).where(Grid.is_sample.is_(True))
    if village_codes is not None:
        query = query.where(Grid.village_code.in_(village_codes))
    grid_codes = list(session.execute(query).scalars())
    if not grid_codes:
        return 0
    session.flush()
    households = select(Household.id).where(Household.grid_code.in_(grid_codes), Household.is_sample.is_(True))
    residents = select(Resident.id).where(Resident.household_id.in_(households))
    session.execute(delete(ResidentChannel).where(ResidentChannel.resident_id.in_(residents))
                    .execution_options(synchronize_session=False))
    session.execute(delete(Resident).where(Resident.household_id.in_(households))
                    .execution_options(synchronize_session=False))
    session.execute(delete(Household).where(Household.grid_code.in_(grid_codes))
                    .execution_options(synchronize_session=False))
    session.execute(delete(Grid).where(Grid.code.in_(grid_codes)).execution_options(synchronize_session=False))
    session.expire_all()
    return len(grid_codes)


def _generate_village(session: Session, village: Village, rng: random.Random, report: SampleReport) -> None:
    kind = "urban" if village.township_code in URBAN_TOWNSHIPS else "rural"
    low, high = GRIDS_PER_VILLAGE[kind]
    stem = village.name[:-1] if village.name.endswith(("村", "社区")) and len(village.name) > 2 else village.name
    report.villages += 1
    for number in range(1, rng.randint(low, high) + 1):
        grid_code = f"{SAMPLE_PREFIX}{village.code}-{number:02d}"
        session.add(Grid(code=grid_code, name=f"第{_GRID_NUMERALS[number - 1]}网格", village_code=village.code,
                         kind=kind, worker_account_id=None, is_sample=True))
        session.flush()
        households = [_household(rng, kind, stem, grid_code, number, index)
                      for index in range(1, rng.randint(MIN_HOUSEHOLDS[kind], MAX_HOUSEHOLDS[kind]) + 1)]
        # Core inserts, three statements a grid: the ORM's row-by-row inserts took ~10 s for the county.
        session.execute(insert(Household), [values for values, _ in households])
        ids = dict(session.execute(select(Household.code, Household.id).where(Household.grid_code == grid_code)).all())
        session.execute(insert(Resident), [{**person, "household_id": ids[values["code"]]}
                                           for values, people in households for person in people])
        report.grids += 1
        report.households += len(households)
        report.residents += sum(len(people) for _, people in households)


def _household(rng: random.Random, kind: str, stem: str, grid_code: str, grid_number: int,
               index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One household's column values and its residents' (without ``household_id``)."""
    size = rng.choices((1, 2, 3, 4, 5, 6), weights=(8, 24, 26, 24, 12, 6))[0]
    surname = rng.choice(_SURNAMES)
    head_male = rng.random() < 0.85 or size == 1 and rng.random() < 0.5
    members: list[tuple[str, str]] = [(_name(rng, surname, head_male), "head")]
    if size >= 2:
        members.append((_name(rng, _other_surname(rng, surname), not head_male), "spouse"))
    roles = ("child", "child", "child", "parent", "grandchild")
    while len(members) < size:
        role = rng.choice(roles)
        family = surname if role in ("child", "grandchild") else _other_surname(rng, surname)
        if role == "parent" and not any(r == "parent" for _, r in members):
            family = surname  # the head's father
        members.append((_name(rng, family, rng.random() < 0.5), role))
    members = _unique_names(rng, members)
    if kind == "urban":
        address = f"{stem}社区{grid_number}号楼{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
    else:
        address = f"{stem}村{(index - 1) // 12 + 1 + (grid_number - 1) * 5}排{(index - 1) % 12 + 1}号"
    elderly = size == 1 or any(role == "parent" for _, role in members) or rng.random() < 0.15
    household = dict(
        code=f"{grid_code}-{index:03d}", grid_code=grid_code, address=address, head_name=members[0][0],
        member_count=size, has_elderly=elderly, has_disabled=rng.random() < 0.06,
        has_members_away=size >= 3 and rng.random() < 0.3, is_sample=True,
    )
    residents = [dict(name=name, role=role, phone=None, id_card_last4=_last4(rng), is_sample=True)
                 for name, role in members]
    return household, residents


def _name(rng: random.Random, surname: str, male: bool) -> str:
    return surname + rng.choice(_MALE_GIVEN if male else _FEMALE_GIVEN)


def _other_surname(rng: random.Random, surname: str) -> str:
    while True:
        other = rng.choice(_SURNAMES)
        if other != surname:
            return other


def _unique_names(rng: random.Random, members: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Members with distinct names (a person is identified within the household by name)."""
    seen: set[str] = set()
    unique = []
    for name, role in members:
        while name in seen:
            name = name[0] + rng.choice(_MALE_GIVEN + _FEMALE_GIVEN)
        seen.add(name)
        unique.append((name, role))
    return unique


def _last4(rng: random.Random) -> str:
    check = rng.choice(_ALPHABET_LAST + "X")
    return "".join(rng.choice(_ALPHABET_LAST) for _ in range(3)) + check
