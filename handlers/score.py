"""/score: a representative scores their unit against the table, criterion by criterion.

The conversation, on a phone:

1. `/score` (private, scoring phase) opens the unit's sheet where it was left: the first
   criterion without a score (or the summary when all are scored).
2. A criterion card shows the group, the text, the maximum, the value so far, the note and
   the evidence, with quick-value buttons. While a card is shown the bot waits for input
   (`handlers.awaiting`): a typed number (`8,5`) scores it, a document or a photo is attached
   as evidence. Scoring moves on to the next criterion; ◀ ▶ and 📋 jump anywhere.
3. 📊 shows the summary (per group and in total) and the submit button; submitting asks once
   more, then locks the sheet.

Every button carries the sheet's version (`sc:<action>:<sheet>:<version>[:<arg>...]`): a press
drawn before another representative's save is refused with the sheet as it is now, as is a
typed value (the card armed the input with its version). The rules are in
`bot.services.scoring`; the arithmetic in `bot.scoring`; parsing what is typed in
`bot.score_input`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from html import escape

from sqlalchemy import inspect
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot import callbacks, fmt
from bot import scoring as arithmetic
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.score_input import parse_score, quick_values, range_text
from bot.scoring_table import BONUS, DEDUCTION
from bot.services import scoring as service
from bot.services.actors import Actor, actor_in
from bot.services.scoring import EvidenceFile, SheetView, StaleSheet
from bot.views.scoring import points
from handlers.awaiting import done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import callback_handler, pressed
from handlers.clusters import acting_in, rerunnable, stale
from handlers.keyboards import label, pages
from storage.models import (
    Cluster,
    Criterion,
    EvidenceKind,
    Person,
    ScoreEntry,
    ScoreSheet,
    SheetStatus,
)

log = logging.getLogger(__name__)

VALUE_STEP = "score_value"
NOTE_STEP = "score_note"
PER_PAGE = 8
TEXT_BUDGET = 3800


# ------------------------------------------------------------------------------ words


def kind_line(criterion: Criterion, bonus_cap: Decimal) -> str:
    kind, top = str(criterion.kind), fmt.number(criterion.max_points)
    if kind == BONUS:
        return _("Bonus points: up to <b>{max}</b> (all bonus points together count up to {cap}).").format(
            max=top, cap=fmt.number(bonus_cap))  # fmt: skip
    if kind == DEDUCTION:
        return _("Deduction: 0 to <b>{max}</b> points, subtracted from the total.").format(max=top)
    return _("Maximum: <b>{max}</b> points.").format(max=top)


def status_name(status: str) -> str:
    return {
        SheetStatus.DRAFT: _("draft, not submitted yet"),
        SheetStatus.SUBMITTED: _("submitted, waiting for verification"),
        SheetStatus.VERIFIED: _("verified"),
    }.get(status, str(status))


def file_size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024 * 1024:
        return _("{n} KB").format(n=fmt.number(Decimal(max(size, 1)) / 1024))
    return _("{n} MB").format(n=fmt.number(Decimal(size) / (1024 * 1024)))


def evidence_name(evidence) -> str:
    if evidence.file_name:
        return evidence.file_name
    return _("photo") if evidence.kind == EvidenceKind.PHOTO else _("file")


def header(view: SheetView) -> str:
    totals = view.totals(arithmetic.SELF)
    return "\n".join([
        _("📝 <b>Self-scoring {year}</b> — {unit}").format(year=view.year.year, unit=escape(view.unit.name)),
        _("Progress: {done}/{size} criteria · total so far: <b>{total}</b>").format(
            done=view.scored, size=view.size, total=fmt.number(totals.total)),
    ])  # fmt: skip


def criterion_block(view: SheetView, criterion: Criterion, entry: ScoreEntry | None) -> list[str]:
    return [
        f"<b>{escape(criterion.group_name)}</b>",
        f"<b>{escape(criterion.code)}</b>. {escape(criterion.text)}",
        kind_line(criterion, view.table.bonus_cap),
    ]


def card_text(view: SheetView, criterion: Criterion, notice: str | None = None) -> str:
    entry = view.entry(criterion.id)
    value = entry.self_value if entry else None
    lines = [header(view), ""]
    if notice:
        lines += [notice, ""]
    lines += criterion_block(view, criterion, entry)
    lines.append(
        _("Self score: <b>{value}</b>").format(value=points(str(criterion.kind), value)) if value is not None
        else _("Self score: <i>not scored yet</i>")
    )  # fmt: skip
    if entry is not None and entry.note:
        lines.append(_("📝 Note: {note}").format(note=escape(entry.note)))
    if entry is not None and entry.evidence:
        lines.append(_("📎 Evidence files: {n}").format(n=len(entry.evidence)))
    lines += ["", range_text(str(criterion.kind), criterion.max_points, view.table.bonus_cap) + " "
              + _("Send a document or a photo to attach it as evidence.")]  # fmt: skip
    return "\n".join(lines)


def _button(text: str, action: str, sheet: ScoreSheet, *args: int | Decimal) -> InlineKeyboardButton:
    """A button about the sheet as drawn now (`callbacks.SCORE` declares each one)."""
    press = callbacks.SCORE.build(action, sheet.id, sheet.version, *args)
    return InlineKeyboardButton(text, callback_data=press.pack())


def card_keyboard(view: SheetView, criterion: Criterion) -> InlineKeyboardMarkup:
    sheet, kind = view.sheet, str(criterion.kind)
    entry = view.entry(criterion.id)
    current = entry.self_value if entry else None
    quick = [
        _button(("✅ " if v == current else "") + points(kind, v), "q", sheet, criterion.id, v)
        for v in quick_values(kind, criterion.max_points, view.table.bonus_cap)
    ]
    position = view.position(criterion.id)
    rows = [quick[:3], quick[3:]] if len(quick) > 3 else [quick]
    rows.append([
        _button("◀", "c", sheet, view.neighbour(criterion.id, -1).id),
        _button(f"📋 {position + 1}/{view.size}", "l", sheet, position // PER_PAGE),
        _button("▶", "c", sheet, view.neighbour(criterion.id, 1).id),
    ])  # fmt: skip
    evidence = len(entry.evidence) if entry else 0
    rows.append([
        _button(_("📝 Note"), "n", sheet, criterion.id),
        _button(_("📎 Evidence ({n})").format(n=evidence), "e", sheet, criterion.id),
    ])  # fmt: skip
    rows.append([_button(_("📊 Summary and submit"), "s", sheet)])
    return InlineKeyboardMarkup([r for r in rows if r])


def group_lines(view: SheetView, stage: str = arithmetic.SELF, per_criterion: bool = True) -> list[str]:
    totals = view.totals(stage)
    lines: list[str] = []
    rows = view.rows()
    for group in arithmetic.group_names([line for _c, _e, line in rows]):
        in_group = [row for row in rows if row[0].group_name == group]
        criteria = [c for c, _e, _line in in_group]
        top = sum((c.max_points for c in criteria if str(c.kind) != DEDUCTION), Decimal(0))
        subtotal = totals.group(group)
        if all(str(c.kind) == DEDUCTION for c in criteria):
            lines.append(f"<b>{escape(group)}</b>: {points(DEDUCTION, -subtotal)}")
        else:
            lines.append(f"<b>{escape(group)}</b>: <b>{fmt.number(subtotal)}</b>/{fmt.number(top)}")
        if per_criterion:
            for c, entry, line in in_group:
                value = line.value(stage)
                mark = "✅" if line.self_value is not None else "⬜"
                extra = ""
                if entry is not None and entry.evidence:
                    extra = f" 📎{len(entry.evidence)}"
                lines.append(f"   {mark} {escape(c.code)}: {points(str(c.kind), value)}/{points(str(c.kind), c.max_points)}{extra}")
    return lines


def total_lines(view: SheetView, stage: str) -> list[str]:
    totals = view.totals(stage)
    lines = []
    if totals.capped:
        lines.append(_("Bonus points: {bonus}, of which {counted} count (the cap).").format(
            bonus=fmt.number(totals.bonus), counted=fmt.number(totals.bonus_counted)))  # fmt: skip
    lines.append(_("<b>Total: {total}</b> points").format(total=fmt.number(totals.total)))
    return lines


def summary_text(view: SheetView, notice: str | None = None) -> str:
    head = [
        _("📊 <b>Self-scoring sheet {year}</b> — {unit}").format(year=view.year.year, unit=escape(view.unit.name)),
        _("Status: {status}").format(status=status_name(view.sheet.status)),
        _("Progress: {done}/{size} criteria").format(done=view.scored, size=view.size),
        "",
    ]  # fmt: skip
    if notice:
        head[0:0] = [notice, ""]
    foot = [""] + total_lines(view, arithmetic.SELF)
    missing = arithmetic.missing(view.lines())
    if missing and view.sheet.status == SheetStatus.DRAFT:
        foot.append(_("Not scored yet: {codes}.").format(
            codes=", ".join(escape(m.code) for m in missing[:15]) + ("…" if len(missing) > 15 else "")))  # fmt: skip
    body = group_lines(view)
    text = "\n".join(head + body + foot)
    if len(text) > TEXT_BUDGET:
        text = "\n".join(head + group_lines(view, per_criterion=False) + foot)
    return text


def summary_keyboard(view: SheetView) -> InlineKeyboardMarkup | None:
    sheet = view.sheet
    if sheet.status != SheetStatus.DRAFT:
        return None
    rows = []
    if view.scored == view.size:
        rows.append([_button(_("📤 Submit the sheet"), "p", sheet)])
    following = view.next_unscored() or view.criteria[0]
    rows.append([
        _button(_("✏️ Continue scoring"), "c", sheet, following.id),
        _button(_("📋 Criteria"), "l", sheet, 0),
    ])  # fmt: skip
    return InlineKeyboardMarkup(rows)


def list_text(view: SheetView, page: int) -> str:
    return header(view) + "\n\n" + _("Pick a criterion (✅ scored, ⬜ not yet):") + f" {page + 1}/{pages(view.size, PER_PAGE)}"


def list_keyboard(view: SheetView, page: int) -> InlineKeyboardMarkup:
    sheet = view.sheet
    total = pages(view.size, PER_PAGE)
    page = min(max(page, 0), total - 1)
    rows = []
    for c in view.criteria[page * PER_PAGE : (page + 1) * PER_PAGE]:
        line = view.line(c)
        mark = "✅" if line.self_value is not None else "⬜"
        value = f" · {points(str(c.kind), line.self_value)}" if line.self_value is not None else ""
        rows.append([_button(label(f"{mark} {c.code}{value} · {c.text}"), "c", sheet, c.id)])
    nav = []
    if page > 0:
        nav.append(_button("◀", "l", sheet, page - 1))
    if page < total - 1:
        nav.append(_button("▶", "l", sheet, page + 1))
    if nav:
        rows.append(nav)
    rows.append([_button(_("📊 Summary and submit"), "s", sheet)])
    return InlineKeyboardMarkup(rows)


def evidence_text(view: SheetView, criterion: Criterion) -> str:
    entry = view.entry(criterion.id)
    files = entry.evidence if entry else []
    lines = [header(view), "", f"<b>{escape(criterion.code)}</b>. {escape(criterion.text)}",
             _("📎 Evidence files: {n}").format(n=len(files))]  # fmt: skip
    for i, evidence in enumerate(files, 1):
        lines.append(f"{i}. {escape(evidence_name(evidence))} {file_size(evidence.file_size)}".rstrip())
    lines += ["", _("Send documents or photos here to add more (at most 20 MB each). Tap a file to "
                    "get it back, 🗑 to remove it.")]  # fmt: skip
    return "\n".join(lines)


def evidence_keyboard(view: SheetView, criterion: Criterion, editing: bool = True) -> InlineKeyboardMarkup:
    entry = view.entry(criterion.id)
    sheet = view.sheet
    rows = []
    for i, evidence in enumerate(entry.evidence if entry else [], 1):
        row = [_button(label(f"{i}. {evidence_name(evidence)}", 40), "f", sheet, evidence.id)]
        if editing:
            row.append(_button("🗑", "x", sheet, evidence.id))
        rows.append(row)
    rows.append([_button(_("« Back to {code}").format(code=criterion.code[:16]), "c", sheet, criterion.id)])
    return InlineKeyboardMarkup(rows)


# ------------------------------------------------------------------------------ shared helpers


async def send_evidence_files(bot, chat_id: int, files: Iterable, caption: Callable[[object], str]) -> None:
    """Send evidence back to the person who asked, by Telegram file id: no download, no
    upload. A direct reply, sent at once; a file Telegram refuses (an id from another bot
    token, a file it lost, a network error) is logged and the others still go."""
    for evidence in files:
        try:
            if evidence.kind == EvidenceKind.PHOTO:
                await bot.send_photo(chat_id, evidence.telegram_file_id, caption=caption(evidence))
            else:
                await bot.send_document(chat_id, evidence.telegram_file_id, caption=caption(evidence))
        except TelegramError as exc:
            log.warning("could not resend evidence %s to chat %s: %s", evidence.id, chat_id, exc)


def evidence_caption(code: str) -> Callable[[object], str]:
    def caption(evidence) -> str:
        return _("Evidence for {code}: {name}").format(code=escape(code), name=escape(evidence_name(evidence)))[:1000]

    return caption


async def actor_for_sheet(turn: Turn, sheet_id: int) -> Actor:
    """The person pressing a button about a sheet, in the sheet's cluster."""
    if turn.person is None:
        raise stale()
    return await service.actor_for_sheet(turn.session, turn.person.id, sheet_id)


