"""Migrations: head creates the models' schema exactly, is idempotent, downgrades, and leaves foreign tables alone."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect

from workflow.db import make_engine
from workflow.migrate import alembic_config, current_revision, include_object, upgrade
from workflow.models import metadata

REPO_ROOT = Path(__file__).resolve().parents[2]


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _diff(engine, include_object=None):
    with engine.connect() as connection:
        opts = {"compare_type": True}
        if include_object is not None:
            opts["include_object"] = include_object
        return compare_metadata(MigrationContext.configure(connection, opts=opts), metadata)


def _add_rasa_events_table(engine) -> None:
    """A stand-in for the table Rasa's SQL tracker store creates in the same database."""
    foreign = MetaData()
    Table(
        "events",
        foreign,
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("data", String(4000)),
    )
    foreign.create_all(engine)


def test_it_creates_every_table_of_the_models(database_url, engine):
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == _head()
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_it_matches_the_models_exactly(database_url, engine):
    upgrade(database_url)
    assert _diff(engine) == []


def test_it_is_idempotent(database_url, engine):
    upgrade(database_url)
    upgrade(database_url)
    assert current_revision(database_url) == _head()
    assert _diff(engine) == []


def test_it_never_proposes_to_drop_rasas_tables(database_url, engine):
    _add_rasa_events_table(engine)
    upgrade(database_url)
    # Without the filter autogenerate would drop Rasa's table; with env.py's filter it sees nothing to do.
    assert any(d[0] == "remove_table" and d[1].name == "events" for d in _diff(engine))
    assert _diff(engine, include_object) == []
    assert "events" in inspect(engine).get_table_names()


def test_it_downgrades_to_an_empty_schema_and_keeps_foreign_tables(database_url, engine):
    _add_rasa_events_table(engine)
    upgrade(database_url)
    with engine.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    remaining = set(inspect(engine).get_table_names())
    assert remaining & set(metadata.tables) == set()
    assert "events" in remaining


def test_it_reads_the_database_url_from_the_environment_with_the_repo_alembic_ini(tmp_path, monkeypatch):
    database = tmp_path / "from_env.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    engine = make_engine(f"sqlite:///{database}")
    try:
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_it_has_a_single_linear_history_from_base():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(isinstance(r.down_revision, (str, type(None))) for r in revisions)  # no merge points


def test_0002_keeps_filed_cases_and_their_trail_down_and_up(database_url, engine, case_service, session_factory):
    from sqlalchemy import select, text

    from workflow.cases import NewReport
    from workflow.models import Case

    filed = case_service.file_report(
        NewReport(description="路灯不亮", category_code="city_management", matter_type="public_service",
                  township="巨鹿镇", reporter_id="wx-100")
    )  # fmt: skip
    with engine.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0001_case_domain")
    assert "rating" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM case_events")).scalar_one() == 1

    upgrade(database_url)

    with session_factory() as session:
        case = session.execute(select(Case).where(Case.case_id == filed.case_id)).scalar_one()
        assert (case.suggested_matter_type, case.matter_type) == ("public_service", "public_service")
        assert (case.unsatisfied_count, case.rating, case.duplicate_of) == (0, None, None)
        assert [e.event for e in case.events] == ["filed"]
