"""Forged and stale button data pressed through the real application (offline harness, real
database): every namespace answers the "no longer valid" pop-up, raises nothing and changes
nothing. The shapes themselves are tested in test_callbacks.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from telegram.ext import CallbackQueryHandler

from bot.callbacks import INT32_MAX, NAMESPACES, Button, Choice, Int, Mask, Namespace, Points
from bot.i18n import use_locale
from handlers.buttons import stale
from storage.models import Base, Phase, PhaseKind
from tests.support import BOT, add_units, bound_cluster, make_representative

# Rows that record that an update was seen, not what it did.
BOOKKEEPING_TABLES = {"processed_updates"}
BOOKKEEPING_COLUMNS = {"last_seen_at"}

UNICODE_DIGITS = ["²", "١", "１", "𝟙", "߁"]  # str.isdigit() says yes to all of them
HUGE = ["99999999999999999999", str(INT32_MAX + 1), "9" * 64]


def stale_text() -> str:
    with use_locale("vi"):
        return stale().message


async def snapshot(db) -> dict[str, list[tuple]]:
    """Every stored row (bookkeeping aside), to compare before and after."""
    rows = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in BOOKKEEPING_TABLES:
                continue
            columns = [c for c in table.columns if c.name not in BOOKKEEPING_COLUMNS]
            result = await session.execute(select(*columns).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result]
    return rows


def sample(shape: type[Button], real: dict[str, int]) -> Button:
    """A button of this shape naming rows that exist (the cluster, its year, a unit)."""
    values = {}
    for name, kind in shape.fields():
        if isinstance(kind, Int):
            values[name] = real.get(name, max(kind.low, 1) if kind.high > 1 else kind.low)
        elif isinstance(kind, Choice):
            values[name] = next(iter(kind.words.values()))
        elif isinstance(kind, Points):
            values[name] = Decimal("1")
        elif isinstance(kind, Mask):
            values[name] = frozenset({0})
        else:
            values[name] = "phase"
    return shape(**values)


def forgeries(namespace: Namespace, real: dict[str, int]) -> list[tuple[str, str]]:
    """(what, data) for each way a press can be forged: one part at a time made into unicode
    digits, a huge or a negative number, a leading zero, an unknown word; a part too many or
    too few; the namespace alone; an unknown action."""
    found: list[tuple[str, str]] = [
        ("bare namespace", namespace.name),
        ("bare namespace and separator", namespace.name + ":"),
        ("unknown action", f"{namespace.name}:zz:1"),
        ("unknown action", f"{namespace.name}:zz"),
    ]
    for shape in namespace.shapes:
        good = sample(shape, real).pack()
        parts = good.split(":")
        first = 2 if shape.tag is not None else 1
        for offset, (name, kind) in enumerate(shape.fields()):
            at = first + offset
            turn = len(found)  # each field gets other ones of the digits and of the huge numbers
            if isinstance(kind, Int):
                bad = [UNICODE_DIGITS[turn % len(UNICODE_DIGITS)], HUGE[turn % len(HUGE)], "-" + parts[at], "0" + parts[at]]
            elif isinstance(kind, Choice):
                bad = ["zz", parts[at].upper()]
            elif isinstance(kind, Points):
                bad = ["1.00", "-1", "٨"]
            elif isinstance(kind, Mask):
                bad = ["01", "Z", "-1", "z" * 19, UNICODE_DIGITS[turn % len(UNICODE_DIGITS)]]
            else:
                bad = ["", "A"]
            for text in bad:
                forged = ":".join([*parts[:at], text, *parts[at + 1 :]])
                found.append((f"{shape.__name__}.{name} = {text!r}", forged))
        found.append((f"{shape.__name__} with a part too many", good + ":1"))
        found.append((f"{shape.__name__} with a part too few", ":".join(parts[:-1])))
    unique = dict((data, what) for what, data in found)
    return [(what, data) for data, what in unique.items() if namespace.unpack(data) is None]


async def forged_world(tg, db):
    scene = await bound_cluster(tg, db)
    unit_ids = await add_units(db, scene.cluster_id)
    rep = await make_representative(tg, db, scene.cluster_id, unit_ids[0], "Đại Diện Một", scene.group)
    real = {"cluster_id": scene.cluster_id, "year_id": scene.year_id, "unit_id": unit_ids[0]}
    return scene, rep, real


@pytest.mark.parametrize("namespace", NAMESPACES, ids=lambda n: n.name)
async def test_forged_data_of_every_namespace_gets_the_stale_popup_and_changes_nothing(tg, db, namespace):
    scene, rep, real = await forged_world(tg, db)
    cases = forgeries(namespace, real)
    assert len(cases) >= 6
    before = await snapshot(db)
    expected = stale_text()
    for index, (what, data) in enumerate(cases):
        # by the administrator, who may do most; by a representative now and then
        for who in (scene.admin, rep) if index % 3 == 0 else (scene.admin,):
            answer = await who.press_data(data)
            assert answer is not None, f"{what}: {data!r} was not answered"
            assert answer["show_alert"] is True and answer["text"] == expected, (what, data, answer)
    # in the group too, where a forged press is seen by everyone
    for what, data in cases[:: max(1, len(cases) // 8)]:
        answer = await scene.admin.press_data(data, chat=scene.group)
        assert answer["show_alert"] is True and answer["text"] == expected, (what, data, answer)
    assert tg.errors == []
    assert tg.rejections == []
    assert await snapshot(db) == before


REPORTED = [
    "ph:o:²:signing",  # "²".isdigit() is True, int("²") raises
    "ph:o:99999999999999999999:signing",  # past SQLite's and PostgreSQL's integers
    "ph:o:2147483648:registration",  # past int32: asyncpg refuses it for an INTEGER column
    "pl:add:²:1", "pl:add:1:99999999999999999999", "plr:ok:²:1", "sc:c:²:1:1", "sc:q:1:1:1:８",
    "vf:a:²:1:1", "vf:L:1:²", "ss:v:1:²", "inv:rev:1:²", "pll:doc:²", "tbl:xlsx:²", "ch:c:1:²",
    "u:list:1:²", "cl:²:score", "pls:s:²", "yr:1:²", "kind:²:bloc",
    "inv:page:1:1",  # one part short: was an IndexError
    "u",  # the namespace alone: was an IndexError
    "",
]


async def test_the_reported_forgeries_get_the_stale_popup(tg, db):
    scene, rep, _real = await forged_world(tg, db)
    before = await snapshot(db)
    for data in REPORTED:
        for who, chat in ((scene.admin, None), (rep, None), (scene.admin, scene.group)):
            answer = await who.press_data(data, chat=chat)
            assert answer["show_alert"] is True and answer["text"] == stale_text(), (data, who, answer)
        assert tg.errors == [], data
    assert await snapshot(db) == before


async def test_every_namespace_is_read_by_its_own_handler_not_the_fallback(tg, db):
    """A declared namespace nobody registered would answer every real press "no longer valid"."""
    handlers = [h for group in tg.app.handlers.values() for h in group if isinstance(h, CallbackQueryHandler)]
    for namespace in NAMESPACES:
        for shape in namespace.shapes:
            data = sample(shape, {}).pack()
            first = next(h for h in handlers if h.pattern is None or h.pattern.match(data))
            assert first.pattern is not None and first.pattern.pattern == namespace.pattern, data


async def test_a_real_button_still_works_after_forged_presses(tg, db):
    scene, _rep, _real = await forged_world(tg, db)
    await scene.admin.send(f"/phase@{BOT}", chat=scene.group)
    for forged in (f"ph:o:{scene.year_id}:²egistration", f"ph:o:{scene.year_id}", f"ph:o:0{scene.year_id}:registration"):
        answer = await scene.admin.press_data(forged, chat=scene.group)
        assert answer["text"] == stale_text()
    assert await registration_opened_at(db, scene.year_id) is None
    await scene.admin.press("▶️ Mở Đăng ký thi đua", chat=scene.group)
    assert await registration_opened_at(db, scene.year_id) is not None
    assert tg.errors == []


async def registration_opened_at(db, year_id: int):
    async with db.session() as session:
        return await session.scalar(
            select(Phase.opened_at).where(Phase.year_id == year_id, Phase.kind == PhaseKind.REGISTRATION)
        )


async def test_a_cluster_pick_by_someone_without_a_role_is_refused_and_stores_nothing(tg, db):
    """A well-formed button that is not this person's: a refusal (rolled back), not a toast
    after which the update commits."""
    scene, _rep, _real = await forged_world(tg, db)
    stranger = tg.user("Người Lạ", language_code="vi")
    scene.group.members.append(stranger)
    before = await snapshot(db)
    answer = await stranger.press_data(f"cl:{scene.cluster_id}:-", chat=scene.group)
    assert answer["show_alert"] is True and "vai trò" in answer["text"]
    assert await snapshot(db) == before
    assert tg.errors == []
