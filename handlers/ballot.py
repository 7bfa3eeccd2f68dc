"""/ballot: secret ballots. The chair (or the administrator) opens one in the voting phase and
closes it; each unit's representative fills in the unit's paper in private and casts it.

A paper being filled in is only this chat's message: its buttons carry the marks so far
(`callbacks.VoteMark`), so nothing about a unit's choice is stored until the paper is cast —
and then without the unit (`bot/services/ballots.py`). Every press re-reads the ballot: a
closed ballot, a unit that voted meanwhile (another representative), a forged position, all
get a clear answer and change nothing.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import ballots as rules
from bot import callbacks, fmt
from bot.errors import Refusal
from bot.i18n import _, ngettext
from bot.permissions import Action
from bot.services import ballot_access as access
from bot.services import ballots as service
from bot.services import tally as tally_service
from bot.services.actors import Actor, actor_in
from bot.services.clusters import current_year
from bot.services.phases import cluster_timezone
from bot.views import ballots as views
from bot.views import tally as tally_views
from bot.views.pledges import name_text
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from handlers.clusters import cluster_for, rerunnable
from storage.models import Ballot, BallotKind, Cluster, EmulationYear, utcnow

START_PREFIX = "vote-"  # t.me/<bot>?start=vote-<ballot id>
NAME_ON_REVIEW = 40  # 90 choices × (40 + 3) characters stay well under Telegram's 4096


def _button(text: str, press: callbacks.Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=press.pack())


# ------------------------------------------------------------------------------ the list


async def _menu(turn: Turn, cluster: Cluster, actor: Actor | None) -> tuple[str, InlineKeyboardMarkup | None]:
    year = await current_year(turn.session, cluster.id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    found = await service.overview(turn.session, actor, year)
    lines = [_("🗳 <b>Secret ballots</b> — {cluster}, {year}").format(cluster=escape(cluster.name), year=year.year)]
    rows: list[list[InlineKeyboardButton]] = []
    for line in found.ballots:
        ballot = line.ballot
        lines.append(views.turnout_line(ballot.kind, ballot.label, line.cast, line.eligible))
        if turn.private:
            for unit in line.my_units:
                rows.append([_button(_("🗳 Vote: {title} — {unit}").format(
                    title=views.kind_name(ballot.kind), unit=unit.name[:40]), callbacks.VoteUnit(ballot.id, unit.id))])  # fmt: skip
        if actor is not None and actor.may(Action.MANAGE_BALLOTS):
            rows.append([_button(_("⏹ Close: {title}").format(title=views.kind_name(ballot.kind)),
                                 callbacks.BallotClose("c", ballot.id)),
                         _button(_("🔔 Remind"), callbacks.BallotClose("r", ballot.id))])  # fmt: skip
    if not found.ballots:
        lines.append(_("No ballot is open."))
    for kind in found.openable:
        rows.append([_button(_("➕ Open: {title}").format(title=views.kind_name(kind)),
                             callbacks.BallotDraft("n", year.id, kind, service.quota_setting(cluster, kind),
                                                   int(service.self_vote_setting(cluster, kind)), 0, 0))])  # fmt: skip
    if actor is not None and actor.may(Action.CONFIGURE_CLUSTER):
        rows.append([_button(_("⚙️ Ballot defaults"), callbacks.BallotSettings("v", cluster.id, BallotKind.FLAG))])
    if found.ballots and not turn.private:
        lines.append(_("Representatives vote in a private chat with me: /ballot there."))
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


@rerunnable("ballot")
async def show(update: Update, context: BotContext, turn: Turn) -> None:
    cluster = await cluster_for(turn, "ballot")
    if cluster is None:
        return
    actor = await actor_in(turn.session, turn.person.id, cluster.id) if turn.person else None
    turn.reply(*await _menu(turn, cluster, actor))


async def _year_actor(turn: Turn, year_id: int) -> tuple[Cluster, EmulationYear, Actor]:
    found = await access.for_year(turn.session, turn.person.id if turn.person else None, year_id,
                                  turn.cluster.id if turn.cluster else None)  # fmt: skip
    return found.cluster, found.year, found.actor


async def menu_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.BallotMenu) -> None:
    cluster, _year, actor = await _year_actor(turn, press.year_id)
    turn.edit(*await _menu(turn, cluster, actor))


# ------------------------------------------------------------------------------ opening


def deadline_choices(now: dt.datetime, tz) -> list[dt.datetime]:
    """17:00 tomorrow, in 3 days and in 7 days (the cluster's time)."""
    today = now.astimezone(tz).date()
    return [dt.datetime.combine(today + dt.timedelta(days=d), dt.time(17), tzinfo=tz) for d in (1, 3, 7)]


async def draft_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.BallotDraft) -> None:
    cluster, year, actor = await _year_actor(turn, press.year_id)
    actor.require(Action.MANAGE_BALLOTS)
    tz = cluster_timezone(cluster)
    deadline = dt.datetime.fromtimestamp(press.at, tz=dt.UTC) if press.at else None
    picked = await service.chosen_units(turn.session, cluster.id, press.picked) if press.picked else []
    if press.action == "o":
        await service.open_ballot(turn.session, actor, year, press.kind, who=update.effective_user.full_name,
                                  quota=press.quota, self_vote=bool(press.self_vote), deadline=deadline,
                                  top=press.top or None, candidates=[u.id for u in picked] or None)  # fmt: skip
        text, markup = await _menu(turn, cluster, actor)
        turn.edit(_("✅ The ballot is open and announced in the group.") + "\n\n" + text, markup)
        return
    await service.check_can_open(turn.session, actor, year, press.kind)

    def again(action: str = "n", **changes) -> callbacks.BallotDraft:
        values = {"quota": press.quota, "self_vote": press.self_vote, "top": press.top, "at": press.at,
                  "picked": press.picked, **changes}  # fmt: skip
        return callbacks.BallotDraft(action, year.id, press.kind, **values)

    if press.action == "p":
        turn.edit(*await _picker(turn, cluster, press, again))
        return
    active = await service.active_units(turn.session, cluster.id)
    if picked:
        chosen = [u.id for u in picked]
        who = ngettext("Candidates: {count} chosen unit — {names}.", "Candidates: {count} chosen units — {names}.",
                       len(picked)).format(count=len(picked), names=", ".join(escape(u.name[:NAME_ON_REVIEW]) for u in picked))  # fmt: skip
    else:
        chosen, _mode = await service.candidates_of(turn.session, actor, cluster, active, top=press.top or None)
        if press.top:
            who = ngettext("Candidates: the top {top} by final score ({count} with ties).",
                           "Candidates: the top {top} by final score ({count} with ties).",
                           press.top).format(top=press.top, count=len(chosen))  # fmt: skip
        else:
            who = _("Candidates: every active unit ({count}).").format(count=len(chosen))
    lines = [
        _("🗳 <b>New secret ballot</b>: {title}").format(title=views.kind_name(press.kind)),
        who,
        _("Each unit marks at most {quota}.").format(quota=press.quota),
        _("A unit may vote for itself.") if press.self_vote else _("A unit cannot vote for itself."),
        _("Deadline: {deadline}.").format(deadline=fmt.datetime(deadline, tz)) if deadline
        else _("No deadline: the chair closes the vote."),
    ]  # fmt: skip
    candidates = len(chosen)

    rows = []
    quota_row = []
    if press.quota > 1:
        quota_row.append(_button(_("➖ Fewer choices"), again(quota=press.quota - 1)))
    if press.quota < min(candidates, callbacks.PAPER_SIZE):
        quota_row.append(_button(_("➕ More choices"), again(quota=press.quota + 1)))
    if quota_row:
        rows.append(quota_row)
    rows.append([_button(_("Forbid voting for oneself") if press.self_vote else _("Allow voting for oneself"),
                         again(self_vote=1 - press.self_vote))])  # fmt: skip
    if press.top:
        top_row = [_button(_("👥 Every active unit"), again(top=0))]
        if press.top > 1:
            top_row.append(_button(_("➖ Fewer at the top"), again(top=press.top - 1, quota=min(press.quota, press.top - 1))))
        if press.top < len(active) - 1:
            top_row.append(_button(_("➕ More at the top"), again(top=press.top + 1)))
        rows.append(top_row)
    elif len(active) > 2 and not picked:
        rows.append([_button(_("🏆 The top units by final score"), again(top=min(len(active) - 1, max(press.quota + 1, 3))))])
    if picked:
        rows.append([_button(_("👥 Every active unit"), again(picked=frozenset())),
                     _button(_("✍️ Change the chosen units"), again(action="p"))])  # fmt: skip
    elif len(active) > 1:
        rows.append([_button(_("✍️ Choose the candidates"), again(action="p", top=0))])
    now = utcnow()
    rows.append([_button(fmt.datetime(when, tz), again(at=int(when.timestamp())))
                 for when in deadline_choices(now, tz)])  # fmt: skip
    if press.at:
        rows.append([_button(_("No deadline"), again(at=0))])
    rows.append([_button(_("✅ Open the ballot"), again(action="o")),
                 _button(_("« Back"), callbacks.BallotMenu(year.id))])  # fmt: skip
    turn.edit("\n".join(lines), InlineKeyboardMarkup(rows))


