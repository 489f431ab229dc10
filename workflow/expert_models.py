"""Database table of the experts' answers proposed for the knowledge base (migration ``0012_experts``): same
``Base`` as :mod:`workflow.models`, which imports this module at its end.

- ``knowledge_candidates``: one row per answered expert consultation whose expert ticked 建议加入知识库 (unique per
  case): the grower's ``question`` and the expert's ``answer`` as written, the expert (account id and display name at
  the time), ``status`` ``pending`` → ``approved`` or ``rejected`` once, by whom (``reviewed_by``: the administrator's
  display name) and when; ``entry_id`` the id of the knowledge-base entry an approval wrote.

Rules: :mod:`workflow.experts`.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from workflow.models import Base, UTCDateTime

#: A candidate's review status.
CANDIDATE_STATUSES = ("pending", "approved", "rejected")


class KnowledgeCandidate(Base):
    """An expert's answer proposed for the knowledge base, waiting for (or past) an administrator's review."""

    __tablename__ = "knowledge_candidates"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        UniqueConstraint("case_pk"),
        Index("ix_knowledge_candidates_status_created_at", "status", "created_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    case_pk = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    question = Column(Text, nullable=False)
    answer = Column(Text, nullable=False)
    expert_account_id = Column(Integer, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    expert_name = Column(String(128), nullable=False)
    status = Column(String(16), nullable=False, default="pending")
    created_at = Column(UTCDateTime, nullable=False)
    reviewed_by = Column(String(128), nullable=True)
    reviewed_at = Column(UTCDateTime, nullable=True)
    entry_id = Column(String(64), nullable=True)
