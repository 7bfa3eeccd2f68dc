"""Invite links: one-time, expiring, revocable; the invited person confirms the unit."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot.errors import Refusal
from bot.invites import InviteState, check_usable, looks_like_token, new_token, token_hash
from storage.models import Invite, RoleAssignment, Unit
from tests.support import BOT, add_units, bound_cluster

NOW = dt.datetime(2024, 2, 27, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)


def state(**kw):
    base = dict(expires_at=LATER, used_at=None, revoked_at=None, unit_active=True)
    base.update(kw)
    return InviteState(**base)


@pytest.mark.parametrize(
    ("invite", "usable"),
    [
        (state(), True),
        (None, False),
        (state(used_at=NOW), False),
        (state(revoked_at=NOW), False),
        (state(expires_at=NOW), False),  # expiry is exclusive
        (state(unit_active=False), False),
        (state(unit_active=None), True),  # secretariat invites have no unit
    ],
)
def test_when_an_invite_can_be_used(invite, usable):
    if usable:
        check_usable(invite, NOW)
    else:
        with pytest.raises(Refusal):
            check_usable(invite, NOW)


def test_tokens_are_unguessable_and_fit_a_start_parameter():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert looks_like_token(token) and len(token) <= 64
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert token_hash("inv-x") != token_hash("inv-y")


async def invite_link(scene, unit_name: str) -> str:
    await scene.admin.send("/invite")
    await scene.admin.press(unit_name)
    match = re.search(rf"https://t.me/{BOT}\?start=(\S+)", scene.admin.private.last.text)
    assert match, scene.admin.private.last.text
    return match.group(1)


async def test_representative_joins_by_invite_after_confirming_the_unit(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội Làm vườn Việt Nam", "Hội Thuỷ sản Việt Nam"])
    token = await invite_link(scene, "Hội Làm vườn Việt Nam")
    rep = tg.user("Nguyễn Văn Rep", language_code="vi")
    scene.group.members.append(rep)
    await rep.send(f"/start {token}")
    assert "Hội Làm vườn Việt Nam" in rep.private.last.text
    await rep.press("✅ Đúng, xác nhận")
    assert "Chào mừng" in rep.private.last.text
    assert "Nguyễn Văn Rep" in scene.group.last.text  # the group is told
    async with db.session() as s:
        role = await s.scalar(select(RoleAssignment).where(RoleAssignment.role == "representative"))
        unit = await s.get(Unit, role.unit_id)
        assert unit.name == "Hội Làm vườn Việt Nam"
        invite = await s.scalar(select(Invite))
        assert invite.used_at is not None and token not in invite.token_hash
    await rep.send("/start")
    assert "Hội Làm vườn Việt Nam" in rep.private.last.text


async def test_a_used_link_cannot_be_replayed_or_forwarded(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A"])
    token = await invite_link(scene, "Hội A")
    first, second = tg.user("Người 1", language_code="vi"), tg.user("Người 2", language_code="vi")
    await first.send(f"/start {token}")
    await first.press("✅ Đúng, xác nhận")
    await second.send(f"/start {token}")
    assert "đã được sử dụng" in second.private.last.text
    await first.send(f"/start {token}")
    assert "đã được sử dụng" in first.private.last.text
    async with db.session() as s:
        assert len((await s.scalars(select(RoleAssignment).where(RoleAssignment.role == "representative"))).all()) == 1


async def test_someone_else_cannot_press_the_confirm_button_of_another_person(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A"])
    token = await invite_link(scene, "Hội A")
    invited, intruder = tg.user("Được mời", language_code="vi"), tg.user("Kẻ lạ", language_code="vi")
    await invited.send(f"/start {token}")
    data = invited.private.last.button_data[0][0]
    await intruder.send("/start")
    await intruder.press_data(data)
    assert "không còn hiệu lực" in tg.callback_answers[-1]["text"]
    async with db.session() as s:
        assert (await s.scalar(select(RoleAssignment).where(RoleAssignment.role == "representative"))) is None


async def test_unknown_expired_and_revoked_links_are_explained(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A"])
    someone = tg.user("Ai đó", language_code="vi")
    await someone.send("/start inv-" + "x" * 32)
    assert "không hợp lệ" in someone.private.last.text
    await someone.send("/start garbage")
    assert "không hợp lệ" in someone.private.texts()[-2]  # then the usual welcome
    token = await invite_link(scene, "Hội A")
    await scene.admin.press("🚫 Thu hồi đường dẫn này")
    await someone.send(f"/start {token}")
    assert "đã bị quản trị cụm thu hồi" in someone.private.last.text
    token = await invite_link(scene, "Hội A")
    async with db.session() as s:
        invite = await s.scalar(select(Invite).where(Invite.revoked_at.is_(None)))
        invite.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        await s.commit()
    await someone.send(f"/start {token}")
    assert "đã hết hạn" in someone.private.last.text


async def test_invite_for_a_deactivated_unit_cannot_be_used(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A"])
    token = await invite_link(scene, "Hội A")
    async with db.session() as s:
        (await s.scalar(select(Unit))).active = False
        await s.commit()
    rep = tg.user("Đại diện", language_code="vi")
    await rep.send(f"/start {token}")
    assert "không còn hoạt động" in rep.private.last.text


async def test_a_unit_has_at_most_two_representatives_by_default(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A"])
    for number in range(3):
        token = await invite_link(scene, "Hội A")
        rep = tg.user(f"Đại diện {number}", language_code="vi")
        await rep.send(f"/start {token}")
        await rep.press("✅ Đúng, xác nhận")
    assert "đã có 2 đại diện" in tg.callback_answers[-1]["text"]


async def test_secretariat_invite_and_non_admin_invite_refused(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A"])
    await scene.admin.send("/invite")
    await scene.admin.press("🗂 Thư ký cụm")
    token = re.search(r"start=(\S+)", scene.admin.private.last.text).group(1)
    clerk = tg.user("Thư Ký", language_code="vi")
    await clerk.send(f"/start {token}")
    assert "thư ký" in clerk.private.last.text
    await clerk.press("✅ Đúng, xác nhận")
    await clerk.send("/invite")
    assert "Chỉ quản trị cụm" in clerk.private.last.text
    await clerk.send("/members")
    assert "Hội A" in clerk.private.last.text and "Thư Ký" in clerk.private.last.text
