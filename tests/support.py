"""Scenes that many tests start from: a bound cluster, its units, its people."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select

from bot.demo import ECONOMIC_CLUSTER_2024  # noqa: F401 - the seed's nine units, shared
from bot.offline import OfflineTelegram, SimChat, SimUser
from storage.db import Database
from storage.models import Cluster, EmulationYear, RoleAssignment, Unit
from storage.people import upsert_person

BOT = "ThiDuaBot"



@dataclass
class Scene:
    admin: SimUser
    group: SimChat
    cluster_id: int
    year_id: int


async def bound_cluster(tg: OfflineTelegram, db: Database, title: str = "Cụm kinh tế") -> Scene:
    """A group with the bot in it, set up with /setup by its Telegram administrator."""
    admin = tg.user("Quản Trị Viên", language_code="vi")
    await admin.send("/start")
    group = tg.group(title, admins=[admin])
    await tg.add_bot_to_group(group, by=admin)
    await admin.send(f"/setup@{BOT}", chat=group)
    async with db.session() as s:
        cluster = await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id))
        assert cluster is not None, group.render_transcript()
        year = await s.scalar(select(EmulationYear).where(EmulationYear.cluster_id == cluster.id))
        return Scene(admin, group, cluster.id, year.id)


async def add_units(db: Database, cluster_id: int, names=ECONOMIC_CLUSTER_2024) -> list[int]:
    """Units written straight to storage (the /units conversation has its own tests)."""
    async with db.session() as s:
        units = [Unit(cluster_id=cluster_id, name=n, position=i) for i, n in enumerate(names)]
        s.add_all(units)
        await s.commit()
        return [u.id for u in units]


async def make_representative(
    tg: OfflineTelegram, db: Database, cluster_id: int, unit_id: int, name: str, group: SimChat | None = None
) -> SimUser:
    """A person who represents a unit (and, when `group` is given, is a member of it)."""
    user = tg.user(name, language_code="vi")
    await user.send("/start")
    if group is not None:
        group.members.append(user)
    async with db.session() as s:
        person = await upsert_person(
            s, telegram_user_id=user.id, full_name=name, username=None, language_code="vi"
        )
        s.add(RoleAssignment(cluster_id=cluster_id, person_id=person.id, role="representative", unit_id=unit_id))
        await s.commit()
    return user


async def set_chair(db: Database, year_id: int, chair_unit_id: int, vice_unit_id: int | None = None) -> None:
    async with db.session() as s:
        year = await s.get(EmulationYear, year_id)
        year.chair_unit_id = chair_unit_id
        year.vice_chair_unit_id = vice_unit_id
        await s.commit()


@asynccontextmanager
async def demo_after_setup(settings, db: Database):
    """The demo's set-up scene played; yields (tg, cast) for a later scene to continue.

    The app runs without the rate limiter, as the demo does: a scene sends dozens of messages
    into one group within seconds, which the limiter would spread over minutes.
    """
    from bot.app import build_application
    from bot.demo import DemoPeople, setup_scene

    tg = OfflineTelegram(bot_username=BOT, bot_first_name="ThiĐua Bot")
    app = build_application(settings, db, token=tg.token, request=tg.make_request(),
                            get_updates_request=tg.make_request(), rate_limit=False)  # fmt: skip
    async with tg.running(app):
        yield tg, await setup_scene(tg, DemoPeople(tg))
    assert tg.errors == [] and tg.rejections == []
