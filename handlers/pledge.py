"""/pledge: a representative registers the unit's commitments, in a private chat.

The draft is the pledge itself, stored at every step and shared by the unit's
representatives; /pledge shows it again (and what the person was typing, if anything) after
any pause or restart. One message shows the pledge with its buttons; a long pledge pages.

Buttons (`pl:<action>:<pledge>:<version>[:<item>]`) carry the version of the pledge they
were drawn with: a press on an older version (another representative changed it, or it is
yesterday's message) is refused and the current pledge is shown instead.
`u` pick a unit · `v` view · `pg` page · `add` add · `pick` choose a commitment · `it` one
commitment · `tx` reword · `tg` target · `nt` no target · `up`/`dn` move · `del`/`delok`
delete · `sub` submit · `wd` withdraw · `am` amend a signed pledge.
A typed step (`pledge_text`, `pledge_target`, `pledge_reason`) keeps the version it started
from; a save on an older version is refused too, and the typed text is shown back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks
from bot import pledges as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.pledges import Change, ChangeKind, Op
from bot.services import pledges as service
from bot.services.actors import Actor, actor_in
from bot.services.phases import cluster_timezone
from bot.views import pledges as views
from handlers import pledge_common as common
from handlers.awaiting import INPUT_FLOW, done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import callback_handler, pressed
from handlers.clusters import acting_in, rerunnable, stale
from handlers.keyboards import label
from storage.conversation import get_state
from storage.models import Cluster, EmulationYear, Pledge, PledgeStatus, Unit
from storage.pledges import pledge_in_context
from storage.units import units_of

log = logging.getLogger(__name__)

STEP_TEXT = "pledge_text"
STEP_TARGET = "pledge_target"
STEP_REASON = "pledge_reason"
VIEW, AMEND = 0, 1  # what the pledge's message shows: the pledge, or its editing keyboard once signed
PER_ROW = 5
T = TypeVar("T")


def _button(text: str, action: str, *args: int) -> InlineKeyboardButton:
    """A button on the pledge's message (`callbacks.PLEDGE` declares each one)."""
    return InlineKeyboardButton(text, callback_data=callbacks.PLEDGE.build(action, *args).pack())


# ------------------------------------------------------------------------------ the pledge's message


def next_step_text(pledge: Pledge, ops: set[Op]) -> str:
    status = pledge.status
    if Op.EDIT in ops and not pledge.items:
        return _("Add your unit's commitments one by one with ➕; each is saved at once.")
    if Op.SUBMIT in ops:
        return _("When the list is complete, press 📨 Submit: the chair will review it.")
    if status in (PledgeStatus.DRAFT, PledgeStatus.RETURNED):
        return _("Pledge registration is not open now, so the pledge cannot change; it is kept as it is.")
    if status == PledgeStatus.SUBMITTED:
        return _("Waiting for the chair's review; you will be told here.")
    if status == PledgeStatus.ACCEPTED and Op.SIGN in ops:
        return _("Accepted. Press ✍️ to sign the cluster's pledge for your unit.")
    if status == PledgeStatus.ACCEPTED:
        return _("Accepted. When the chair opens the signing, you confirm it here with ✍️.")
    if Op.AMEND in ops:
        return _("Signed. A change now is an amendment (📝): it needs a reason and is announced to the group.")
    return _("Signed.")