async def _picker(turn: Turn, cluster: Cluster, press: callbacks.BallotDraft, again) -> tuple[str, InlineKeyboardMarkup]:
    """The active units to tick one by one; each button carries the chosen set it leads to."""
    units = await service.pickable_units(turn.session, cluster.id)
    lines = [_("🗳 <b>New secret ballot</b>: {title}").format(title=views.kind_name(press.kind)),
             _("Tick the units that stand as candidates, then press Done.")]  # fmt: skip
    rows = []
    for position, unit in enumerate(units):
        if not unit.active:
            continue
        ticked = position in press.picked
        rows.append([_button(("✅ " if ticked else "▫️ ") + unit.name[:NAME_ON_REVIEW],
                             again(action="p", picked=press.picked ^ {position}))])  # fmt: skip
    count = len(press.picked)
    rows.append([_button(ngettext("Done ({count} chosen)", "Done ({count} chosen)", count).format(count=count),
                         again(quota=max(1, min(press.quota, count)) if count else press.quota))])  # fmt: skip
    return "\n".join(lines), InlineKeyboardMarkup(rows)


# ------------------------------------------------------------------------------ defaults


def settings_view(cluster: Cluster, year_id: int) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("⚙️ <b>Ballot defaults</b> — {cluster} (for ballots opened from now on)").format(
        cluster=escape(cluster.name))]  # fmt: skip
    rows = []
    for kind in BallotKind:
        quota, self_vote = service.quota_setting(cluster, kind), service.self_vote_setting(cluster, kind)
        lines.append(_("• {title}: at most {quota}; {self}").format(
            title=views.kind_name(kind), quota=quota,
            self=_("self-vote allowed") if self_vote else _("no self-vote")))  # fmt: skip
        rows.append([InlineKeyboardButton(views.kind_name(kind)[:60], callback_data=callbacks.NOOP)])
        rows.append([
            _button(f"➖ {quota}", callbacks.BallotSettings("d", cluster.id, kind)),
            _button(f"➕ {quota}", callbacks.BallotSettings("u", cluster.id, kind)),
            _button(_("Self-vote: yes") if self_vote else _("Self-vote: no"), callbacks.BallotSettings("t", cluster.id, kind)),
        ])  # fmt: skip
    board = service.board_choices_setting(cluster)
    lines.append(_("The ballot board lists each paper's tracker and choices.") if board
                 else _("The ballot board lists the trackers only, without the choices."))  # fmt: skip
    rows.append([_button(_("Board: trackers only") if board else _("Board: trackers and choices"),
                         callbacks.BallotSettings("b", cluster.id, BallotKind.FLAG))])  # fmt: skip
    count = tally_service.rules_of(cluster)
    lines += ["", _("<b>The count</b> (the cluster's regulation):"), *tally_views.rules_lines(count)]

    def rule(action: str, text: str) -> InlineKeyboardButton:
        return _button(text, callbacks.BallotSettings(action, cluster.id, BallotKind.FLAG))

    rows.append([rule("q", _("Quorum: {value}").format(value=tally_views.fraction_words(count.quorum))),
                 rule("h", _("Threshold: {value}").format(value=tally_views.fraction_words(count.threshold))),
                 rule("s", _("More than") if count.strict else _("At least"))])  # fmt: skip
    rows.append([rule("a", _("Basis: {value}").format(value=tally_views.basis_name(count.basis))),
                 rule("m", _("Method: {value}").format(value=tally_views.method_name(count.method)))])  # fmt: skip
    rows.append([_button(_("« Back"), callbacks.BallotMenu(year_id))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def settings_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.BallotSettings) -> None:
    found = await access.for_cluster(turn.session, turn.person.id if turn.person else None, press.cluster_id,
                                     turn.cluster.id if turn.cluster else None)  # fmt: skip
    found.actor.require(Action.CONFIGURE_CLUSTER)
    if press.action != "v":
        await service.change_setting(turn.session, found.actor, found.cluster, press.action, press.kind)
    turn.edit(*settings_view(found.cluster, found.year.id))


# ------------------------------------------------------------------------------ closing


async def _ballot_actor(turn: Turn, ballot_id: int) -> tuple[Cluster, Ballot, Actor]:
    found = await access.for_ballot(turn.session, turn.person.id if turn.person else None, ballot_id,
                                    turn.cluster.id if turn.cluster else None)  # fmt: skip
    return found.cluster, found.ballot, found.actor


async def close_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.BallotClose) -> None:
    cluster, ballot, actor = await _ballot_actor(turn, press.ballot_id)
    actor.require(Action.MANAGE_BALLOTS)
    if press.action == "r":
        reminded = await service.remind(turn.session, actor, ballot.id)
        turn.answer(ngettext("🔔 {count} unit reminded in private.", "🔔 {count} units reminded in private.",
                             reminded).format(count=reminded) if reminded
                    else _("Nobody to remind now: every unit voted or was reminded today."), alert=True)  # fmt: skip
        return
    if press.action == "c":
        cast, eligible = await service.turnout_of(turn.session, actor, ballot.id)
        turn.edit(
            _("⏹ Close the vote on {title} now? {cast}/{eligible} units have voted; the others can no "
              "longer vote, and the ballot board is published.").format(
                title=views.kind_name(ballot.kind), cast=cast, eligible=eligible),
            InlineKeyboardMarkup([[_button(_("⏹ Close the vote"), callbacks.BallotClose("y", ballot.id)),
                                   _button(_("« Back"), callbacks.BallotMenu(ballot.year_id))]]),
        )  # fmt: skip
        return
    closed = await service.close(turn.session, actor, ballot.id)
    turn.edit(_("⏹ Voting closed: {cast}/{eligible} units voted. The ballot board is in the group.").format(
        cast=closed.count.cast, eligible=closed.eligible))  # fmt: skip


