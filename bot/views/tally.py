"""Words of the year's count (`/tally`, `/result`): the summary the group sees, in the group's
language, from a stored result (`bot.tally.YearResult`) alone — so `/result` shows exactly what
was published, with the names as they were at the count.

Pure: plain values in, Telegram HTML pages out (each well under 4096 characters), every
stored name escaped.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import fmt
from bot.i18n import _, ngettext
from bot.render import chunk_lines
from bot.tally import Award, Basis, Change, Method, TallyRules, YearResult
from bot.views.ballots import title as ballot_title
from storage.models import BallotKind

NAME = 80  # a unit's name in the summary, at most (30 units × a few lines stay within pages)


def percent(share: Fraction) -> str:
    """`66,67%`: a share rounded half-up to two decimals, for display only."""
    value = (Decimal(share.numerator) * 100 / Decimal(share.denominator)) if share.denominator else Decimal(0)
    return fmt.decimal_text(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) + "%"


def fraction_words(value: Fraction) -> str:
    """`⅔` as `2/3`, `½` as `50%`: how the rules are stated."""
    if value.denominator in (1, 2, 4, 5, 10, 20, 25, 50, 100):
        return percent(value)
    return f"{value.numerator}/{value.denominator}"


def name_of(result: YearResult, unit_id: int) -> str:
    name = result.names.get(unit_id) or _("unit #{id}").format(id=unit_id)
    return escape(name if len(name) <= NAME else name[: NAME - 1] + "…")


NAMES_IN_A_LINE = 12  # a list of names in one line of the summary, at most (then "and N more")


def names_of(result: YearResult, unit_ids) -> str:
    """Names joined in one line, at most `NAMES_IN_A_LINE` of them: a line is never cut by the
    page splitter (which could cut through an HTML entity or tag)."""
    unit_ids = list(unit_ids)
    shown = ", ".join(name_of(result, u) for u in unit_ids[:NAMES_IN_A_LINE])
    if len(unit_ids) > NAMES_IN_A_LINE:
        shown += " " + _("and {count} more").format(count=len(unit_ids) - NAMES_IN_A_LINE)
    return shown


def rules_lines(rules: TallyRules) -> list[str]:
    """The count's rules in words (the summary, and the settings screen)."""
    basis = {
        Basis.CAST: _("of the papers cast"),
        Basis.PRESENT: _("of the units present (that voted at the evaluation)"),
        Basis.ACTIVE: _("of all active units"),
    }[rules.basis]
    lines = [_("Quorum: at least {quorum} of the active units cast a paper.").format(quorum=fraction_words(rules.quorum))]
    if rules.strict:
        lines.append(_("Threshold: more than {threshold} {basis}.").format(threshold=fraction_words(rules.threshold), basis=basis))
    else:
        lines.append(_("Threshold: at least {threshold} {basis}.").format(threshold=fraction_words(rules.threshold), basis=basis))
    if rules.method is Method.SCORE_ONLY:
        lines.append(_("Method: the highest final scores are proposed; the vote confirms them."))
    return lines


def award_heading(award: Award) -> str:
    text = ballot_title(BallotKind(award.kind), award.label)
    return text[:1].upper() + text[1:]


