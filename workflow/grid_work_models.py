"""Database tables of grid workers' chats (migration ``0009_grid_work``): same ``Base`` as :mod:`workflow.models`,
which imports this module at its end.

- ``worker_channels``: a chat identity (Rasa input channel + sender id) bound to a ``grid_worker`` account, unique
  per (channel, sender id): one conversation belongs to at most one worker. A worker may bind several chats.
- ``worker_binding_codes``: one-time 6-digit codes a worker is shown in the console and sends in the chat
  (“绑定 123456”). Only the SHA-256 hex digest of the code is stored; ``expires_at`` (10 minutes after
  ``created_at``); ``used_at`` once used (single use).
- ``worker_binding_failures``: one row per wrong code a sender sent, for the lock-out (5 per 15 minutes).

Rules: :mod:`workflow.grid_work`.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from workflow.models import Base, UTCDateTime


class WorkerChannel(Base):
    """A grid worker's chat: ``channel`` (``wechat``, ``socketio`` …) and ``sender_id`` as the bot sees them."""

    __tablename__ = "worker_channels"
    __table_args__ = (
        UniqueConstraint("channel", "sender_id"),
        Index("ix_worker_channels_account_id", "account_id"),
        Index("ix_worker_channels_sender_id", "sender_id"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False)
    bound_at = Column(UTCDateTime, nullable=False)

    account = relationship("Account")


class WorkerBindingCode(Base):
    """A one-time binding code: SHA-256 hex of the 6 digits, valid until ``expires_at``, used once (``used_at``)."""

    __tablename__ = "worker_binding_codes"
    __table_args__ = (
        Index("ix_worker_binding_codes_code_hash", "code_hash"),
        Index("ix_worker_binding_codes_account_id", "account_id"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    code_hash = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime, nullable=True)


class WorkerBindingFailure(Base):
    """A wrong binding code sent from ``(channel, sender_id)`` at ``at`` (the lock-out counts these)."""

    __tablename__ = "worker_binding_failures"
    __table_args__ = (Index("ix_worker_binding_failures_sender_id_at", "sender_id", "at"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False)
    at = Column(UTCDateTime, nullable=False)