async def pledge_view(
    turn: Turn, pledge: Pledge, *, page: int = 0, mode: int = VIEW, note: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The representative's message: the pledge (one page of it) and what can be done now."""
    session = turn.session
    year = await session.get(EmulationYear, pledge.year_id)
    unit = await session.get(Unit, pledge.unit_id)
    cluster = await session.get(Cluster, year.cluster_id)
    ops = await service.available_ops(session, pledge)
    items = service.items_of(pledge)
    amending = mode == AMEND and Op.AMEND in ops
    foot = [
        _("📝 Each change is a signed amendment: I will ask why, record it and tell the group.")
        if amending else next_step_text(pledge, ops)
    ]  # fmt: skip
    pages = common.pages_of(common.pledge_header(unit.name, year.year, pledge, cluster_timezone(cluster)),
                            items, foot, note)  # fmt: skip
    page = min(max(page, 0), len(pages) - 1)
    pid, ver = pledge.id, pledge.version
    rows: list[list[InlineKeyboardButton]] = []
    if Op.EDIT in ops or amending:
        rows.append([_button(_("➕ Add a commitment"), "add", pid, ver)])
        if items:
            rows.append([_button(_("✏️ Edit · delete · reorder"), "pick", pid, ver)])
    if Op.SUBMIT in ops and items:
        rows.append([_button(_("📨 Submit the pledge"), "sub", pid, ver)])
    if Op.WITHDRAW in ops:
        rows.append([_button(_("↩️ Withdraw to change it"), "wd", pid, ver)])
    if Op.SIGN in ops:
        rows.append([InlineKeyboardButton(
            _("✍️ Agree and sign the pledge"), callback_data=callbacks.SignUnit(year.id, unit.id).pack()
        )])  # fmt: skip
    if Op.AMEND in ops and not amending:
        rows.append([_button(_("📝 Amend the signed pledge"), "am", pid, ver)])
    if amending:
        rows.append([_button(_("« Back"), "v", pid)])
    nav = common.nav_row(page, len(pages), lambda other: callbacks.PledgePage(pid, other, mode))
    if nav:
        rows.append(nav)
    return pages[page], InlineKeyboardMarkup(rows) if rows else None


def item_picker(pledge: Pledge, text: str) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        _button(str(number), "it", pledge.id, pledge.version, item.id)
        for number, item in enumerate(pledge.items, 1)
    ]
    rows = [buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)]
    rows.append([_button(_("« Back"), "v", pledge.id)])
    return text, InlineKeyboardMarkup(rows)


def item_menu(pledge: Pledge, item_id: int) -> tuple[str, InlineKeyboardMarkup]:
    items = service.items_of(pledge)
    number = next(n for n, item in enumerate(items, 1) if item.id == item_id)
    item = items[number - 1]
    text = _("Commitment {n}:").format(n=number) + "\n" + rules.item_lines([item], numbered_from=number)[0]
    pid, ver = pledge.id, pledge.version
    moves = []
    if number > 1:
        moves.append(_button(_("⬆️ Up"), "up", pid, ver, item_id))
    if number < len(items):
        moves.append(_button(_("⬇️ Down"), "dn", pid, ver, item_id))
    rows = [
        [_button(_("✏️ Reword"), "tx", pid, ver, item_id), _button(_("🎯 Target"), "tg", pid, ver, item_id)],
        *([moves] if moves else []),
        [_button(_("🗑 Delete"), "del", pid, ver, item_id)],
        [_button(_("« Back"), "pick", pid, ver)],
    ]
    return text, InlineKeyboardMarkup(rows)


def text_prompt(number: int, current: str | None = None) -> str:
    if current is None:
        text = _("✍️ Send commitment {n} as one message (up to {max} characters), e.g. “Phát triển "
                 "mới 50 hợp tác xã trong năm”. The target, if any, comes next.").format(n=number, max=rules.MAX_TEXT)  # fmt: skip
    else:
        text = _("✏️ Send the new wording of commitment {n} (up to {max} characters). Now:").format(
            n=number, max=rules.MAX_TEXT
        ) + "\n" + common.quote(current)
    return text + "\n" + _("Type /cancel to stop.")


def target_prompt(number: int) -> str:
    return _(
        "🎯 The target of commitment {n}, if it has one: a number and what it counts, e.g. "
        "“50 hợp tác xã”, “1.000 hội viên”, “2,5 tỷ đồng”, “100%”. Otherwise press the button."
    ).format(n=number) + "\n" + _("Type /cancel to stop.")


def no_target_markup(pledge_id: int, version: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(_("➖ No target"), "nt", pledge_id, version)]])


def reason_prompt(summary: str) -> str:
    return _(
        "📝 The pledge is signed, so this change is an amendment: {summary}. Send the reason in one "
        "message (up to {max} characters); it is recorded and announced to the group. "
        "Type /cancel to drop the change."
    ).format(summary=escape(summary), max=rules.MAX_REASON)


# ------------------------------------------------------------------------------ /pledge