# ------------------------------------------------------------------------------ showing


async def show_card(turn: Turn, view: SheetView, criterion: Criterion, *, edit: bool, notice: str | None = None) -> None:
    """Show a criterion and wait for its value (typed) or evidence (sent)."""
    await expect(turn, VALUE_STEP, sheet_id=view.sheet.id, criterion_id=criterion.id, version=view.sheet.version)
    text, markup = card_text(view, criterion, notice), card_keyboard(view, criterion)
    (turn.edit if edit else turn.reply)(text, markup)


async def show_summary(turn: Turn, view: SheetView, *, edit: bool, notice: str | None = None) -> None:
    await done(turn)
    (turn.edit if edit else turn.reply)(summary_text(view, notice), summary_keyboard(view))


async def resume(turn: Turn, view: SheetView, *, edit: bool, notice: str | None = None) -> None:
    """Where the person left off: the first criterion without a score, else the summary."""
    following = view.next_unscored()
    if following is None or view.sheet.status != SheetStatus.DRAFT:
        await show_summary(turn, view, edit=edit, notice=notice)
    else:
        await show_card(turn, view, following, edit=edit, notice=notice)


async def after_value(turn: Turn, view: SheetView, criterion: Criterion, *, edit: bool) -> None:
    """Scoring moves on: the next criterion in table order; after the last, the first one still
    missing, else the summary."""
    notice = _("✅ Saved {code}: {value}.").format(
        code=escape(criterion.code), value=points(str(criterion.kind), view.entry(criterion.id).self_value))
    position = view.position(criterion.id)
    following = view.criteria[position + 1] if position + 1 < view.size else view.next_unscored()
    if following is None:
        await show_summary(turn, view, edit=edit, notice=notice)
    else:
        await show_card(turn, view, following, edit=edit, notice=notice)


