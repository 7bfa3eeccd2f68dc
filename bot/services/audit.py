"""Append to the audit log: who did what, when. Never a ballot choice (see storage.models.audit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog


def record(
    session: AsyncSession,
    *,
    cluster_id: int | None,
    actor_person_id: int | None,
    action: str,
    subject: str = "",
    **details: Any,
) -> None:
    session.add(
        AuditLog(
            cluster_id=cluster_id,
            actor_person_id=actor_person_id,
            action=action,
            subject=subject,
            details=details,
        )
    )
