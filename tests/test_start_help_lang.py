"""/start, /help, /lang, the group greeting, the fallbacks and the error handler, through the
real Application and the offline harness, in Vietnamese and English."""

from __future__ import annotations

from telegram.ext import CommandHandler

from bot.commands import PRIVATE, menu
from bot.offline import OfflineTelegram
from storage.models import Cluster, EmulationYear, RoleAssignment, Unit
from storage.people import person_by_telegram_id, upsert_person
from tests.conftest import BOT_USERNAME, make_app


async def test_start_in_vietnamese_explains_the_bot_and_how_to_join(tg):
    an = tg.user("An Nguyễn", language_code="vi")
    await an.send("/start")
    text = an.private.last.text
    assert "Xin chào, An Nguyễn!" in text
    assert "cụm thi đua" in text
    assert "chưa có vai trò" in text
    assert "/help" in text


async def test_start_in_english_for_an_english_telegram_app(tg):
    jo = tg.user("Jo Smith", language_code="en")
    await jo.send("/start")
    assert "Hello, Jo Smith!" in jo.private.last.text
    assert "no role in any cluster" in jo.private.last.text


async def test_start_lists_the_persons_clusters_and_roles(tg, db):
    async with db.session() as s:
        cluster = Cluster(name="Cụm kinh tế", kind="cluster", telegram_chat_id=-100123)
        s.add(cluster)
        await s.flush()
        garden = Unit(cluster_id=cluster.id, name="Hội Làm vườn Việt Nam", name_key="hoi lam vuon viet nam")
        s.add(garden)
        await s.flush()
        s.add(EmulationYear(cluster_id=cluster.id, year=2024, chair_unit_id=garden.id))
        person = await upsert_person(
            s, telegram_user_id=555001, full_name="Bình <Trần>", username=None, language_code="vi"
        )
        s.add(RoleAssignment(cluster_id=cluster.id, person_id=person.id, role="representative", unit_id=garden.id))
        s.add(RoleAssignment(cluster_id=cluster.id, person_id=person.id, role="admin"))
        await s.commit()
    binh = tg.user("Bình <Trần>", language_code="vi", id=555001)
    await binh.send("/start")
    text = binh.private.last.text
    assert "Cụm kinh tế" in text
    assert "Hội Làm vườn Việt Nam" in text
    assert "Cụm trưởng" in text
    assert "quản trị" in text
    assert "Bình &lt;Trần&gt;" in text  # user text is escaped, and the HTML was accepted


async def test_help_lists_commands_in_the_users_language(tg):
    an = tg.user("An", language_code="vi")
    jo = tg.user("Jo", language_code="en")
    await an.send("/help")
    await jo.send("/help")
    assert "/lang" in an.private.last.text and "Chọn ngôn ngữ" in an.private.last.text
    assert "/lang" in jo.private.last.text and "Choose the language" in jo.private.last.text


async def test_lang_button_switches_and_the_choice_is_kept(tg, settings, db):
    an = tg.user("An", language_code="vi", id=555002)
    await an.send("/lang")
    assert an.private.last.buttons == [["Tiếng Việt", "English"]]
    await an.press("English")
    assert "Language set: English" in an.private.last.text
    assert an.private.last.buttons == []
    await an.send("/help")
    assert "Choose the language" in an.private.last.text
    async with db.session() as s:
        assert (await person_by_telegram_id(s, 555002)).locale == "en"


async def test_language_choice_survives_a_restart(settings, db):
    first = OfflineTelegram(bot_username=BOT_USERNAME)
    async with first.running(make_app(settings, db, first)):
        an = first.user("An", language_code="vi", id=555003)
        await an.send("/lang en")
    second = OfflineTelegram(bot_username=BOT_USERNAME)
    async with second.running(make_app(settings, db, second)):
        an = second.user("An", language_code="vi", id=555003)
        await an.send("/start")
        assert "Hello, An!" in an.private.last.text
    assert first.errors == second.errors == []


async def test_second_tap_on_a_language_button_changes_nothing_and_does_not_fail(tg):
    an = tg.user("An", language_code="vi")
    await an.send("/lang")
    keyboard_message = an.private.last.message_id
    await an.press("Tiếng Việt")
    await an.press_data("lang:vi", message_id=keyboard_message)
    assert "Đã chọn ngôn ngữ: Tiếng Việt" in an.private.last.text
    assert len(tg.callback_answers) == 2


async def test_unknown_language_argument_is_explained(tg):
    an = tg.user("An", language_code="vi")
    await an.send("/lang fr")
    assert "Ngôn ngữ này không được hỗ trợ" in an.private.last.text


