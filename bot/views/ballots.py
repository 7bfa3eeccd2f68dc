"""What the group and the units read about a secret ballot: its announcement, the turnout,
the receipt, the close. Never a unit's choices (the board file is the only place papers are
shown, by tracker)."""

from __future__ import annotations

import datetime as dt
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import fmt
from bot.i18n import N_, _, ngettext
from storage.models.ballot import BallotKind

KIND_NAMES = {
    BallotKind.FLAG: N_("proposal for the emulation flag (Cờ thi đua)"),
    BallotKind.MERIT: N_("proposal for certificates of merit (Bằng khen)"),
    BallotKind.CHAIR: N_("election of next year's chair unit"),
    BallotKind.VICE_CHAIR: N_("election of next year's vice-chair unit"),
}


def kind_name(kind: BallotKind) -> str:
    return _(KIND_NAMES[kind])


def title(kind: BallotKind, label: str | None, round_: int = 1) -> str:
    text = kind_name(kind)
    if label:
        text += f" ({escape(label)})"
    if round_ > 1:
        text += " — " + _("round {round}").format(round=round_)
    return text


def vote_link(bot_username: str | None, ballot_id: int) -> InlineKeyboardMarkup | None:
    """The group's button: opens the private chat with the ballot, one tap."""
    if not bot_username:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("🗳 Vote in private"), url=f"https://t.me/{bot_username}?start=vote-{ballot_id}")]])  # fmt: skip


def vote_button(ballot_id: int) -> InlineKeyboardMarkup:
    """In a private chat: the button that opens the unit's paper."""
    from bot import callbacks  # the views build buttons; callbacks import the models' enums

    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("🗳 Open the ballot paper"), callback_data=callbacks.VoteOpen(ballot_id).pack())]])  # fmt: skip


def reminder(kind: BallotKind, label: str | None, deadline: dt.datetime | None, tz: ZoneInfo) -> str:
    lines = [_("🔔 Your unit has not voted yet: {title}.").format(title=title(kind, label))]
    if deadline is not None:
        lines.append(_("Voting closes at {deadline}.").format(deadline=fmt.datetime(deadline, tz)))
    return "\n".join(lines)


def opened(kind: BallotKind, label: str | None, candidates: int, quota: int, self_vote: bool,
           deadline: dt.datetime | None, tz: ZoneInfo, who: str) -> str:  # fmt: skip
    lines = [
        _("🗳 <b>Secret ballot opened</b>: {title}").format(title=title(kind, label)),
        ngettext("{count} candidate; each unit marks at most {quota}.",
                 "{count} candidates; each unit marks at most {quota}.", candidates).format(count=candidates, quota=quota),
        _("A unit may vote for itself.") if self_vote else _("A unit cannot vote for itself."),
        _("Voting closes at {deadline}.").format(deadline=fmt.datetime(deadline, tz)) if deadline
        else _("The chair closes the vote."),
        _("One representative of each unit votes, in private; the paper is secret and cannot be changed once cast."),
        _("— {person}").format(person=escape(who)),
    ]  # fmt: skip
    return "\n".join(lines)


def turnout(kind: BallotKind, label: str | None, cast: int, eligible: int, closed: bool) -> str:
    head = _("🗳 {title}").format(title=title(kind, label))
    count = _("{cast}/{eligible} units have voted").format(cast=cast, eligible=eligible)
    state = _("(closed)") if closed else _("(voting open)")
    return f"{head}\n{count} {state}"


def turnout_line(kind: BallotKind, label: str | None, cast: int, eligible: int) -> str:
    """One ballot in the /ballot list."""
    return _("• {title}: {cast}/{eligible} units have voted").format(title=title(kind, label), cast=cast,
                                                                      eligible=eligible)  # fmt: skip


def receipt(unit_name: str, tracker: str, kind: BallotKind, label: str | None) -> str:
    """To each representative of the unit that voted (the one who cast gets it as the reply)."""
    return "\n".join([
        _("✅ <b>{unit}</b> has voted: {title}.").format(unit=escape(unit_name), title=title(kind, label)),
        _("Your unit's paper tracker: <code>{tracker}</code>").format(tracker=tracker),
        _("Keep it to yourselves. When the vote closes, the ballot board lists every paper by its "
          "tracker: find yours there and check that it counts what your unit chose."),
    ])  # fmt: skip


def closed(kind: BallotKind, label: str | None, cast: int, eligible: int, abstaining: int, sha256: str,
           by_schedule: bool) -> str:  # fmt: skip
    lines = [
        _("⏹ <b>Voting closed</b>: {title}").format(title=title(kind, label)),
        _("Papers cast: {cast} of {eligible} units; blank papers: {blank}.").format(
            cast=cast, eligible=eligible, blank=abstaining),
        _("The ballot board (every paper by its tracker) is the file below; its SHA-256:"),
        f"<code>{sha256}</code>",
    ]
    if by_schedule:
        lines.append(_("— closed at its deadline"))
    return "\n".join(lines)


def board_caption(kind: BallotKind, label: str | None, sha256: str) -> str:
    return _("🗳 Ballot board — {title}\nSHA-256: {sha}").format(title=title(kind, label), sha=sha256)[:1000]