async def reload_after_conflict(turn: Turn) -> None:
    """Start the update's reading over after a write that lost (`StaleDataError` at the flush:
    another update wrote the row first) or was refused as stale: roll back, and forget every
    object loaded so far. The rollback expires them, and an expired attribute read later would
    be loaded lazily, which async SQLAlchemy cannot do (`MissingGreenlet`); so what is shown
    next is read again, explicitly, as it is now in the database, with the change that won.
    The update stays recorded (`Turn.roll_back`)."""
    session = turn.session
    person = inspect(turn.person).identity if turn.person is not None else None
    cluster = inspect(turn.cluster).identity if turn.cluster is not None else None
    await turn.roll_back()
    session.expunge_all()
    if person is not None:
        turn.person = await session.get(Person, person)
    if cluster is not None:
        turn.cluster = await session.get(Cluster, cluster)


async def refresh_after_stale(turn: Turn, sheet_id: int, criterion_id: int | None, message: str, *, edit: bool,
                              repeat: Callable[[SheetView, Actor], Awaitable[None]] | None = None) -> None:  # fmt: skip
    """Nothing was saved: show the sheet as it is now (and wait with its current version).
    `repeat` may still say (a `Refusal`) that the sheet is as this person's action leaves
    it: the write lost to their own other tap, processed at the same time."""
    await reload_after_conflict(turn)
    actor = await actor_for_sheet(turn, sheet_id)
    view = await service.load(turn.session, actor, sheet_id)
    if repeat is not None:
        await repeat(view, actor)
    if turn.update.callback_query is not None:
        turn.answer(message[:200], alert=True)
    criterion = view.criterion(criterion_id) if criterion_id is not None else None
    if view.sheet.status != SheetStatus.DRAFT or criterion is None:
        await show_summary(turn, view, edit=edit, notice=None if edit else message)
    else:
        await show_card(turn, view, criterion, edit=edit, notice=None if edit else message)


