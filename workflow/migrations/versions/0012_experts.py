"""Experts (issue 7 part 4): the ``expert`` account role, experts as actors of the audit trail, and the knowledge-base
candidates taken from their answers.

- ``accounts.role`` accepts ``expert``. ``accounts`` is referenced by sessions, log-in events, take-overs, grid
  workers' chats and ``cases.assignee_account_id`` (some ``ON DELETE CASCADE``): on SQLite a batch copy would drop the
  table and so delete or orphan those rows. The CHECK is only widened (every stored row still satisfies it), which
  SQLite documents as safe to do by editing the stored schema: ``PRAGMA writable_schema`` and a new
  ``schema_version`` in the same transaction (https://www.sqlite.org/lang_altertable.html, "making other kinds of
  table schema changes"). PostgreSQL drops and adds the CHECK.
- ``case_events.actor_role`` accepts ``expert`` (batch mode on SQLite as in 0009: nothing references
  ``case_events``).
- ``knowledge_candidates``: :mod:`workflow.expert_models`.
- ``cases.kind`` gets the value ``expert``; it has no CHECK (0009), so nothing changes there.

Downgrade refuses while an expert account or an expert's audit row exists (it would have to delete people's work).

Revision ID: 0012_experts
Revises: 0010_sensors_traceability
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_experts"
down_revision = "0010_sensors_traceability"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
OLD_ACCOUNT_ROLES = ("dispatcher", "unit", "grid_worker", "admin")
ACCOUNT_ROLES = (*OLD_ACCOUNT_ROLES, "expert")
OLD_ACTOR_ROLES = ("resident", "bot", "dispatcher", "unit", "system", "grid_worker")
ACTOR_ROLES = (*OLD_ACTOR_ROLES, "expert")
#: What 0006 created (the name came out doubled by the naming convention), and the name used from here on.
OLD_ROLE_CHECK = "ck_accounts_ck_accounts_role"
ROLE_CHECK = "ck_accounts_role"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _replace_check(table: str, old: str, new: str, condition: str) -> None:
    """Replace a CHECK of a table nothing references (batch copy on SQLite); names as in 0009."""
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(new, condition)


def _replace_role_check(old_name: str, old_roles: tuple[str, ...], new_name: str, new_roles: tuple[str, ...]) -> None:
    if not _sqlite():
        op.drop_constraint(op.f(old_name), "accounts", type_="check")
        op.create_check_constraint(op.f(new_name), "accounts", _in("role", new_roles))
        return
    bind = op.get_bind()
    old_clause = f"CONSTRAINT {old_name} CHECK ({_in('role', old_roles)})"
    new_clause = f"CONSTRAINT {new_name} CHECK ({_in('role', new_roles)})"
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'accounts'").scalar()
    if sql is None or sql.count(old_clause) != 1:
        raise RuntimeError(f"accounts: expected the CHECK {old_clause!r} in the stored schema; not changed")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'accounts'",
                             (sql.replace(old_clause, new_clause),))
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"accounts: integrity check after the CHECK change: {problems[:5]}")


def upgrade() -> None:
    _replace_role_check(OLD_ROLE_CHECK, OLD_ACCOUNT_ROLES, ROLE_CHECK, ACCOUNT_ROLES)
    _replace_check("case_events", "ck_case_events_actor_role", "actor_role", _in("actor_role", ACTOR_ROLES))
    op.create_table(
        "knowledge_candidates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_pk", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("expert_account_id", sa.Integer(), nullable=True),
        sa.Column("expert_name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("reviewed_by", sa.String(128), nullable=True),
        sa.Column("reviewed_at", TIMESTAMP, nullable=True),
        sa.Column("entry_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_candidates")),
        sa.UniqueConstraint("case_pk", name=op.f("uq_knowledge_candidates_case_pk")),
        sa.ForeignKeyConstraint(["case_pk"], ["cases.id"], name=op.f("fk_knowledge_candidates_case_pk_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["expert_account_id"], ["accounts.id"],
                                name=op.f("fk_knowledge_candidates_expert_account_id_accounts"), ondelete="SET NULL"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    )
    op.create_index("ix_knowledge_candidates_status_created_at", "knowledge_candidates", ["status", "created_at"])


def downgrade() -> None:
    bind = op.get_bind()
    experts = bind.exec_driver_sql("SELECT COUNT(*) FROM accounts WHERE role = 'expert'").scalar()
    events = bind.exec_driver_sql("SELECT COUNT(*) FROM case_events WHERE actor_role = 'expert'").scalar()
    if experts or events:
        raise RuntimeError(f"{experts} expert account(s) and {events} expert audit row(s) exist; "
                           "0012_experts is not downgraded (it would delete them)")
    op.drop_index("ix_knowledge_candidates_status_created_at", table_name="knowledge_candidates")
    op.drop_table("knowledge_candidates")
    _replace_check("case_events", "ck_case_events_actor_role", "actor_role", _in("actor_role", OLD_ACTOR_ROLES))
    _replace_role_check(ROLE_CHECK, ACCOUNT_ROLES, OLD_ROLE_CHECK, OLD_ACCOUNT_ROLES)
