"""What the pledge feature says, in one place for the replies (handlers) and the notices the
bot sends by itself (`bot.services.pledges` through the outbox): a pledge as a reviewer reads
it, the notices to reviewers and to a unit's representatives, the group's note about an
amendment, the group's signing message ("board") and the document's caption.

Pure: plain data in, Telegram HTML (user strings escaped) and buttons out, in the current
language. No database, no sending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, fmt, render
from bot import pledges as rules
from bot.i18n import N_, _, ngettext
from bot.pledge_document import PledgeDocument
from bot.pledges import Item, Op, Reviewer
from storage.models.pledge import PledgeStatus

NAME_MAX = 100
PAGE_BUDGET = 3900  # a page's characters, header included: under Telegram's 4096
BOARD_BUDGET = 3900  # UTF-16 units of the board's HTML; the parsed text is shorter, Telegram allows 4096
BOARD_NAME_MAX = 80

View = tuple[str, InlineKeyboardMarkup | None]


# ----------------------------------------------------------------------------- pieces


def name_text(name: str, limit: int = NAME_MAX) -> str:
    return escape(name if len(name) <= limit else name[: limit - 1].rstrip() + "…")


def quote(text: str, limit: int = 1000) -> str:
    return "<i>" + escape(text if len(text) <= limit else text[: limit - 1] + "…") + "</i>"


def status_line(status: PledgeStatus | None) -> str:
    return f"{rules.STATUS_ICONS[status]} {rules.status_name(status)}"


def pledge_header(unit_name: str, year: int, pledge, tz: ZoneInfo) -> list[str]:
    """The top of a pledge's message. `pledge`: anything with the pledge's `status`,
    `version`, `review_comment` and `signed_at` (the stored pledge, or a `PledgeCard`)."""
    lines = [
        _("📝 <b>Pledge {year}</b> — {unit}").format(year=year, unit=name_text(unit_name)),
        _("Status: {status} · version {version}").format(
            status=status_line(pledge.status), version=pledge.version
        ),
    ]
    if pledge.status == PledgeStatus.RETURNED and pledge.review_comment:
        lines.append(_("↩️ The chair's comment: {comment}").format(comment=quote(pledge.review_comment)))
    if pledge.status == PledgeStatus.SIGNED and pledge.signed_at is not None:
        lines.append(_("✍️ Signed on {when}.").format(when=fmt.datetime(pledge.signed_at, tz)))
    return lines


def pages_of(head: Iterable[str], items: list[Item], foot: Iterable[str] = (), note: str | None = None) -> list[str]:
    """The pledge split into pages: header (and note) on every page, commitments in between,
    the footer on the last; each page under Telegram's limit however long the texts are."""
    top = "\n".join([*([note, ""] if note else []), *head])
    bottom = "\n".join(foot)
    lines = rules.item_lines(items) or ["<i>" + _("No commitments yet.") + "</i>"]
    budget = max(PAGE_BUDGET - len(top) - len(bottom) - 4, 1200)
    chunks = render.chunk_lines(lines, limit=budget)
    pages = []
    for index, chunk in enumerate(chunks):
        parts = [top, chunk]
        if index == len(chunks) - 1 and bottom:
            parts.append(bottom)
        pages.append("\n\n".join(p for p in parts if p))
    return pages


def nav_row(page: int, total: int, turn_to: Callable[[int], callbacks.Button]) -> list[InlineKeyboardButton]:
    """◀ 2/3 ▶ — pages of one pledge; ◀ and ▶ are the buttons `turn_to(page)`."""
    if total <= 1:
        return []
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◀", callback_data=turn_to(page - 1).pack()))
    row.append(InlineKeyboardButton(f"{page + 1}/{total}", callback_data=callbacks.NOOP))
    if page < total - 1:
        row.append(InlineKeyboardButton("▶", callback_data=turn_to(page + 1).pack()))
    return row


# ----------------------------------------------------------------------------- the review


@dataclass(frozen=True)
class PledgeCard:
    """A pledge as its messages show it (read by `bot.services.pledges.card_of`)."""

    pledge_id: int
    unit_name: str
    year: int
    status: PledgeStatus
    version: int
    review_comment: str | None
    signed_at: dt.datetime | None
    tz: ZoneInfo
    items: tuple[Item, ...]
    ops: frozenset[Op]  # what may be done to it now (the buttons)


