"""Pure rule-layer pieces: the command table, the permission table (callback data: test_callbacks)."""

from __future__ import annotations

import pytest

from bot.commands import COMMANDS, GROUP, PRIVATE, commands_for, menu
from bot.errors import Refusal
from bot.i18n import use_locale
from bot.permissions import Action, Role, can, cluster_roles, require
from storage.people import RoleView


def test_command_names_are_what_telegram_accepts():
    for command in COMMANDS:
        assert command.name.isascii() and command.name.islower() and 1 <= len(command.name) <= 32
        assert 1 <= len(command.description) <= 256


def test_group_menu_has_no_private_only_commands():
    assert "start" in {c.name for c in menu(PRIVATE)}
    assert "start" not in {c.name for c in menu(GROUP)}
    everyone_in_groups = {c.name for c in commands_for(set(), GROUP)}
    assert {"help", "lang", "setup"} <= everyone_in_groups
    assert "members" not in everyone_in_groups  # for the admin, chair and secretariat only


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        ({Role.ADMIN}, True),
        ({Role.CHAIR, Role.REPRESENTATIVE}, True),
        ({Role.REPRESENTATIVE}, False),
        ({Role.SECRETARIAT}, False),
        (set(), False),
    ],
)
def test_who_may_set_the_group_language(roles, allowed):
    assert can(roles, Action.SET_GROUP_LANGUAGE) is allowed


def test_refusal_names_who_may_do_it_instead():
    with use_locale("vi"), pytest.raises(Refusal) as vi:
        require({Role.REPRESENTATIVE}, Action.SET_GROUP_LANGUAGE)
    assert vi.value.message == "Chỉ quản trị cụm hoặc Cụm trưởng mới làm được việc này."
    with use_locale("en"), pytest.raises(Refusal) as en:
        require(set(), Action.SET_GROUP_LANGUAGE)
    assert "cluster administrator or chair unit" in en.value.message


def view(cluster_id, role, chair=False, vice=False):
    return RoleView(
        cluster_id=cluster_id, cluster_name="C", role=role, unit_id=1 if role == "representative" else None,
        unit_name="U" if role == "representative" else None, is_chair_unit=chair, is_vice_chair_unit=vice,
    )


def test_representatives_of_the_chair_unit_act_as_the_chair_in_their_cluster_only():
    views = [view(1, "representative", chair=True), view(2, "representative", vice=True), view(2, "secretariat")]
    assert cluster_roles(views, 1) == {"representative", "chair"}
    assert cluster_roles(views, 2) == {"representative", "vice_chair", "secretariat"}
    assert cluster_roles(views, 3) == set()


def test_a_welcome_with_very_many_roles_still_fits_one_message():
    from bot.render import role_line, welcome

    with use_locale("vi"):
        lines = [role_line(f"Cụm số {i} " + "x" * 150, "representative", "Đơn vị " + "y" * 190, False, False)
                 for i in range(60)]  # fmt: skip
        text = welcome("An", lines)
    assert len(text) < 4096
    assert "Cụm số 0 " in text and "… và" in text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("📊 Điểm 2026 — <b>Cụm A &amp; B</b>", "📊 Điểm 2026 — <b>Cụm A &amp; B</b>"),  # fits: unchanged
        ("<b>" + "A &amp; B " * 200 + "</b>", None),  # too long: plain, cut, never inside `&amp;`
        ("🏆" * 600, None),  # 1,200 UTF-16 units: emoji count twice
    ],
)
def test_a_file_caption_fits_telegrams_limit_and_stays_valid_html(html, expected):
    from html import unescape

    from bot.render import CAPTION_LIMIT, fit_caption

    fitted = fit_caption(html)
    if expected is not None:
        assert fitted == expected
        return
    assert "<" not in fitted and fitted.endswith("…")
    assert "&" not in fitted.replace("&amp;", "")  # every ampersand a whole entity
    assert len(unescape(fitted).encode("utf-16-le")) // 2 <= CAPTION_LIMIT