def award_lines(result: YearResult, award: Award, next_year: int) -> list[str]:
    lines = ["", f"🗳 <b>{award_heading(award)}</b>"]
    for number, (round_input, count) in enumerate(award.rounds):
        if number:
            lines.append(_("Runoff (round {round}) among the tied units:").format(round=round_input.round))
        lines.append(_("Papers issued {issued}, cast {cast}, valid {valid}, blank {blank}, invalid {invalid}.").format(
            issued=round_input.ballot.issued, cast=count.cast, valid=count.valid, blank=count.blank,
            invalid=count.invalid))  # fmt: skip
        if not count.quorum_met:
            lines.append(_("⚠️ Quorum not met ({cast} of {active} units voted): nothing is proposed.").format(
                cast=count.cast, active=round_input.ballot.active))  # fmt: skip
        for candidate in count.ranking:
            mark = " ✅" if candidate.unit_id in count.proposed else ""
            score = f" · {fmt.number(candidate.score)}" if candidate.score is not None else ""
            lines.append(ngettext("{place}. {unit}: {votes} vote ({share}){score}{mark}",
                                  "{place}. {unit}: {votes} votes ({share}){score}{mark}", candidate.votes).format(
                place=candidate.place, unit=name_of(result, candidate.unit_id), votes=candidate.votes,
                share=percent(candidate.share), score=score, mark=mark))  # fmt: skip
        lines.append(_("Board SHA-256: <code>{sha}</code>").format(sha=round_input.board_sha256))
    kind = BallotKind(award.kind)
    if award.proposed:
        who = names_of(result, award.proposed)
        if kind is BallotKind.CHAIR:
            lines.append(_("➡️ Elected chair unit for {year}: <b>{units}</b>.").format(year=next_year, units=who))
        elif kind is BallotKind.VICE_CHAIR:
            lines.append(_("➡️ Elected vice-chair unit for {year}: <b>{units}</b>.").format(year=next_year, units=who))
        else:
            lines.append(_("➡️ Proposed: <b>{units}</b>.").format(units=who))
    elif not award.unresolved and award.rounds[-1][1].quorum_met:
        lines.append(_("➡️ No unit reached the threshold: nobody is proposed."))
    if award.unresolved:
        lines.append(ngettext(
            "⚖️ Unresolved: {units} are tied in votes and final score for {places} place; a runoff among exactly them decides.",
            "⚖️ Unresolved: {units} are tied in votes and final score for {places} places; a runoff among exactly them decides.",
            award.open_places).format(units=names_of(result, award.unresolved), places=award.open_places))  # fmt: skip
    return lines


def change_lines(result: YearResult, previous_number: int | None, found: list[Change]) -> list[str]:
    if previous_number is None:
        return []
    if not found:
        return ["", _("Nothing changed since count {number}.").format(number=previous_number)]
    lines = ["", _("<b>Changed since count {number}:</b>").format(number=previous_number)]
    for change in found[:30]:
        if change.what == "rules":
            lines.append(_("• the count's rules changed (see above)"))
        elif change.what == "name":
            lines.append(_("• {before} is now called {after}").format(before=_short(change.before),
                                                                     after=_short(change.after)))  # fmt: skip
        elif change.what == "votes":
            heading = award_heading(Award(change.kind, change.label, (), (), (), 0))
            lines.append(_("• {ballot}: {unit} votes {before} → {after}").format(
                ballot=heading, unit=name_of(result, change.unit_id), before=change.before or "—", after=change.after))  # fmt: skip
        elif change.what == "score":
            lines.append(_("• {unit}: final score {before} → {after}").format(
                unit=name_of(result, change.unit_id), before=_points(change.before), after=_points(change.after)))  # fmt: skip
        elif change.what == "place":
            lines.append(_("• {unit}: place {before} → {after}").format(
                unit=name_of(result, change.unit_id), before=change.before, after=change.after))  # fmt: skip
        else:
            heading = award_heading(Award(change.kind, change.label, (), (), (), 0)) if change.kind else ""
            before, after = _units(result, change.before), _units(result, change.after)
            if change.what == "proposed":
                lines.append(_("• {ballot}: proposed {before} → {after}").format(ballot=heading, before=before, after=after))
            elif change.what == "unresolved":
                lines.append(_("• {ballot}: tied {before} → {after}").format(ballot=heading, before=before, after=after))
            elif change.after is not None:
                lines.append(_("• {ballot}: newly counted").format(ballot=heading))
            else:
                lines.append(_("• {ballot}: no longer counted").format(ballot=heading))
    if len(found) > 30:
        lines.append(_("… and {count} more.").format(count=len(found) - 30))
    return lines


def _short(name: str | None) -> str:
    name = name or ""
    return escape(name if len(name) <= NAME else name[: NAME - 1] + "…")


def _points(text: str | None) -> str:
    return "—" if text is None else fmt.number(Decimal(text))