# ------------------------------------------------------------------------------ voting


def paper_view(paper: service.Paper, marks: frozenset[int], note: str | None = None) -> tuple[str, InlineKeyboardMarkup]:
    ballot = paper.ballot
    lines = [
        _("🗳 <b>{title}</b>").format(title=views.title(ballot.kind, ballot.label, ballot.round)),
        _("Ballot paper of <b>{unit}</b>. Mark at most {quota}; marked: {count}.").format(
            unit=escape(paper.unit.name), quota=paper.quota, count=len(marks)),
        _("Nothing is recorded until you cast the paper."),
    ]  # fmt: skip
    if note:
        lines.insert(0, note)
    rows = [
        [_button(("☑️ " if pos in marks else "⬜ ") + paper.names.get(unit_id, "")[:60],
                 callbacks.VoteMark(ballot.id, paper.unit.id, marks, pos))]
        for pos, unit_id in enumerate(paper.on_paper)
    ]  # fmt: skip
    rows.append([_button(_("➡️ Review and cast"), callbacks.VoteStep("r", ballot.id, paper.unit.id, marks))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _positions(paper: service.Paper, marks: frozenset[int]) -> frozenset[int]:
    if any(pos >= len(paper.on_paper) for pos in marks):
        raise stale()
    return frozenset(paper.on_paper[pos] for pos in marks)


async def _voter(turn: Turn, ballot_id: int) -> Actor:
    if not turn.private:
        raise Refusal(_("Votes are cast in a private chat with me: send /ballot there."))
    if turn.person is None:
        raise service.ballot_gone()
    try:
        return (await access.for_ballot(turn.session, turn.person.id, ballot_id, None)).actor
    except Refusal:
        raise service.ballot_gone() from None


async def open_paper(turn: Turn, ballot_id: int) -> None:
    """The start link or the list: the paper of the person's unit (a picker for several)."""
    actor = await _voter(turn, ballot_id)
    units = await service.voting_units(turn.session, actor, ballot_id)
    waiting = [u for u, voted in units if not voted]
    if not units:
        raise Refusal(_("You do not represent a unit in this cluster."))
    if not waiting:
        raise Refusal(_("Your unit has already voted on this ballot. A cast paper is final."))
    if len(waiting) > 1:
        turn.reply(_("Which unit's paper?"), InlineKeyboardMarkup(
            [[_button(unit.name[:60], callbacks.VoteUnit(ballot_id, unit.id))] for unit in waiting]))  # fmt: skip
        return
    paper = await service.paper(turn.session, actor, ballot_id, waiting[0].id)
    turn.reply(*paper_view(paper, frozenset()))


async def open_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.VoteOpen) -> None:
    await open_paper(turn, press.ballot_id)


async def unit_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.VoteUnit) -> None:
    actor = await _voter(turn, press.ballot_id)
    paper = await service.paper(turn.session, actor, press.ballot_id, press.unit_id)
    turn.edit(*paper_view(paper, frozenset()))


