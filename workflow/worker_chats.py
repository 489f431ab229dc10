"""Grid workers' chats (``worker_channels``, migration 0009) read in the caller's session: which account a sender
is, and where a worker's messages go. Binding and unbinding are :class:`workflow.grid_work.GridWork`'s.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.grid_work_models import WorkerChannel
from workflow.models import Account


def worker_account_of_sender(session: Session, channel: str | None, sender_id: str | None) -> Account | None:
    """The active ``grid_worker`` account bound to ``(channel, sender_id)``; with ``channel`` None, to
    ``sender_id`` on any channel (the latest binding when several channels share the id). None otherwise."""
    if not sender_id:
        return None
    query = (select(Account).join(WorkerChannel, WorkerChannel.account_id == Account.id)
             .where(WorkerChannel.sender_id == sender_id, Account.role == "grid_worker",
                    Account.disabled_at.is_(None)))
    if channel is not None:
        query = query.where(WorkerChannel.channel == channel)
    return session.execute(query.order_by(WorkerChannel.bound_at.desc(), WorkerChannel.id.desc()).limit(1)
                           ).scalars().first()


def chat_of_worker(session: Session, account_id: int) -> WorkerChannel | None:
    """Where the worker's notices go: the chat they bound last (one message per notice, not one per chat), or None
    when they bound none."""
    return session.execute(
        select(WorkerChannel).where(WorkerChannel.account_id == account_id)
        .order_by(WorkerChannel.bound_at.desc(), WorkerChannel.id.desc()).limit(1)
    ).scalars().first()