def _units(result: YearResult, text: str | None) -> str:
    if not text:
        return "—"
    return names_of(result, [int(u) for u in text.split(",")])


def summary(result: YearResult, *, cluster_name: str, year: int, number: int, counted_at: dt.datetime,
            tz: ZoneInfo, who: str, previous_number: int | None = None,
            found: list[Change] | None = None) -> list[str]:  # fmt: skip
    """The published result, as pages."""
    lines = [
        _("📊 <b>Emulation results {year}</b> — {cluster}").format(year=year, cluster=escape(cluster_name)),
        _("Count {number}, {at}, by {who}.").format(number=number, at=fmt.datetime(counted_at, tz), who=escape(who)),
        *rules_lines(result.rules),
        "",
        _("<b>Ranking by final score</b>"),
    ]
    if not result.ranking:
        lines.append(_("No unit has a final score."))
    for unit, score, place in result.ranking:
        lines.append(f"{place}. {name_of(result, unit)} — {fmt.number(score)}")
    if not result.awards:
        lines += ["", _("No ballot was held this year.")]
    for award in result.awards:
        lines += award_lines(result, award, year + 1)
    lines += change_lines(result, previous_number, found or [])
    lines += ["", _("Inputs SHA-256: <code>{sha}</code>").format(sha=result.inputs_sha256)]
    return chunk_lines(lines)


def actions(result: YearResult, result_id: int, may_start_next_year: bool) -> InlineKeyboardMarkup | None:
    """The chair's buttons under the summary: a runoff for each unresolved tie, and the start
    of next year with the elected units."""
    from bot import callbacks  # the views build buttons; callbacks import the models' enums

    rows = []
    for index, award in enumerate(result.awards):
        if award.unresolved:
            rows.append([InlineKeyboardButton(_("⚖️ Open the runoff: {title}").format(title=award_heading(award))[:60],
                                              callback_data=callbacks.TallyRunoff(result_id, index).pack())])  # fmt: skip
    if may_start_next_year:
        rows.append([InlineKeyboardButton(_("➡️ Start next year with the elected units"),
                                          callback_data=callbacks.TallyNextYear("c", result_id).pack())])  # fmt: skip
    return InlineKeyboardMarkup(rows) if rows else None


def confirm(open_titles: list[str], previous_number: int | None) -> str:
    lines = [_("📊 <b>Count the year now?</b>")]
    if open_titles:
        lines.append(_("These ballots are still open and will be closed first (nothing arriving after that counts):"))
        lines += [f"• {t}" for t in open_titles]
    if previous_number is not None:
        lines.append(_("Count {number} is on record; a new count is stored beside it and says what changed.").format(
            number=previous_number))  # fmt: skip
    lines.append(_("The result is posted in the group and the papers are sent to the secretariat and the chair."))
    return "\n".join(lines)


def next_year_started(year: int, chair: str | None, vice: str | None) -> str:
    lines = [_("🔁 <b>Emulation year {year} has started.</b>").format(year=year)]
    if chair:
        lines.append(_("Chair unit (Cụm trưởng): {unit}.").format(unit=escape(chair)))
    if vice:
        lines.append(_("Vice-chair unit (Cụm phó): {unit}.").format(unit=escape(vice)))
    lines.append(_("The handover (bàn giao) is recorded."))
    return "\n".join(lines)


def basis_name(basis: Basis) -> str:
    return {Basis.CAST: _("papers cast"), Basis.PRESENT: _("units present"), Basis.ACTIVE: _("all active units")}[basis]


def method_name(method: Method) -> str:
    return {Method.VOTE: _("by votes"), Method.SCORE_ONLY: _("score only")}[method]


def next_year_question(year: int, chair: str, vice: str | None) -> str:
    lines = [_("Start the emulation year {year}?").format(year=year),
             _("Chair unit (Cụm trưởng): {unit}.").format(unit=escape(chair))]  # fmt: skip
    if vice is not None:
        lines.append(_("Vice-chair unit (Cụm phó): {unit}.").format(unit=escape(vice)))
    return "\n".join(lines)