# ------------------------------------------------------------------------------ /score


@rerunnable("score")
async def start(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Use /score in a private chat with me: a score sheet is your unit's business."))
    acting = await acting_in(turn, "score")
    if acting is None:
        return
    cluster, actor = acting
    units = await service.own_units(turn.session, actor)
    if not units:
        actor.require(Action.EDIT_SCORES)
        raise Refusal(_("Only a unit's representatives score its sheet."))
    if len(units) > 1:
        rows = [[InlineKeyboardButton(label(u.name), callback_data=callbacks.ScoreUnit(cluster.id, u.id).pack())]
                for u in units]  # fmt: skip
        turn.reply(_("You represent several units. Which unit's sheet?"), InlineKeyboardMarkup(rows))
        return
    try:
        view = await service.open_sheet(turn.session, actor, units[0].id)
    except Refusal as refusal:  # outside the phase, most often: say where the sheet can be seen
        raise Refusal(refusal.message + "\n\n" + _("Your unit's sheet and its scores: /scores.")) from None
    await resume(turn, view, edit=False)


score_command = handler(start)


def _arg(press: callbacks.Button) -> int | None:
    """The criterion, page or evidence file a sheet's button names."""
    if isinstance(press, callbacks.ScoreCriterion | callbacks.ScoreQuick):
        return press.criterion_id
    if isinstance(press, callbacks.ScoreList):
        return press.page
    if isinstance(press, callbacks.ScoreEvidence):
        return press.evidence_id
    return None


@handler
async def button(update: Update, context: BotContext, turn: Turn) -> None:
    press = pressed(update, callbacks.SCORE)
    if isinstance(press, callbacks.ScoreUnit):
        if turn.person is None:
            raise stale()
        actor = await actor_in(turn.session, turn.person.id, press.cluster_id)
        view = await service.open_sheet(turn.session, actor, press.unit_id)
        await resume(turn, view, edit=True)
        return
    action, sheet_id, version = press.key, press.sheet_id, press.version
    actor = await actor_for_sheet(turn, sheet_id)
    number_arg = _arg(press)
    value = press.value if isinstance(press, callbacks.ScoreQuick) else None
    try:
        await _pressed(update, context, turn, actor, action, sheet_id, version, value, number_arg)
    except StaleSheet as error:
        await refresh_after_stale(turn, sheet_id, number_arg if action in ("q", "c", "n", "N", "e") else None, error.message, edit=True,
                                  repeat=service.check_submit_repeat if action == "P" else None)  # fmt: skip


async def _pressed(update: Update, context: BotContext, turn: Turn, actor: Actor, action: str, sheet_id: int,
                   version: int, value: Decimal | None, arg: int | None) -> None:  # fmt: skip
    if action == "q":  # a quick value
        view = await service.set_self_value(turn.session, actor, sheet_id, arg, value, version)
        await after_value(turn, view, view.criterion(arg), edit=True)
        return
    if action == "f":  # send a file back (reading: no version check)
        criterion, evidence = await service.evidence_to_resend(turn.session, actor, sheet_id, arg or 0)
        chat_id = update.effective_chat.id
        turn.answer()
        caption = evidence_caption(criterion.code)
        turn.after_commit(lambda: send_evidence_files(context.bot, chat_id, [evidence], caption))
        return
    if action == "P":  # before `editable`, which refuses a submitted sheet: a second tap is said as done
        await _submit(context, turn, actor, sheet_id, version)
        return
    view = await service.editable(turn.session, actor, sheet_id, None)
    if action == "c":
        criterion = view.criterion(arg or 0)
        if criterion is None:
            raise stale()
        await show_card(turn, view, criterion, edit=True)
    elif action == "l":
        await done(turn)
        turn.edit(list_text(view, arg or 0), list_keyboard(view, arg or 0))
    elif action == "s":
        await show_summary(turn, view, edit=True)
    elif action == "n":
        criterion = view.criterion(arg or 0)
        if criterion is None:
            raise stale()
        await expect(turn, NOTE_STEP, sheet_id=sheet_id, criterion_id=criterion.id, version=view.sheet.version)
        entry = view.entry(criterion.id)
        rows = [[_button(_("« Back to {code}").format(code=criterion.code[:16]), "c", view.sheet, criterion.id)]]
        if entry is not None and entry.note:
            rows.insert(0, [_button(_("🗑 Remove the note"), "N", view.sheet, criterion.id)])
        turn.edit(
            header(view) + "\n\n" + f"<b>{escape(criterion.code)}</b>. {escape(criterion.text)}\n"
            + (_("📝 Note now: {note}").format(note=escape(entry.note)) + "\n" if entry and entry.note else "")
            + _("Type a note for this criterion (at most {max} characters): what was done, where the "
                "proof is. /cancel to stop.").format(max=service.MAX_NOTE),
            InlineKeyboardMarkup(rows),
        )  # fmt: skip
    elif action == "N":
        view = await service.set_note(turn.session, actor, sheet_id, arg or 0, None, version)
        await show_card(turn, view, view.criterion(arg or 0), edit=True, notice=_("🗑 The note is removed."))
    elif action == "e":
        criterion = view.criterion(arg or 0)
        if criterion is None:
            raise stale()
        await expect(turn, VALUE_STEP, sheet_id=sheet_id, criterion_id=criterion.id, version=view.sheet.version)
        turn.edit(evidence_text(view, criterion), evidence_keyboard(view, criterion))
    elif action == "x":
        view, criterion = await service.remove_evidence(turn.session, actor, sheet_id, arg or 0, version)
        await expect(turn, VALUE_STEP, sheet_id=sheet_id, criterion_id=criterion.id, version=view.sheet.version)
        turn.answer(_("🗑 Removed."))
        turn.edit(evidence_text(view, criterion), evidence_keyboard(view, criterion))
    elif action == "p":
        if view.sheet.version != version:
            raise StaleSheet(sheet_id)
        await done(turn)
        totals = view.totals(arithmetic.SELF)
        turn.edit(
            summary_text(view) + "\n\n" + _(
                "Submit the sheet of {unit} with a total of <b>{total}</b> points? After that it is locked "
                "for verification; only the chair can reopen it, before the scoring deadline."
            ).format(unit=escape(view.unit.name), total=fmt.number(totals.total)),
            InlineKeyboardMarkup([
                [_button(_("✅ Yes, submit"), "P", view.sheet)],
                [_button(_("« Not yet"), "s", view.sheet)],
            ]),
        )  # fmt: skip
    else:
        raise stale()


async def _submit(context: BotContext, turn: Turn, actor: Actor, sheet_id: int, version: int) -> None:
    view = await service.submit(turn.session, actor, sheet_id, version)  # the unit's other representatives are told
    await show_summary(turn, view, edit=True, notice=_("✅ The sheet is submitted."))


# ------------------------------------------------------------------------------ typed input


def _evidence_file(message: Message | None) -> EvidenceFile | None:
    if message is None:
        return None
    if message.document is not None:
        d = message.document
        return EvidenceFile(d.file_id, d.file_unique_id, d.file_name, d.file_size, d.mime_type, EvidenceKind.DOCUMENT)
    if message.photo:
        p = message.photo[-1]  # the largest size
        return EvidenceFile(p.file_id, p.file_unique_id, None, p.file_size, "image/jpeg", EvidenceKind.PHOTO)
    return None


async def _step_view(turn: Turn, data: dict) -> tuple[Actor, SheetView, Criterion] | None:
    """The sheet and criterion a step waits for, or None after explaining why not (done)."""
    sheet_id, criterion_id = data.get("sheet_id") or 0, data.get("criterion_id")
    try:
        actor = await actor_for_sheet(turn, sheet_id)
    except Refusal:
        await done(turn)
        turn.reply(_("That sheet no longer exists. Send /score to start again."))
        return None
    try:
        view = await service.editable(turn.session, actor, sheet_id, None)
    except Refusal as refusal:
        await done(turn)
        turn.reply(refusal.message + "\n" + _("I am no longer waiting for a score."))
        return None
    criterion = view.criterion(criterion_id or 0)
    if criterion is None:
        await done(turn)
        turn.reply(_("That criterion is no longer in the table. Send /score to start again."))
        return None
    return actor, view, criterion


@on_input(VALUE_STEP)
async def typed_value(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    found = await _step_view(turn, data)
    if found is None:
        return
    actor, view, criterion = found
    message = update.effective_message
    evidence = _evidence_file(message)
    try:
        if evidence is not None:
            service.check_evidence_size(evidence)
            view, added = await service.add_evidence(turn.session, actor, view.sheet.id, criterion.id, evidence)
            await expect(turn, VALUE_STEP, sheet_id=view.sheet.id, criterion_id=criterion.id, version=view.sheet.version)
            count = len(view.entry(criterion.id).evidence)
            turn.reply(
                _("📎 Attached to {code}: {name} (evidence files now: {n}). Send more, or go on.").format(
                    code=escape(criterion.code), name=escape(evidence_name(added)), n=count),
                InlineKeyboardMarkup([[_button(_("« Back to {code}").format(code=criterion.code[:16]), "c",
                                               view.sheet, criterion.id)]]),
            )  # fmt: skip
            return
        text = message.text if message is not None else None
        if text is None:
            raise Refusal(
                _("I am waiting for the score of {code} as a number. {range} Documents and photos are "
                  "attached as evidence.").format(code=escape(criterion.code), range=range_text(
                    str(criterion.kind), criterion.max_points, view.table.bonus_cap))
            )  # fmt: skip
        value = parse_score(text, str(criterion.kind), criterion.max_points, view.table.bonus_cap)
        view = await service.set_self_value(turn.session, actor, view.sheet.id, criterion.id, value, data.get("version"))
    except StaleSheet as error:
        await refresh_after_stale(turn, view.sheet.id, criterion.id, error.message, edit=False)
        return
    await after_value(turn, view, criterion, edit=False)


@on_input(NOTE_STEP)
async def typed_note(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    found = await _step_view(turn, data)
    if found is None:
        return
    actor, view, criterion = found
    message = update.effective_message
    text = message.text if message is not None else None
    if not text or not text.strip():
        raise Refusal(_("I am waiting for the note as a text message. /cancel to stop."))
    try:
        view = await service.set_note(turn.session, actor, view.sheet.id, criterion.id, text, data.get("version"))
    except StaleSheet as error:
        await refresh_after_stale(turn, view.sheet.id, criterion.id, error.message, edit=False)
        return
    await show_card(turn, view, criterion, edit=False, notice=_("📝 The note is saved."))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("score", score_command))
    app.add_handler(callback_handler(callbacks.SCORE, button))