@rerunnable("pledge")
async def show_pledge(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Pledges are written in a private chat with me: send /pledge there."))
    acting = await acting_in(turn, "pledge")
    if acting is None:
        return
    cluster, actor = acting
    actor.require(Action.EDIT_PLEDGE)
    units = [u for u in await units_of(turn.session, cluster.id, active_only=True) if u.id in actor.unit_ids]
    if not units:
        raise Refusal(_("You do not represent this unit, so you cannot change its pledge."))
    if len(units) > 1:
        rows = [[_button(label(u.name), "u", cluster.id, u.id)] for u in units]
        turn.reply(_("You represent several units. Whose pledge?"), InlineKeyboardMarkup(rows))
        return
    await open_unit(turn, actor, units[0].id)


pledge_command = handler(show_pledge)


async def open_unit(turn: Turn, actor: Actor, unit_id: int, *, edit: bool = False) -> None:
    """Show the unit's pledge and, when the person was typing something for it, ask again."""
    pledge = await service.open_for_unit(turn.session, actor, unit_id)
    text, markup = await pledge_view(turn, pledge)
    (turn.edit if edit else turn.reply)(text, markup)
    state = await get_state(turn.session, actor.person_id, turn.update.effective_chat.id, INPUT_FLOW)
    if state is None or state.data.get("pledge_id") != pledge.id:
        return
    data = state.data
    number = _number_of(pledge, data.get("item_id"))
    if state.step == STEP_TEXT:
        current = _item_text(pledge, data.get("item_id"))
        turn.reply(_("You were writing this:") + "\n" + text_prompt(number, current))
    elif state.step == STEP_TARGET:
        turn.reply(_("You were writing this:") + "\n" + target_prompt(number),
                   no_target_markup(pledge.id, data.get("version") or pledge.version))  # fmt: skip
    elif state.step == STEP_REASON:
        summary = data.get("summary", "")
        turn.reply(_("You were writing this:") + "\n" + reason_prompt(summary))


def _number_of(pledge: Pledge, item_id: int | None) -> int:
    for number, item in enumerate(pledge.items, 1):
        if item.id == item_id:
            return number
    return len(pledge.items) + 1


def _item_text(pledge: Pledge, item_id: int | None) -> str | None:
    return next((item.text for item in pledge.items if item.id == item_id), None) if item_id else None


# ------------------------------------------------------------------------------ changes


async def attempt(turn: Turn, pledge_id: int, action: Callable[[], Awaitable[T]], *,
                  typed: str | None = None, repeat: tuple[Actor, Op] | None = None) -> T | None:  # fmt: skip
    """Run a change (the service runs it in a savepoint of its own); on a stale version show
    the current pledge instead (in place of the pressed message, or as a new one after typed
    input) and return None. `repeat`: who does which status change; when it lost at the
    database to the same person's own change (two taps processed at once), it is said as
    done (`AlreadyDone`)."""
    try:
        return await action()
    except service.StaleDraft as stale_draft:
        if repeat is not None:
            current = await turn.session.get(Pledge, pledge_id, populate_existing=True)
            service.check_repeat(current, *repeat)
        await show_stale(turn, pledge_id, stale_draft.message, typed=typed)
        return None


async def show_stale(turn: Turn, pledge_id: int, message: str, *, typed: str | None = None) -> None:
    await common.show_current(
        turn, pledge_view, pledge_id, message,
        _("Someone else changed this pledge in the meantime; here is the current version."), typed,
    )  # fmt: skip


SAVED, ASKED, STALE = "saved", "asked", "stale"


async def apply_change(turn: Turn, context: BotContext, actor: Actor, pledge_id: int, version: int | None,
                       change: Change, *, reason: str | None = None, typed: str | None = None) -> str:  # fmt: skip
    """Save one change and show the pledge (SAVED); on a signed pledge without a reason yet,
    ask for the reason instead (ASKED: the reason step now waits); on an older version show
    the current pledge (STALE)."""
    pledge, _year = await service.representative_pledge(turn.session, actor, pledge_id)
    if pledge.status == PledgeStatus.SIGNED and reason is None:
        try:
            await service.require_editable(turn.session, actor, pledge_id, version)
        except service.StaleDraft as stale_draft:
            await show_stale(turn, pledge_id, stale_draft.message, typed=typed)
            return STALE
        rules.apply_change(service.items_of(pledge), change)  # refuse a bad change before asking why
        summary = rules.change_summary(service.items_of(pledge), change)
        await expect(turn, STEP_REASON, pledge_id=pledge_id, version=version, change=change.as_data(), summary=summary)
        (turn.edit if turn.update.callback_query else turn.reply)(reason_prompt(summary))
        return ASKED
    version_checked = version if change.kind != ChangeKind.ADD else None  # appending overwrites nothing
    result = await attempt(
        turn, pledge_id,
        lambda: service.edit(turn.session, actor, pledge_id, version_checked, change, reason=reason),
        typed=typed,
    )  # fmt: skip
    if result is None:
        return STALE
    note = "✅ " + _("Saved: {summary}.").format(summary=escape(result.summary))
    text, markup = await pledge_view(turn, result.pledge, note=note)
    (turn.edit if turn.update.callback_query else turn.reply)(text, markup)
    return SAVED


# ------------------------------------------------------------------------------ buttons

_STATUS_OPS = {"sub": Op.SUBMIT, "wd": Op.WITHDRAW}


@handler
async def button(update: Update, context: BotContext, turn: Turn) -> None:
    press = pressed(update, callbacks.PLEDGE)
    if turn.person is None or not turn.private:
        raise stale()
    if isinstance(press, callbacks.PledgeUnit):
        cluster = await turn.session.get(Cluster, press.cluster_id)
        if cluster is None:
            raise stale()
        actor = await actor_in(turn.session, turn.person.id, cluster.id)
        await open_unit(turn, actor, press.unit_id, edit=True)
        return
    pledge = await pledge_in_context(turn.session, press.pledge_id)  # with its year, unit, cluster
    year = await turn.session.get(EmulationYear, pledge.year_id) if pledge is not None else None
    if pledge is None or year is None:
        raise stale()
    actor = await actor_in(turn.session, turn.person.id, year.cluster_id)
    await service.representative_pledge(turn.session, actor, pledge.id)
    if isinstance(press, callbacks.PledgeView | callbacks.PledgePage):
        page, mode = (press.page, press.mode) if isinstance(press, callbacks.PledgePage) else (0, VIEW)
        turn.edit(*await pledge_view(turn, pledge, page=page, mode=mode))
        return
    version = press.version
    if pledge.version != version:
        if press.action in _STATUS_OPS:  # a second tap on what this person has just done: say so
            service.check_repeat(pledge, actor, _STATUS_OPS[press.action])
        await show_stale(turn, pledge.id, service.StaleDraft(pledge.id).message)
        return
    item_id = press.item_id if isinstance(press, callbacks.PledgeItemStep) else None
    if item_id is not None and item_id not in {item.id for item in pledge.items}:
        raise Refusal(_("That commitment is no longer in the pledge."))
    await _press(turn, context, actor, pledge, press.action, version, item_id)


async def _press(turn: Turn, context: BotContext, actor: Actor, pledge: Pledge, action: str,
                 version: int, item_id: int | None) -> None:  # fmt: skip
    pid = pledge.id
    if action == "sub":
        submitted = await attempt(turn, pid, lambda: service.submit(turn.session, actor, pid, version),
                                  repeat=(actor, Op.SUBMIT))  # fmt: skip
        if submitted is not None:
            note = views.submitted_note(submitted.chair_units_own)
            turn.edit(*await pledge_view(turn, submitted.pledge, note=note))
        return
    if action == "wd":
        withdrawn = await attempt(turn, pid, lambda: service.withdraw(turn.session, actor, pid, version),
                                  repeat=(actor, Op.WITHDRAW))  # fmt: skip
        if withdrawn is not None:
            note = "↩️ " + _("Withdrawn: it is a draft again. Submit it when it is ready.")
            turn.edit(*await pledge_view(turn, withdrawn, note=note))
        return
    if action == "nt":
        await no_target(turn, context, actor, pledge)
        return
    # everything below changes the list, or asks for a change
    await service.require_editable(turn.session, actor, pid, version)
    number = _number_of(pledge, item_id)
    if action == "am":
        turn.edit(*await pledge_view(turn, pledge, mode=AMEND))
    elif action == "add":
        if len(pledge.items) >= rules.MAX_ITEMS:
            raise Refusal(_("A pledge has at most {max} commitments.").format(max=rules.MAX_ITEMS))
        await expect(turn, STEP_TEXT, pledge_id=pid, version=version, item_id=None)
        turn.edit(text_prompt(number))
    elif action == "pick":
        turn.edit(*item_picker(pledge, _("Which commitment?")))
    elif action == "it":
        turn.edit(*item_menu(pledge, item_id))
    elif action == "tx":
        await expect(turn, STEP_TEXT, pledge_id=pid, version=version, item_id=item_id)
        turn.edit(text_prompt(number, _item_text(pledge, item_id)))
    elif action == "tg":
        await expect(turn, STEP_TARGET, pledge_id=pid, version=version, item_id=item_id, text=None)
        turn.edit(target_prompt(number), no_target_markup(pid, version))
    elif action in ("up", "dn"):
        kind = ChangeKind.UP if action == "up" else ChangeKind.DOWN
        await apply_change(turn, context, actor, pid, version, Change(kind, item_id))
    elif action == "del":
        text = _("Delete commitment {n}?").format(n=number) + "\n" + common.quote(_item_text(pledge, item_id) or "")
        turn.edit(text, InlineKeyboardMarkup([[
            _button(_("🗑 Yes, delete it"), "delok", pid, version, item_id),
            _button(_("« Back"), "it", pid, version, item_id),
        ]]))  # fmt: skip
    elif action == "delok":
        await apply_change(turn, context, actor, pid, version, Change(ChangeKind.DELETE, item_id))
    else:
        raise stale()


# ------------------------------------------------------------------------------ typed steps


async def _step_actor(turn: Turn, data: dict[str, Any]) -> tuple[Actor, Pledge] | None:
    """Who is typing and for which pledge; None (and the step dropped) when it is gone."""
    pledge = await pledge_in_context(turn.session, data.get("pledge_id") or 0)  # with its year, unit, cluster
    year = await turn.session.get(EmulationYear, pledge.year_id) if pledge is not None else None
    if pledge is None or year is None:
        await done(turn)
        turn.reply(_("That pledge is no longer there; nothing was saved. Send /pledge to see yours."))
        return None
    actor = await actor_in(turn.session, turn.person.id, year.cluster_id)
    return actor, pledge


def _typed(update: Update, what: str) -> str:
    message = update.effective_message
    text = message.text if message is not None else None
    if not text:
        raise Refusal(what)
    return text


@on_input(STEP_TEXT)
async def text_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    typed = _typed(update, _("Please type the commitment as text, or /cancel."))
    found = await _step_actor(turn, data)
    if found is None:
        return
    actor, pledge = found
    cleaned = rules.clean_text(typed)
    item_id = data.get("item_id")
    if item_id is None:  # a new commitment: its target comes next
        await service.require_editable(turn.session, actor, pledge.id, None)
        await expect(turn, STEP_TARGET, **{**data, "text": cleaned})
        turn.reply(target_prompt(_number_of(pledge, None)), no_target_markup(pledge.id, data["version"]))
        return
    outcome = await apply_change(turn, context, actor, pledge.id, data.get("version"),
                                 Change(ChangeKind.TEXT, item_id, text=cleaned), typed=cleaned)  # fmt: skip
    if outcome != ASKED:
        await done(turn)


async def _target_given(turn: Turn, context: BotContext, data: dict[str, Any], target: rules.Target | None,
                        typed: str | None) -> None:  # fmt: skip
    found = await _step_actor(turn, data)
    if found is None:
        return
    actor, pledge = found
    item_id = data.get("item_id")
    if item_id is None:
        change = Change(ChangeKind.ADD, text=data.get("text"), target=target)
        typed = data.get("text")
    else:
        change = Change(ChangeKind.TARGET, item_id, target=target)
    outcome = await apply_change(turn, context, actor, pledge.id, data.get("version"), change, typed=typed)
    if outcome != ASKED:
        await done(turn)


@on_input(STEP_TARGET)
async def target_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    typed = _typed(update, _("Please type the target as text (e.g. “50 hợp tác xã”), press “No target”, or /cancel."))
    target = rules.parse_target(typed)
    await _target_given(turn, context, data, target, typed)


async def no_target(turn: Turn, context: BotContext, actor: Actor, pledge: Pledge) -> None:
    """The "No target" button of the target step: the waiting step goes on without one."""
    state = await get_state(turn.session, actor.person_id, turn.update.effective_chat.id, INPUT_FLOW)
    if state is None or state.step != STEP_TARGET or state.data.get("pledge_id") != pledge.id:
        raise stale()
    await _target_given(turn, context, dict(state.data), None, None)


@on_input(STEP_REASON)
async def reason_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    typed = _typed(update, _("Please type the reason as text, or /cancel."))
    reason = rules.clean_text(typed, rules.MAX_REASON, what=_("The reason"))
    found = await _step_actor(turn, data)
    if found is None:
        return
    actor, pledge = found
    change = Change.from_data(data["change"])
    await apply_change(turn, context, actor, pledge.id, data.get("version"), change, reason=reason,
                       typed=change.text or reason)  # fmt: skip
    await done(turn)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("pledge", pledge_command))
    app.add_handler(callback_handler(callbacks.PLEDGE, button))