async def test_stale_or_foreign_button_gets_a_clear_answer(tg):
    an = tg.user("An", language_code="vi")
    await an.send("/start")
    await an.press_data("pledge:edit:999", message_id=an.private.last.message_id)
    answer = tg.callback_answers[-1]
    assert answer["show_alert"] is True
    assert "Nút này không còn hiệu lực" in answer["text"]


async def test_free_text_and_unknown_commands_in_private_get_a_hint(tg):
    an = tg.user("An", language_code="vi")
    await an.send("xin chào")
    assert "/help" in an.private.last.text
    await an.send("/frobnicate")
    assert "Tôi không biết lệnh này" in an.private.last.text
    await an.send_sticker()
    assert "/help" in an.private.last.text
    assert len(an.private.bot_messages()) == 3


async def test_group_greeting_once_when_added_and_commands_need_the_bot_name(tg):
    chair = tg.user("Chủ tịch", language_code="vi")
    group = tg.group("Cụm thi đua kinh tế", admins=[chair])
    await tg.add_bot_to_group(group, by=chair)
    greetings = group.bot_messages()
    assert len(greetings) == 1
    assert f"/setup@{BOT_USERNAME}" in greetings[0].text
    await chair.send(f"/help@{BOT_USERNAME}", chat=group)
    assert f"/lang@{BOT_USERNAME}" in group.last.text
    await chair.send("/weather", chat=group)  # maybe for another bot: stay quiet
    assert len(group.bot_messages()) == 2
    await chair.send(f"/weather@{BOT_USERNAME}", chat=group)
    assert "Tôi không biết lệnh này" in group.last.text


async def test_lang_in_an_unbound_group_is_refused_with_the_reason(tg):
    chair = tg.user("Chủ tịch", language_code="vi")
    group = tg.group("Nhóm chưa gắn cụm", admins=[chair])
    await tg.add_bot_to_group(group, by=chair)
    await chair.send(f"/lang@{BOT_USERNAME} en", chat=group)
    assert "chưa được gắn với cụm" in group.last.text


async def test_group_language_is_changed_only_by_the_cluster_administrator(tg, db):
    chair = tg.user("Quản trị", language_code="vi", id=555010)
    member = tg.user("Thành viên", language_code="vi", id=555011)
    group = tg.group("Cụm kinh tế", admins=[chair], members=[member])
    async with db.session() as s:
        cluster = Cluster(name="Cụm kinh tế", kind="cluster", telegram_chat_id=group.id)
        s.add(cluster)
        await s.flush()
        person = await upsert_person(s, telegram_user_id=555010, full_name="Quản trị", username=None, language_code="vi")
        s.add(RoleAssignment(cluster_id=cluster.id, person_id=person.id, role="admin"))
        await s.commit()
    await tg.add_bot_to_group(group, by=chair)
    await member.send(f"/lang@{BOT_USERNAME} en", chat=group)
    assert "Chỉ quản trị cụm" in group.last.text
    await chair.send(f"/lang@{BOT_USERNAME} en", chat=group)
    assert "This group's language is now English" in group.last.text
    await member.send(f"/help@{BOT_USERNAME}", chat=group)
    assert "Commands" in group.last.text  # group messages follow the cluster's language


async def test_command_menus_are_published_in_vietnamese_and_english(tg):
    private_vi = dict(tg.my_commands[("all_private_chats", "vi")])
    private_en = dict(tg.my_commands[("all_private_chats", "en")])
    default = dict(tg.my_commands[("all_private_chats", "")])
    assert set(private_vi) == {c.name for c in menu(PRIVATE)} >= {"start", "help", "lang"}
    assert private_vi["help"] != private_en["help"]
    assert default == private_vi  # BOT_LOCALE defaults to vi
    assert "start" not in dict(tg.my_commands[("all_group_chats", "vi")])


async def test_a_crash_becomes_a_short_vietnamese_apology_without_a_traceback(settings, db, caplog):
    harness = OfflineTelegram(bot_username=BOT_USERNAME)
    app = make_app(settings, db, harness)

    async def explode(update, context):
        raise RuntimeError("secret internal detail")

    app.add_handler(CommandHandler("explode", explode), group=-1)
    async with harness.running(app):
        an = harness.user("An", language_code="vi")
        await an.send("/explode")
    apologies = [t for t in an.private.texts() if "Xin lỗi" in t]
    assert len(apologies) == 1
    everything = "\n".join(an.private.texts())
    assert "secret internal detail" not in everything and "Traceback" not in everything
    assert any(isinstance(e, RuntimeError) for e in harness.errors)
    assert "secret internal detail" in caplog.text  # the operator still sees it in the log
