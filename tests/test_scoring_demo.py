"""The demo's scoring scene, played through the real Application after the set-up scene.

The app is built without the rate limiter, whose spacing of the group's phase announcements
(20 a minute) would make this test wait for nothing it checks.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from bot.demo import ECONOMIC_CLUSTER_2024
from bot.demo_scoring import ADJUSTED, EVIDENCE, scoring_scene
from storage.models import Adjustment, Evidence, ScoreSheet, SheetStatus
from tests.conftest import BOT_USERNAME
from tests.support import demo_after_setup


async def test_the_demo_scores_verifies_disputes_decides_and_shows_the_table(settings, db):
    async with demo_after_setup(settings, db) as (tg, cast):
        admin, reps, group = cast.admin, cast.reps, cast.group
        await scoring_scene(tg, admin, reps[0], reps, group, BOT_USERNAME)
    async with db.session() as s:
        sheets = (await s.scalars(select(ScoreSheet))).all()
        adjustment = await s.scalar(select(Adjustment))
        evidence = (await s.scalars(select(Evidence))).all()
    assert len(sheets) == 9 and all(sh.status == SheetStatus.VERIFIED for sh in sheets)
    assert (adjustment.from_value, adjustment.to_value, adjustment.decided_value) == (28, 26, Decimal("27.5"))
    assert adjustment.explanation is not None
    assert len(evidence) == len(EVIDENCE)
    table = next(t for t in reversed(reps[0].private.texts()) if t.startswith("📊 Bảng điểm năm"))
    assert "Đã nộp 9/9 · đã thẩm định 9/9" in table
    assert f"3. {ECONOMIC_CLUSTER_2024[ADJUSTED]} — đã thẩm định" in table
    assert "Tổng: 101 → 99 → 100,5" in table  # 28 + 9,5 + 10 + 9 + 10 + 10 + 9,5 + 10 + 5 − 0
    assert "Phiếu đã được thẩm định: 9/9" in reps[0].private.last.plain  # /status
    news = "\n".join(group.texts())
    assert "Tự chấm điểm đã mở" in news and "Thẩm định đã mở" in news
