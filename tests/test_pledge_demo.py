"""The demo's pledge scene, played through the real Application after the set-up scene.

The app is built without the rate limiter: the scene sends about thirty messages and edits
into one group within seconds, which the limiter (rightly) spreads over a minute and a half.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.demo import ECONOMIC_CLUSTER_2024
from bot.demo_pledges import AMEND_REASON, AMENDMENT, FIX, PLEDGES, RETURN_COMMENT, pledge_scene
from bot.pledge_document import NATIONAL_HEADING, document_text
from storage.models import AuditLog, PledgeStatus
from storage.models import Pledge as PledgeRow
from tests.conftest import BOT_USERNAME
from tests.support import demo_after_setup


async def test_the_demo_scene_registers_returns_signs_and_sends_the_document(settings, db):
    async with demo_after_setup(settings, db) as (tg, cast):
        admin, reps, group = cast.admin, cast.reps, cast.group
        await pledge_scene(tg, admin, reps[0], reps, group, BOT_USERNAME)
    documents = [r for r in group.bot_messages() if r.kind == "document"]
    assert len(documents) == 1, group.render_transcript()
    text = document_text(documents[0].document_bytes)
    assert NATIONAL_HEADING in text
    for name, commitments in zip(ECONOMIC_CLUSTER_2024, PLEDGES, strict=True):
        assert name in text
        for commitment, _target in commitments:
            assert commitment in text
    assert FIX[0] in text and "Chưa ký" not in text
    assert "Đã ký: 9/9 đơn vị" in "\n".join(group.texts())
    assert any(AMEND_REASON in t and "(lần 1)" in t for t in group.texts())
    assert RETURN_COMMENT in reps[4].private.render_transcript()
    async with db.session() as s:
        statuses = set((await s.scalars(select(PledgeRow.status))).all())
        returns = (await s.scalars(select(AuditLog).where(AuditLog.action == "pledge.return"))).all()
    assert statuses == {PledgeStatus.SIGNED} and len(returns) == 1
    assert AMENDMENT[0] in "\n".join(reps[2].private.texts())