# What the reviewer reads at the top: what the pledge waits for, or how its review ended (a
# draft, withdrawn by the unit, keeps the plain "Pledge" heading).
_HEADINGS = {
    PledgeStatus.SUBMITTED: N_("📨 <b>Pledge {year} to review</b> — {unit}"),
    PledgeStatus.ACCEPTED: N_("✅ <b>Pledge {year} accepted</b> — {unit}"),
    PledgeStatus.RETURNED: N_("↩️ <b>Pledge {year} returned for changes</b> — {unit}"),
    PledgeStatus.SIGNED: N_("✍️ <b>Pledge {year} signed</b> — {unit}"),
}


def _review_button(text: str, action: str, *args: int) -> InlineKeyboardButton:
    """A button on the review message (`callbacks.REVIEW` declares each one)."""
    return InlineKeyboardButton(text, callback_data=callbacks.REVIEW.build(action, *args).pack())


def review_view(card: PledgeCard, *, page: int = 0, note: str | None = None) -> View:
    """The pledge as the reviewer reads it, with Accept / Return when they apply now: the
    notice a reviewer is sent when a unit submits, and every later redraw of it."""
    head = pledge_header(card.unit_name, card.year, card, card.tz)
    heading = _HEADINGS.get(card.status)
    if heading is not None:
        head[0] = _(heading).format(year=card.year, unit=name_text(card.unit_name))
    pages = pages_of(head, list(card.items), note=note)
    page = min(max(page, 0), len(pages) - 1)
    rows = []
    review = [
        *([_review_button(_("✅ Accept"), "ok", card.pledge_id, card.version)] if Op.ACCEPT in card.ops else []),
        *([_review_button(_("↩️ Return with a comment"), "ret", card.pledge_id, card.version)]
          if Op.RETURN in card.ops else []),
    ]  # fmt: skip
    if review:
        rows.append(review)
    pledge_id = card.pledge_id
    nav = nav_row(page, len(pages), lambda other: callbacks.ReviewPage(pledge_id, other))
    if nav:
        rows.append(nav)
    return pages[page], InlineKeyboardMarkup(rows) if rows else None


def submitted_note(chair_units_own: bool) -> str:
    """What the submitting representative reads above the pledge: who was told."""
    if chair_units_own:
        return "📨 " + _(
            "Submitted. This is the chair unit's own pledge: the vice-chair unit "
            "(or the cluster administrator) has been told and will review it."
        )
    return "📨 " + _("Submitted. The chair has been told and will review it.")


def reviewer_name(reviewer: Reviewer) -> str:
    """Who reviewed, as the unit is told."""
    if reviewer is Reviewer.VICE_CHAIR:
        return _("The vice-chair unit")
    if reviewer is Reviewer.CHAIR:
        return _("The chair")
    return _("The cluster administrator")


def _open_pledge(text: str, pledge_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=callbacks.PledgeView(pledge_id).pack())]])


def accepted_notice(reviewer: Reviewer, year: int, unit_name: str, pledge_id: int) -> View:
    """To the unit's representatives: their pledge was accepted."""
    return (
        _("✅ {who} accepted the pledge {year} of <b>{unit}</b>. When the signing opens, "
          "sign it with /pledge.").format(who=reviewer_name(reviewer), year=year, unit=name_text(unit_name)),
        _open_pledge(_("📝 Open the pledge"), pledge_id),
    )  # fmt: skip


def returned_notice(reviewer: Reviewer, year: int, unit_name: str, pledge_id: int, comment: str) -> View:
    """To the unit's representatives: their pledge came back with the reviewer's comment."""
    return (
        _("↩️ {who} returned the pledge {year} of <b>{unit}</b> for changes.").format(
            who=reviewer_name(reviewer), year=year, unit=name_text(unit_name)
        ) + "\n" + _("Comment: {comment}").format(comment=quote(comment))
        + "\n" + _("Change it and submit it again with /pledge."),
        _open_pledge(_("✏️ Change the pledge"), pledge_id),
    )  # fmt: skip


def amendment_note(unit_name: str, year: int, number: int, summary: str, reason: str, person: str) -> str:
    """The group's news that a signed pledge was amended: what, why, by whom."""
    return "\n".join([
        _("📝 <b>{unit}</b> amended its signed pledge for {year} (amendment {n}): {summary}.").format(
            unit=name_text(unit_name), year=year, n=number, summary=escape(summary),
        ),
        _("Reason: {reason}").format(reason=quote(reason, 500)),
        _("— {person}").format(person=escape(person)),
    ])  # fmt: skip


