"""/table: see the year's scoring table, download it (.xlsx, .csv), replace it from a file.

Everyone in the cluster may see and download the table; the administrator and the
secretariat may replace it until scoring opens (the rule is in `bot.services.tables`).
Replacing waits for the person's next private message (`handlers.awaiting`): a file is read
whole and either saved or answered with every problem found, and the bot keeps waiting until
a valid file arrives or the person sends /cancel.

The awaited file is downloaded before the update's unit of work opens (`fetch_upload`, a
handler of an earlier group that sees the same update first), so no transaction waits on
Telegram; the step then hands the bytes to `bot.services.tables.replace_from_file`.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot import callbacks
from bot.errors import Refusal
from bot.fmt import number
from bot.i18n import _
from bot.permissions import Action
from bot.scoring_table import (
    BONUS,
    DEDUCTION,
    NORMAL,
    TableError,
    TableSpec,
    to_csv,
    to_xlsx,
)
from bot.services import tables
from bot.services.actors import Actor, actor_in
from bot.services.clusters import current_year
from handlers.awaiting import INPUT_FLOW, done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from handlers.clusters import cluster_for, rerunnable
from storage.models import Cluster, EmulationYear

log = logging.getLogger(__name__)

UPLOAD_STEP = "table_upload"
TEXT_BUDGET = 3800  # of Telegram's 4096, with room for the markup the count includes
_FETCHED = "table_upload"  # the context attribute the downloaded bytes wait in for the step
_EXPORT, _CSV, _REPLACE = "xlsx", "csv", "new"
_MINUS = "−"


# ------------------------------------------------------------------------------ rendering


def render_table(cluster_name: str, year: int, spec: TableSpec, locked: bool) -> str:
    """The table as a message, group by group; cut (with a note) to fit one message."""
    head = [
        _("<b>Scoring table {year}</b> — {cluster}").format(year=year, cluster=escape(cluster_name)),
        _("🔒 Locked: scoring has opened.") if locked
        else _("It can be replaced until scoring opens."),
        "",
    ]  # fmt: skip
    bonus = spec.of_kind(BONUS)
    foot = [
        "",
        _("Normal criteria: <b>{total}</b> points.").format(total=number(spec.normal_total)),
    ]
    if bonus:
        foot.append(_("Bonus points: at most <b>{cap}</b> counted.").format(cap=number(spec.bonus_cap)))
    foot.append(_("A unit's score = normal criteria + bonus (capped) − deductions."))
    body: list[str] = []
    groups = _runs(spec)
    used = sum(len(x) + 1 for x in head + foot)
    shown = 0
    for group, criteria in groups:
        heading = f"<b>{escape(group)}</b>"
        if all(c.kind == NORMAL for c in criteria):
            subtotal = sum((c.max_points for c in criteria), Decimal(0))
            heading += " " + _("({points} points)").format(points=number(subtotal))
        lines = [heading]
        for c in criteria:
            sign = {BONUS: "+", DEDUCTION: _MINUS}.get(c.kind, "")
            lines.append(f"{escape(c.code)}. {escape(c.text)} — <b>{sign}{number(c.max_points)}</b>")
        block = "\n".join(lines)
        if used + len(block) + 200 > TEXT_BUDGET:
            rest = len(spec.criteria) - shown
            body.append(
                "… " + _("and {n} more criteria: download the file to see the whole table.").format(n=rest)
            )
            break
        body.append(block)
        used += len(block) + 1
        shown += len(criteria)
    return "\n".join(head + ["\n\n".join(body)] + foot)


def _runs(spec: TableSpec) -> list[tuple[str, list]]:
    runs: list[tuple[str, list]] = []
    for c in spec.criteria:
        if runs and runs[-1][0] == c.group:
            runs[-1][1].append(c)
        else:
            runs.append((c.group, [c]))
    return runs


def keyboard(cluster_id: int, can_replace: bool) -> InlineKeyboardMarkup:
    rows = [[
        InlineKeyboardButton("⬇️ Excel (.xlsx)", callback_data=callbacks.TableAction(_EXPORT, cluster_id).pack()),
        InlineKeyboardButton("⬇️ CSV", callback_data=callbacks.TableAction(_CSV, cluster_id).pack()),
    ]]  # fmt: skip
    if can_replace:
        rows.append([
            InlineKeyboardButton(_("📤 Replace the table"), callback_data=callbacks.TableAction(_REPLACE, cluster_id).pack())
        ])  # fmt: skip
    return InlineKeyboardMarkup(rows)


def render_problems(error: TableError) -> str:
    """Every problem, by row, as fits in one message; the rest counted."""
    lines = [
        _("The file has problems, so nothing was saved ({n} found). Fix them and send the file "
          "again, or send /cancel:").format(n=len(error.problems)),
        "",
    ]  # fmt: skip
    used = sum(len(x) + 1 for x in lines)
    for shown, problem in enumerate(error.problems):
        message = problem.message[:1].upper() + problem.message[1:]
        if problem.row is not None:
            message = _("Row {row}: {problem}").format(row=problem.row, problem=problem.message)
        line = "• " + escape(message)
        if used + len(line) + 100 > TEXT_BUDGET:
            lines.append("… " + _("and {n} more problems.").format(n=len(error.problems) - shown))
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def upload_instructions(total: Decimal) -> str:
    return _(
        "Send me the new scoring table as a file: Excel (.xlsx) or CSV (.csv), at most 5 MB.\n\n"
        "Columns: <b>Nhóm tiêu chí</b> (group), <b>Mã</b> (code), <b>Tiêu chí</b> (criterion), "
        "<b>Điểm tối đa</b> (maximum points), <b>Loại</b> (kind: thường, thưởng or trừ).\n"
        "The normal criteria must add up to the total: {total} points, unless a line of kind "
        "<b>tổng</b> gives another total. A line of kind <b>trần điểm thưởng</b> caps the "
        "bonus points.\n"
        "Tip: download the current table with the buttons above, edit it, and send it back.\n\n"
        "Nothing is saved until the whole file is valid. Send /cancel to stop."
    ).format(total=number(total))


# ------------------------------------------------------------------------------ helpers


async def _year(turn: Turn, cluster: Cluster) -> EmulationYear:
    year = await current_year(turn.session, cluster.id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    return year


async def _view(turn: Turn, cluster: Cluster, year: EmulationYear, actor: Actor) -> tuple[str, InlineKeyboardMarkup]:
    table = await tables.ensure_default_table(turn.session, year.id)
    locked = await tables.is_locked(turn.session, year.id)
    text = render_table(cluster.name, year.year, tables.spec_of(table), locked)
    return text, keyboard(cluster.id, actor.may(Action.MANAGE_TABLE) and not locked)


# ------------------------------------------------------------------------------ handlers


@rerunnable("table")
async def show_table(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Use /table in a private chat with me."))
    cluster = await cluster_for(turn, "table")
    if cluster is None:
        return
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    tables.check_can_view(actor)
    year = await _year(turn, cluster)
    turn.reply(*await _view(turn, cluster, year, actor))


table_command = handler(show_table)


async def pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.TableAction) -> None:
    cluster = await turn.session.get(Cluster, press.cluster_id)
    if cluster is None or turn.person is None:
        raise stale()
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    tables.check_can_view(actor)
    year = await _year(turn, cluster)
    if press.action == _REPLACE:
        await tables.check_can_replace(turn.session, actor, year.id)
        await expect(turn, UPLOAD_STEP, cluster_id=cluster.id)
        turn.reply(upload_instructions(tables.default_normal_total(cluster)))
        return
    spec = tables.spec_of(await tables.ensure_default_table(turn.session, year.id))
    if press.action == _EXPORT:
        data, filename = to_xlsx(spec), f"bang-cham-diem-{year.year}.xlsx"
    else:
        data, filename = to_csv(spec), f"bang-cham-diem-{year.year}.csv"
    caption = _("Scoring table {year} — {cluster}").format(year=year.year, cluster=escape(cluster.name))
    turn.answer()
    turn.reply_file(data, filename, caption)


@on_input(UPLOAD_STEP)
async def receive_file(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    cluster = await turn.session.get(Cluster, data.get("cluster_id") or 0)
    try:
        if cluster is None:
            raise Refusal(_("This cluster no longer exists."))
        actor = await actor_in(turn.session, turn.person.id, cluster.id)
        year = await _year(turn, cluster)
        await tables.check_can_replace(turn.session, actor, year.id)
    except Refusal as refusal:  # waiting longer would not help: stop waiting, and say why
        await done(turn)
        turn.reply(refusal.message + "\n" + _("I am no longer waiting for a table file."))
        return
    message = update.effective_message
    document = message.document if message is not None else None
    if document is None:
        turn.reply(
            _("I am waiting for the scoring table as a file (.xlsx or .csv): attach it with 📎. "
              "Send /cancel to stop.")
        )  # fmt: skip
        return
    name = document.file_name or ""
    if not tables.is_table_file(name):
        turn.reply(_("{name} is not a table file. Send an Excel (.xlsx) or CSV (.csv) file, or /cancel.").format(
            name=escape(name)))  # fmt: skip
        return
    if not tables.fits_upload(document.file_size):
        turn.reply(tables.too_big())
        return
    content: bytes | None = getattr(context, _FETCHED, None)
    if content is None:  # Telegram did not give the file (`fetch_upload` logged why)
        turn.reply(_("I could not get the file from Telegram. Please send it again, or /cancel."))
        return
    try:
        spec = await tables.replace_from_file(turn.session, actor, year.id, content, name, cluster)
    except TableError as error:
        turn.reply(render_problems(error))
        return
    await done(turn)
    text, markup = await _view(turn, cluster, year, actor)
    turn.reply(
        _("✅ The scoring table is replaced: {count} criteria.").format(count=len(spec.criteria))
        + "\n\n" + text,
        markup,
    )


async def fetch_upload(update: Update, context: BotContext) -> None:
    """Download a private document before the update's unit of work, when it is the awaited
    table file (a file a table can be, within 5 MB): the bytes wait on the update's context
    for `receive_file`. Nothing else is downloaded (evidence never is), and nothing is decided
    here: the step checks the person, the table and the file again."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    document = message.document if message is not None else None
    if document is None or user is None or chat is None:
        return
    if not tables.is_table_file(document.file_name) or not tables.fits_upload(document.file_size):
        return
    if not await tables.upload_awaited(context.db, user.id, chat.id, INPUT_FLOW, UPLOAD_STEP):
        return
    try:
        telegram_file = await context.bot.get_file(document.file_id)
        content = bytes(await telegram_file.download_as_bytearray())
    except TelegramError:
        log.warning("could not download the table file of update %s", update.update_id, exc_info=True)
        return
    setattr(context, _FETCHED, content)


def register(app: Application) -> None:
    # Group -1 sees a private document before the awaited step's handler (group 0) does.
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL, fetch_upload), group=-1)
    app.add_handler(CommandHandler("table", table_command))
    app.add_handler(dispatch(callbacks.TABLE, {callbacks.TableAction: pressed}))