async def mark_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.VoteMark) -> None:
    actor = await _voter(turn, press.ballot_id)
    paper = await service.paper(turn.session, actor, press.ballot_id, press.unit_id)
    if press.position >= len(paper.on_paper):
        raise stale()
    marked = _positions(paper, press.marks)
    chosen = rules.toggle(marked, paper.on_paper[press.position], paper.on_paper, paper.quota)
    marks = frozenset(pos for pos, unit_id in enumerate(paper.on_paper) if unit_id in chosen)
    turn.edit(*paper_view(paper, marks))


async def step_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.VoteStep) -> None:
    actor = await _voter(turn, press.ballot_id)
    if press.action == "c":
        paper = await service.paper(turn.session, actor, press.ballot_id, press.unit_id)
        chosen = _positions(paper, press.marks)
        cast = await service.cast(turn.session, actor, press.ballot_id, press.unit_id, chosen, abstain=not chosen)
        turn.edit(views.receipt(cast.unit.name, cast.tracker, cast.ballot.kind, cast.ballot.label))
        return
    paper = await service.paper(turn.session, actor, press.ballot_id, press.unit_id)
    chosen = _positions(paper, press.marks)
    if press.action == "e":
        turn.edit(*paper_view(paper, press.marks))
        return
    rules.check_cast(chosen, paper.on_paper, paper.quota, abstain=True)
    if chosen:
        names = [f"• {name_text(paper.names.get(u, ''), NAME_ON_REVIEW)}" for u in paper.on_paper if u in chosen]
        text = "\n".join([_("Your unit's choices:"), *names, "", _("Cast this paper? A cast paper is final.")])
        cast_label = _("🗳 Cast the paper")
    else:
        text = _("Nothing is marked: this is a blank paper (an abstention). Cast it? A cast paper is final.")
        cast_label = _("🗳 Cast a blank paper")
    turn.edit(text, InlineKeyboardMarkup([[
        _button(cast_label, callbacks.VoteStep("c", press.ballot_id, press.unit_id, press.marks)),
        _button(_("« Change"), callbacks.VoteStep("e", press.ballot_id, press.unit_id, press.marks)),
    ]]))  # fmt: skip


def ballot_id_of_start(payload: str) -> int | None:
    """`vote-<id>` from a start link; None for anything else."""
    if not payload.startswith(START_PREFIX):
        return None
    digits = payload[len(START_PREFIX):]
    if not digits.isascii() or not digits.isdigit() or len(digits) > 10 or int(digits) > callbacks.INT32_MAX:
        return None
    return int(digits)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("ballot", handler(show)))
    app.add_handler(dispatch(callbacks.BALLOT, {
        callbacks.BallotMenu: menu_pressed, callbacks.BallotDraft: draft_pressed, callbacks.BallotClose: close_pressed,
        callbacks.BallotSettings: settings_pressed,
    }))  # fmt: skip
    app.add_handler(dispatch(callbacks.VOTE, {
        callbacks.VoteOpen: open_pressed, callbacks.VoteUnit: unit_pressed, callbacks.VoteMark: mark_pressed,
        callbacks.VoteStep: step_pressed,
    }))  # fmt: skip

