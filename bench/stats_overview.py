"""How long the console's Overview figures take (:func:`workflow.stats.overview`) over a year of cases.

Fills a fresh database with ``--cases`` cases (default 50,000, about a year of a county: 137 a day) in bulk,
spread over the 365 days before ``now`` (a little denser lately), the categories' lead units (属地 categories go to
the township's government), the 10 townships and every status: old cases mostly closed (rated 满意, 基本满意,
不满意 or not at all), a share rejected, recent ones still open, some resolved late and some open past their
deadline and marked overdue. Then times ``overview()`` (``--repeat`` runs, after one warm-up) and prints the figures'
totals and the timings.

    .venv/bin/python bench/stats_overview.py                    # SQLite file in a temporary directory
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/stats_overview.py

With ``DATABASE_URL`` the benchmark creates its own database on that server (``juhaoban_bench_<random>``) and drops
it afterwards; the database the URL names is not touched.

Measured on the development machine (2 shared cores, a model training beside it; ``nice``), now = Monday
30 November 2026 16:00 Shanghai, 50,000 cases, 5 runs after a warm-up: SQLite file median 0.144 s (min 0.137 s),
PostgreSQL on localhost median 0.084 s (min 0.066 s); filling took 4.8 s and 9.0 s. 200,000 cases on SQLite: median
0.55 s. The time grows with the whole table, not the month: only the cases filed, closed or marked overdue since
the month began can count, but with only ``created_at`` indexed the ``OR`` of the three is a full scan (SQLite's
plan: ``SCAN cases``). Indexes on ``closed_at`` and ``overdue_at`` would let the databases read just those cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from workflow.db import make_engine, make_session_factory  # noqa: E402
from workflow.migrate import upgrade  # noqa: E402
from workflow.models import Case, Category, Township  # noqa: E402
from workflow.reference import load_reference, township_unit_code  # noqa: E402
from workflow.settings import normalize_database_url  # noqa: E402
from workflow.stats import overview  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
#: Wall-clock time limits by matter type (a simplification of the working-day rules: the figures only compare).
LIMITS = {
    "emergency": dt.timedelta(hours=2),
    "policy_consultation": dt.timedelta(hours=8),
    "public_service": dt.timedelta(days=2),
    "other": dt.timedelta(days=9),
}
MATTERS = (["other"] * 6) + (["public_service"] * 2) + ["policy_consultation", "emergency"]
RATINGS = (["satisfied"] * 80) + (["basically_satisfied"] * 12) + (["unsatisfied"] * 5) + (["no_rating"] * 3)


def _lead_units(session) -> list[tuple[str, str]]:
    """``(category code, lead unit reference)`` of the 28 categories (a reference may be ``@township``)."""
    return [(row.code, row.lead_unit_code) for row in session.execute(select(Category.code, Category.lead_unit_code))]


def _case_rows(count: int, now: dt.datetime, categories, townships, rng: random.Random) -> list[dict]:
    rows = []
    for n in range(count):
        age = dt.timedelta(days=365 * rng.random() ** 1.2)  # denser in the recent months
        created = now - age
        category, lead = rng.choice(categories)
        township = rng.choice(townships)
        if lead.startswith("@"):
            lead = township_unit_code(lead, township)
        matter = rng.choice(MATTERS)
        row = dict(
            case_id=f"JL{created.astimezone(SHANGHAI):%Y%m%d}-B{n:06d}",
            status="reported", category_code=category, suggested_category_code=category,
            category_confidence=0.9, category_ranking=[], matter_type=matter, suggested_matter_type=matter,
            importance_level=None, needs_review=False, township_code=township, description="基准测试工单",
            reporter_id=f"bench-{n % 20000}", channel=rng.choice(["wechat", "hotline", "rest"]),
            lead_unit_code=lead, cooperating_unit_codes=[], created_at=created, updated_at=created,
            deadline=created + LIMITS[matter], accepted_at=None, assigned_at=None, resolved_at=None,
            closed_at=None, result=None, rating=None, rejection_reason=None, overdue_at=None, unsatisfied_count=0,
            version=1,
        )  # fmt: skip
        rows.append(row)
        if rng.random() < 0.05:
            row.update(status="rejected", rejection_reason=rng.choice(["invalid", "duplicate", "out_of_scope"]))
            continue
        accepted = created + dt.timedelta(minutes=rng.uniform(1, 90))
        if accepted > now:
            continue
        row.update(status="accepted", accepted_at=accepted, deadline=accepted + LIMITS[matter], importance_level=1)
        assigned = accepted + dt.timedelta(minutes=rng.uniform(1, 60))
        if assigned > now:
            continue
        row.update(status="assigned", assigned_at=assigned)
        deadline = row["deadline"]
        # most answer well within the time; one in ten late
        span = (deadline - assigned) * (rng.uniform(1.0, 2.5) if rng.random() < 0.1 else rng.uniform(0.05, 0.95))
        resolved = assigned + span
        if resolved > now:
            row["status"] = "in_progress"
            if deadline <= now:
                row["overdue_at"] = deadline + dt.timedelta(minutes=1)
            continue
        row.update(status="resolved", resolved_at=resolved, result="已处理")
        if resolved > deadline:
            row["overdue_at"] = deadline + dt.timedelta(minutes=1)
        closed = resolved + dt.timedelta(hours=rng.uniform(0.5, 80))
        if closed > now:
            continue
        rating = rng.choice(RATINGS)
        if rating == "unsatisfied":  # a second round: reopened, answered again in half the time, then accepted
            row.update(status="reopened", rating=rating, unsatisfied_count=1, overdue_at=None,
                       deadline=closed + LIMITS[matter], assigned_at=closed)
            resolved, closed = closed + LIMITS[matter] / 2, closed + LIMITS[matter] / 2 + dt.timedelta(days=1)
            if closed > now:
                continue
            rating = "basically_satisfied"
            row.update(resolved_at=resolved)
        row.update(status="closed", rating=rating, closed_at=closed)
    return rows


def fill(database_url: str, count: int, now: dt.datetime, seed: int) -> float:
    """Migrate ``database_url``, load the reference data, insert ``count`` cases; returns the seconds it took."""
    started = time.perf_counter()
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        load_reference(session, ROOT / "data")
    with factory() as session:
        categories = _lead_units(session)
        townships = list(session.execute(select(Township.code)).scalars())
    rows = _case_rows(count, now, categories, townships, random.Random(seed))
    with factory.begin() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Case), rows[start:start + 5000])
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    engine.dispose()
    return time.perf_counter() - started


def measure(database_url: str, now: dt.datetime, repeat: int) -> tuple[list[float], object]:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    result = overview(factory, now=now)  # warm-up: connection, statement cache, page cache
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = overview(factory, now=now)
        timings.append(time.perf_counter() - started)
    engine.dispose()
    return timings, result


def run(database_url: str, label: str, args: argparse.Namespace) -> None:
    now = dt.datetime(2026, 11, 30, 16, 0, tzinfo=SHANGHAI).astimezone(UTC)
    filled = fill(database_url, args.cases, now, args.seed)
    timings, result = measure(database_url, now, args.repeat)
    month = result.month.totals
    print(f"{label}: {args.cases} cases filled in {filled:.1f} s")
    print(f"  this month: new {month.new}, closed {month.closed}, overdue {month.overdue}; reply "
          f"{month.reply_rate.value:.3f}, closure {month.closure_rate.value:.3f}, on time "
          f"{month.on_time_rate.value:.3f}, satisfaction {month.satisfaction_rate.value:.3f}; "
          f"{len(result.month.by_unit)} units, open overdue {result.open_overdue}")
    print(f"  overview(): median {statistics.median(timings):.3f} s, min {min(timings):.3f} s "
          f"over {len(timings)} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", args)

    server = os.environ.get("DATABASE_URL")
    if not server or make_url(normalize_database_url(server)).get_backend_name() != "postgresql":
        return
    name = f"juhaoban_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(normalize_database_url(server)).set(database=name).render_as_string(hide_password=False)
        run(url, "PostgreSQL", args)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
