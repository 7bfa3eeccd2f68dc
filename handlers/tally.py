"""/tally and /result: the chair counts the year in the group; anyone in the cluster reads the
stored result. The count, its storage and what it sends are `bot.services.tally`; here only the
confirmation, the buttons under the result (a runoff, next year) and the replies.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks
from bot.errors import Refusal
from bot.i18n import _
from bot.services import tally as service
from bot.services.actors import actor_in
from bot.views import tally as views
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch
from handlers.clusters import cluster_for, rerunnable


def _button(text: str, press: callbacks.Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=press.pack())


async def _actor(turn: Turn):
    if turn.person is None:  # an anonymous group administrator: nobody to check
        raise Refusal(_("Send this from your own account (not as the group): who counts must be known."))
    if turn.cluster is None:
        raise Refusal(_("Count in the cluster's group: /tally there."))
    return await actor_in(turn.session, turn.person.id, turn.cluster.id)


async def tally(update: Update, context: BotContext, turn: Turn) -> None:
    if turn.private:
        turn.reply(_("The count is public: the chair types /tally in the cluster's group, where the result is posted."))
        return
    actor = await _actor(turn)
    prepared = await service.prepare(turn.session, actor)
    text = views.confirm(service.open_titles(prepared.open_ballots),
                         prepared.previous.number if prepared.previous else None)  # fmt: skip
    turn.reply(text, InlineKeyboardMarkup([[
        _button(_("✅ Count now"), callbacks.TallyConfirm("y", prepared.year.id, prepared.newest_ballot)),
        _button(_("✖️ Not now"), callbacks.TallyConfirm("n", prepared.year.id, prepared.newest_ballot)),
    ]]))  # fmt: skip


async def confirm_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.TallyConfirm) -> None:
    actor = await _actor(turn)
    if press.action == "n":
        await service.prepare(turn.session, actor, year_id=press.year_id)  # only who may count cancels it
        turn.edit(_("Not counted."))
        return
    counted = await service.count(turn.session, actor, year_id=press.year_id, who=update.effective_user.full_name,
                                  newest_ballot=press.newest_ballot)  # fmt: skip
    if counted.row is None:
        turn.edit(_("Nothing new since count {number}: the result stands (/result shows it).").format(
            number=counted.previous.number))  # fmt: skip
        return
    turn.edit(_("✅ Count {number} is stored; the result follows, and the papers go to the secretariat and the chair.").format(
        number=counted.row.number))  # fmt: skip


async def runoff_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.TallyRunoff) -> None:
    actor = await _actor(turn)
    await service.open_runoff(turn.session, actor, press.result_id, press.index, who=update.effective_user.full_name)
    turn.answer(_("The runoff is open and announced; count again with /tally when it has closed."))


async def next_year_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.TallyNextYear) -> None:
    actor = await _actor(turn)
    if press.action == "c":
        plan = await service.next_year_plan(turn.session, actor, press.result_id)
        text = views.next_year_question(plan.year.year + 1, plan.chair.name, plan.vice.name if plan.vice else None)
        turn.reply(text, InlineKeyboardMarkup([[
            _button(_("✅ Start {year}").format(year=plan.year.year + 1), callbacks.TallyNextYear("s", press.result_id)),
        ]]))  # fmt: skip
        turn.answer()
        return
    started = await service.start_next_year(turn.session, actor, press.result_id)
    turn.edit(_("✅ The emulation year {year} has started; the group is told.").format(year=started.year.year))


@rerunnable("result")
async def result(update: Update, context: BotContext, turn: Turn) -> None:
    cluster = await cluster_for(turn, "result")
    if cluster is None:
        return
    if turn.person is None:  # an anonymous group administrator: the result is the group's anyway
        raise Refusal(_("Send this from your own account (not as the group): who counts must be known."))
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    for page in await service.summary_pages(turn.session, actor, cluster):
        turn.reply(page)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("tally", handler(tally)))
    app.add_handler(CommandHandler("result", handler(result)))
    app.add_handler(dispatch(callbacks.TALLY, {
        callbacks.TallyConfirm: confirm_pressed, callbacks.TallyRunoff: runoff_pressed,
        callbacks.TallyNextYear: next_year_pressed,
    }))  # fmt: skip