# ----------------------------------------------------------------------------- the board


@dataclass(frozen=True)
class BoardLine:
    name: str
    signed_at: dt.datetime | None


@dataclass(frozen=True)
class Board:
    """What the group's signing message shows."""

    cluster_id: int
    year_id: int
    cluster_name: str
    year: int
    tz: ZoneInfo
    lines: tuple[BoardLine, ...]
    concluded_at: dt.datetime | None

    @property
    def signed(self) -> int:
        return sum(1 for line in self.lines if line.signed_at is not None)


def _size(text: str) -> int:
    """Telegram counts UTF-16 code units; the HTML is never shorter than the text it shows."""
    return len(text.encode("utf-16-le")) // 2


def board_view(board: Board, bot_username: str | None = None) -> View:
    """The group's signing message: under Telegram's limit however many units sign.

    Every unit with the time it signed while that fits; for a large cluster, the count and the
    units still to sign by name (as many as fit, then how many more), with /pledges, which
    pages the full list, for the rest. So the message keeps counting to the last signature.
    """
    concluded = board.concluded_at is not None
    title = (
        _("🏁 <b>The {year} pledge has been signed</b> — {cluster}") if concluded
        else _("✍️ <b>Signing of the {year} pledge</b> — {cluster}")
    ).format(year=board.year, cluster=name_text(board.cluster_name))  # fmt: skip
    head = [title, _("Signed: {signed}/{total} units").format(signed=board.signed, total=len(board.lines))]
    if concluded:
        foot = [_("Concluded on {when}. The document was sent to this group; /pledges shows it again.").format(
            when=fmt.datetime(board.concluded_at, board.tz)
        )]  # fmt: skip
        markup = None
    else:
        foot = [_("Representatives: press the button to sign for your unit (its pledge must be accepted).")]
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            _("✍️ Agree and sign the pledge"), callback_data=callbacks.SignBoard(board.year_id).pack()
        )]])  # fmt: skip

    def text(body: list[str]) -> str:
        return "\n\n".join(["\n".join(head), *(["\n".join(body)] if body else []), "\n".join(foot)])

    every = []
    for number, line in enumerate(board.lines, 1):
        name = name_text(line.name, BOARD_NAME_MAX)
        if line.signed_at is not None:
            every.append(f"✅ {number}. {name} — {fmt.datetime(line.signed_at, board.tz)}")
        else:
            every.append(f"⏳ {number}. {name}")
    if _size(text(every)) <= BOARD_BUDGET:
        return text(every), markup
    return text(_summary(board, bot_username, lambda body: _size(text(body)))), markup


def _more(count: int) -> str:
    return ngettext("… and {count} more unit.", "… and {count} more units.", count).format(count=count)


def _summary(board: Board, bot_username: str | None, size: Callable[[list[str]], int]) -> list[str]:
    """The units not signed, by name, as many as the budget holds."""
    waiting = [(n, line) for n, line in enumerate(board.lines, 1) if line.signed_at is None]
    command = f"/pledges@{bot_username}" if bot_username else "/pledges"
    pointer = _("Every unit and the time it signed: {command}").format(command=command)
    if not waiting:
        return [pointer]
    label = _("Not signed ({count}):") if board.concluded_at is not None else _("Still to sign ({count}):")
    body = [label.format(count=len(waiting))]
    for shown, (number, line) in enumerate(waiting):
        entry = f"⏳ {number}. {name_text(line.name, BOARD_NAME_MAX)}"
        rest = len(waiting) - shown - 1
        more = [_more(rest)] if rest else []
        if size([*body, entry, *more, "", pointer]) > BOARD_BUDGET:
            body.append(_more(len(waiting) - shown))
            break
        body.append(entry)
    return [*body, "", pointer]


# ----------------------------------------------------------------------------- the document


def caption(doc: PledgeDocument) -> str:
    """The signed document's caption, in the group, to the secretariat and in /pledges."""
    text = _("📄 The {year} emulation pledge of {cluster}").format(year=doc.year, cluster=name_text(doc.cluster_name, 300))
    signed = sum(1 for unit in doc.units if unit.signed_at is not None)
    return text + "\n" + _("Signed by {signed} of {total} units.").format(signed=signed, total=len(doc.units))
