"""The cluster (*Cụm / Khối thi đua*) and its member units (*đơn vị thành viên*).

A unit is never deleted once it has taken part in anything: pledges, score sheets, ballots and
minutes keep pointing at it. A unit that leaves the cluster is made inactive instead, which is
why foreign keys to ``units`` have no ``ON DELETE``.
"""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from storage.models.base import Base, json_dict, str_enum, utcnow
from storage.text import fold_name


class ClusterKind(enum.StrEnum):
    """*Cụm* and *Khối* run the same mechanics; only the wording in messages differs."""

    CLUSTER = "cluster"
    BLOC = "bloc"


class Cluster(Base):
    """One emulation cluster, bound to (at most) one Telegram group.

    ``settings`` holds the regulation's choices that differ between clusters (quotas,
    threshold and its basis, quorum, verification mode, chair selection...). The rule layer
    owns their meaning and defaults; storage only keeps the dict, so adding a setting needs no
    migration.
    """

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[ClusterKind] = mapped_column(
        str_enum(ClusterKind, "cluster_kind"), default=ClusterKind.CLUSTER
    )
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    locale: Mapped[str] = mapped_column(String(16), default="vi")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    settings: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    units: Mapped[list["Unit"]] = relationship(
        back_populates="cluster", order_by="(Unit.position, Unit.id)", lazy="raise_on_sql"
    )


class Unit(Base):
    """A member organisation. It, not a person, holds the vote and signs the pledge.

    ``name_key`` is derived from ``name`` on every assignment (see ``storage.text``), so two
    spellings of one name cannot both exist in a cluster. Runs of whitespace in the display
    name are collapsed too, since they come from copy-paste, never from intent.
    """

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("cluster_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"))
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cluster: Mapped[Cluster] = relationship(back_populates="units", lazy="raise_on_sql")

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        name = " ".join(name.split())
        self.name_key = fold_name(name)
        return name
