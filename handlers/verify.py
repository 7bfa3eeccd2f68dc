"""/verify: the verifier checks the sheets assigned to their unit; the unit explains an
adjustment once; the chair decides.

- `/verify` (private, verification phase) lists the sheets the person's unit verifies (in
  chair mode the chair unit verifies them all but its own), the explanations waiting for their
  decision, and — for the administrator — the choice between verification by the chair and
  cross-checking (a cluster setting, fixed once verifying has begun).
- A sheet opens at its first criterion not verified yet: the unit's score, note and evidence
  (📎 sends the files back by Telegram id), and ✅ Accept / ✏️ Adjust. Adjusting asks for the new
  value, then for the reason (both typed; the reason is required).
- Each adjustment is told privately to the unit's representatives with a 💬 button to explain
  (once); the explanation is told to the chair (the vice-chair for the chair's own sheet) with
  a ⚖️ button to decide: keep the verified value, take the unit's, or type another.

Buttons: `vf:<action>:<sheet>:<version>[:<arg>]` for a sheet (stale when the sheet moved on),
`vf:<action>:<adjustment>[:<value>]` for a dispute, `vf:<L|D|m>:<cluster>[:<arg>]` for lists.
The rules are in `bot.services.verification` and `bot.rotation`.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks, fmt, rotation
from bot import scoring as arithmetic
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.score_input import parse_score, range_text
from bot.services import verification as service
from bot.services.actors import Actor
from bot.services.scoring import SheetView, StaleSheet
from bot.services.verification import live_adjustment
from bot.views.scoring import dispute_keyboard, dispute_text, points
from handlers.awaiting import done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from handlers.clusters import acting_from_button, acting_in, rerunnable
from handlers.keyboards import label, pages
from handlers.score import (
    actor_for_sheet,
    criterion_block,
    evidence_caption,
    reload_after_conflict,
    send_evidence_files,
)
from storage.models import Cluster, Criterion, ScoreEntry, SheetStatus

VALUE_STEP = "verify_value"
REASON_STEP = "verify_reason"
EXPLAIN_STEP = "verify_explain"
DECIDE_STEP = "verify_decide"
PER_PAGE = 8


def mode_name(mode: str) -> str:
    return _("cross-checking between units") if mode == rotation.CROSS else _("verification by the chair unit")


def _sheet_button(text: str, action: str, view: SheetView, *args: int) -> InlineKeyboardButton:
    """A button about the sheet as drawn now (`callbacks.VERIFY` declares each one)."""
    return _button(text, action, view.sheet.id, view.sheet.version, *args)


def _button(text: str, action: str, *args: int | str | Decimal) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callbacks.VERIFY.build(action, *args).pack())


def entry_mark(entry: ScoreEntry | None) -> str:
    if entry is None or entry.verified_value is None:
        return "⏳"
    adjustment = live_adjustment(entry)
    if adjustment is None:
        return "✅"
    if adjustment.decided_value is not None:
        return "⚖️"
    return "💬" if adjustment.explanation is not None else "✏️"


def verification_lines(view: SheetView, criterion: Criterion) -> list[str]:
    """What the verifier decided about a criterion, with the dispute that followed."""
    entry = view.entry(criterion.id)
    kind = str(criterion.kind)
    if entry is None or entry.verified_value is None:
        return [_("Verification: <i>not yet</i>")]
    adjustment = live_adjustment(entry)
    if adjustment is None:
        return [_("Verification: ✅ accepted")]
    lines = [
        _("Verification: ✏️ adjusted {before} → <b>{after}</b>").format(
            before=points(kind, adjustment.from_value), after=points(kind, adjustment.to_value)),
        _("Reason: {reason}").format(reason=escape(adjustment.reason)),
    ]  # fmt: skip
    if adjustment.explanation is not None:
        lines.append(_("💬 Explanation: {text}").format(text=escape(adjustment.explanation)))
    if adjustment.decided_value is not None:
        lines.append(_("⚖️ Decided: <b>{value}</b>").format(value=points(kind, adjustment.decided_value)))
    return lines


def card_text(view: SheetView, criterion: Criterion, notice: str | None = None) -> str:
    entry = view.entry(criterion.id)
    kind = str(criterion.kind)
    lines = [
        _("🔎 <b>Verification</b> — {unit} ({done}/{size} criteria verified)").format(
            unit=escape(view.unit.name), done=view.verified, size=view.size), "",
    ]  # fmt: skip
    if notice:
        lines += [notice, ""]
    lines += criterion_block(view, criterion, entry)
    lines.append(_("The unit's score: <b>{value}</b>").format(value=points(kind, entry.self_value if entry else None)))
    if entry is not None and entry.note:
        lines.append(_("📝 The unit's note: {note}").format(note=escape(entry.note)))
    files = len(entry.evidence) if entry else 0
    lines.append(_("📎 Evidence files: {n}").format(n=files) if files else _("📎 No evidence attached."))
    lines += verification_lines(view, criterion)
    return "\n".join(lines)


def card_keyboard(view: SheetView, criterion: Criterion) -> InlineKeyboardMarkup:
    entry = view.entry(criterion.id)
    adjustment = live_adjustment(entry)
    rows = []
    if adjustment is None or adjustment.explanation is None:
        rows.append([
            _sheet_button(_("✅ Accept"), "a", view, criterion.id),
            _sheet_button(_("✏️ Adjust"), "j", view, criterion.id),
        ])  # fmt: skip
    if entry is not None and entry.evidence:
        rows.append([_sheet_button(_("📎 Send me the evidence ({n})").format(n=len(entry.evidence)), "e", view, criterion.id)])
    position = view.position(criterion.id)
    rows.append([
        _sheet_button("◀", "c", view, view.neighbour(criterion.id, -1).id),
        _sheet_button(f"📋 {position + 1}/{view.size}", "l", view, position // PER_PAGE),
        _sheet_button("▶", "c", view, view.neighbour(criterion.id, 1).id),
    ])  # fmt: skip
    rows.append([_sheet_button(_("📊 The sheet's totals"), "s", view)])
    return InlineKeyboardMarkup(rows)


def summary_text(view: SheetView, notice: str | None = None) -> str:
    lines = [
        _("🔎 <b>Verification</b> — {unit}").format(unit=escape(view.unit.name)),
        _("{done}/{size} criteria verified.").format(done=view.verified, size=view.size), "",
    ]  # fmt: skip
    if notice:
        lines[0:0] = [notice, ""]
    for c, entry, line in view.rows():
        kind = str(c.kind)
        text = f"{entry_mark(entry)} {escape(c.code)}: {points(kind, line.self_value)}"
        if line.verified_value is not None and line.verified_value != line.self_value:
            text += f" → {points(kind, line.verified_value)}"
        if line.decided_value is not None:
            text += " ⚖️ " + points(kind, line.decided_value)
        lines.append(text)
    lines.append("")
    for stage, name in ((arithmetic.SELF, _("self")), (arithmetic.VERIFIED, _("verified")), (arithmetic.FINAL, _("final"))):
        lines.append(_("Total ({stage}): <b>{total}</b>").format(stage=name, total=fmt.number(view.totals(stage).total)))
    text = "\n".join(lines)
    return text if len(text) <= 3800 else text[:3790] + "…"


def summary_keyboard(view: SheetView) -> InlineKeyboardMarkup:
    rows = []
    if view.verified < view.size:
        rows.append([_sheet_button(_("✅ Accept all the rest"), "A", view)])
    rows.append([
        _sheet_button(_("📋 Criteria"), "l", view, 0),
        _button(_("« The sheets"), "L", view.cluster.id, 0),
    ])  # fmt: skip
    return InlineKeyboardMarkup(rows)


def criteria_keyboard(view: SheetView, page: int) -> InlineKeyboardMarkup:
    total = pages(view.size, PER_PAGE)
    page = min(max(page, 0), total - 1)
    rows = [
        [_sheet_button(label(f"{entry_mark(view.entry(c.id))} {c.code} · {c.text}"), "c", view, c.id)]
        for c in view.criteria[page * PER_PAGE : (page + 1) * PER_PAGE]
    ]
    nav = []
    if page > 0:
        nav.append(_sheet_button("◀", "l", view, page - 1))
    if page < total - 1:
        nav.append(_sheet_button("▶", "l", view, page + 1))
    if nav:
        rows.append(nav)
    rows.append([_sheet_button(_("📊 The sheet's totals"), "s", view)])
    return InlineKeyboardMarkup(rows)


# ------------------------------------------------------------------------------ the list


async def overview(turn: Turn, cluster: Cluster, actor: Actor, page: int = 0) -> tuple[str, InlineKeyboardMarkup | None]:
    """The person's verification work (and the administrator's mode setting)."""
    mode = service.mode(cluster)
    lines = [_("🔎 <b>Verification</b> — {cluster}").format(cluster=escape(cluster.name)),
             _("Way of verifying: <b>{mode}</b>.").format(mode=mode_name(mode))]  # fmt: skip
    rows: list[list[InlineKeyboardButton]] = []
    try:
        sheet_ids = await service.assigned_sheet_ids(turn.session, actor, cluster)
        disputes = await service.open_disputes(turn.session, actor, cluster)
    except Refusal as refusal:
        if not actor.may(Action.CONFIGURE_CLUSTER):
            raise
        sheet_ids, disputes = [], []
        lines += ["", refusal.message]
    else:
        lines.append("")
        if sheet_ids:
            lines.append(_("Sheets your unit verifies: {n}.").format(n=len(sheet_ids)))
        elif actor.unit_ids:
            lines.append(_("No submitted sheet is assigned to your unit."))
        total = pages(len(sheet_ids), PER_PAGE)
        page = min(max(page, 0), total - 1)
        shown = sheet_ids[page * PER_PAGE : (page + 1) * PER_PAGE]
        for line in await service.progress_of(turn.session, actor, cluster, shown):
            mark = "✅" if line.status == SheetStatus.VERIFIED else "⏳"
            text = label(f"{mark} {line.verified}/{line.size} · {line.unit_name}")
            rows.append([_button(text, "o", line.sheet_id, line.version)])
        nav = []
        if page > 0:
            nav.append(_button("◀", "L", cluster.id, page - 1))
        if page < total - 1:
            nav.append(_button("▶", "L", cluster.id, page + 1))
        if nav:
            rows.append(nav)
        if disputes:
            lines.append(_("Explanations waiting for your decision: {n}.").format(n=len(disputes)))
            rows.append([_button(_("⚖️ Explanations to decide ({n})").format(n=len(disputes)), "D", cluster.id)])
    if actor.may(Action.CONFIGURE_CLUSTER):
        lines += ["", _("As the administrator you choose the way of verifying, until the first score is verified:")]
        rows.append([
            _button(("✅ " if mode == m else "") + (_("By the chair") if m == rotation.CHAIR else _("Cross-checking")),
                    "m", cluster.id, m)
            for m in rotation.MODES
        ])  # fmt: skip
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


@rerunnable("verify")
async def start(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Use /verify in a private chat with me."))
    acting = await acting_in(turn, "verify")
    if acting is None:
        return
    cluster, actor = acting
    if not actor.unit_ids and not actor.may(Action.CONFIGURE_CLUSTER):
        raise Refusal(_("Only the representatives of the verifying units verify score sheets."))
    turn.reply(*await overview(turn, cluster, actor))


verify_command = handler(start)


# ------------------------------------------------------------------------------ buttons


async def show_card(turn: Turn, view: SheetView, criterion: Criterion, *, edit: bool, notice: str | None = None) -> None:
    await done(turn)
    (turn.edit if edit else turn.reply)(card_text(view, criterion, notice), card_keyboard(view, criterion))


async def show_next(turn: Turn, view: SheetView, after_id: int | None, *, edit: bool, notice: str | None = None) -> None:
    """The next criterion not verified yet, else the sheet's totals."""
    following = view.next_where(lambda e: e is None or e.verified_value is None, after_id)
    if following is None:
        await done(turn)
        (turn.edit if edit else turn.reply)(summary_text(view, notice), summary_keyboard(view))
    else:
        await show_card(turn, view, following, edit=edit, notice=notice)


async def list_pressed(update: Update, context: BotContext, turn: Turn,
                       press: callbacks.VerifyList | callbacks.VerifyDisputes | callbacks.VerifyMode) -> None:  # fmt: skip
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    if isinstance(press, callbacks.VerifyMode):
        await service.set_mode(turn.session, actor, cluster, press.mode)
        turn.edit(*await overview(turn, cluster, actor))
    elif isinstance(press, callbacks.VerifyList):
        turn.edit(*await overview(turn, cluster, actor, press.page))
    else:
        await show_disputes(turn, cluster, actor)


async def sheet_pressed(update: Update, context: BotContext, turn: Turn,
                        press: callbacks.VerifySheetStep | callbacks.VerifyCriterion | callbacks.VerifyCriteria) -> None:  # fmt: skip
    action, sheet_id, version = press.key, press.sheet_id, press.version
    if isinstance(press, callbacks.VerifyCriterion):
        arg: int | None = press.criterion_id
    else:
        arg = press.page if isinstance(press, callbacks.VerifyCriteria) else None
    actor = await actor_for_sheet(turn, sheet_id)
    try:
        await _sheet_pressed(update, context, turn, actor, action, sheet_id, version, arg)
    except StaleSheet as error:
        await reload_after_conflict(turn)
        actor = await actor_for_sheet(turn, sheet_id)
        view = await service.verifiable(turn.session, actor, sheet_id, None)
        if action == "a":  # the write lost to the same person's other tap: said as done
            await service.check_accept_repeat(turn.session, view, actor, arg or 0)
        elif action == "A":
            await service.check_accept_rest_repeat(turn.session, view, actor)
        turn.answer(error.message[:200], alert=True)
        criterion = view.criterion(arg or 0) if action in ("a", "j", "c", "e") else None
        if criterion is not None:
            await show_card(turn, view, criterion, edit=True)
        else:
            await show_next(turn, view, None, edit=True)


async def _sheet_pressed(update: Update, context: BotContext, turn: Turn, actor: Actor, action: str,
                         sheet_id: int, version: int, arg: int | None) -> None:  # fmt: skip
    if action == "a":
        view = await service.accept(turn.session, actor, sheet_id, arg or 0, version)
        criterion = view.criterion(arg or 0)
        await show_next(turn, view, criterion.id, edit=True,
                        notice=_("✅ Accepted {code}.").format(code=escape(criterion.code)))  # fmt: skip
        return
    if action == "A":
        view, count = await service.accept_rest(turn.session, actor, sheet_id, version)
        await show_next(turn, view, None, edit=True,
                        notice=_("✅ Accepted {n} more criteria.").format(n=count))  # fmt: skip
        return
    view = await service.verifiable(turn.session, actor, sheet_id, None)
    if action == "o":
        await show_next(turn, view, None, edit=True)
    elif action == "s":
        await done(turn)
        turn.edit(summary_text(view), summary_keyboard(view))
    elif action == "l":
        await done(turn)
        turn.edit(summary_text(view), criteria_keyboard(view, arg or 0))
    elif action in ("c", "j", "e"):
        criterion = view.criterion(arg or 0)
        if criterion is None:
            raise stale()
        if action == "c":
            await show_card(turn, view, criterion, edit=True)
        elif action == "e":
            entry = view.entry(criterion.id)
            files = list(entry.evidence) if entry else []
            chat_id = update.effective_chat.id
            turn.answer(_("Sending the evidence ({n})…").format(n=len(files)))
            caption = evidence_caption(criterion.code)
            turn.after_commit(lambda: send_evidence_files(context.bot, chat_id, files, caption))
        else:
            if view.sheet.version != version:
                raise StaleSheet(sheet_id)
            entry = view.entry(criterion.id)
            if live_adjustment(entry) is not None and live_adjustment(entry).explanation is not None:
                raise Refusal(_("The unit has already explained this score; the chair decides it now."))
            await expect(turn, VALUE_STEP, sheet_id=sheet_id, criterion_id=criterion.id, version=view.sheet.version)
            turn.edit(
                card_text(view, criterion) + "\n\n" + _("✏️ Type the verified score of {code}. {range} /cancel to stop.").format(
                    code=escape(criterion.code),
                    range=range_text(str(criterion.kind), criterion.max_points, view.table.bonus_cap, buttons=False)),
                InlineKeyboardMarkup([[_sheet_button(_("« Back"), "c", view, criterion.id)]]),
            )  # fmt: skip
    else:
        raise stale()


# ------------------------------------------------------------------------------ typed: value, reason


async def _typed_sheet(turn: Turn, data: dict) -> tuple[Actor, SheetView, Criterion] | None:
    actor = await actor_for_sheet(turn, data.get("sheet_id") or 0)
    try:
        view = await service.verifiable(turn.session, actor, data.get("sheet_id") or 0, None)
    except Refusal as refusal:
        await done(turn)
        turn.reply(refusal.message + "\n" + _("Nothing was saved."))
        return None
    criterion = view.criterion(data.get("criterion_id") or 0)
    if criterion is None:
        await done(turn)
        turn.reply(_("That criterion is no longer in the table; nothing was saved."))
        return None
    if view.sheet.version != data.get("version"):
        await show_card(turn, view, criterion, edit=False, notice=StaleSheet(view.sheet.id).message)
        return None
    return actor, view, criterion


@on_input(VALUE_STEP)
async def typed_value(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    found = await _typed_sheet(turn, data)
    if found is None:
        return
    _actor, view, criterion = found
    message = update.effective_message
    text = message.text if message is not None else None
    kind = str(criterion.kind)
    if text is None:
        raise Refusal(_("I am waiting for the verified score of {code} as a number. {range}").format(
            code=escape(criterion.code), range=range_text(kind, criterion.max_points, view.table.bonus_cap, False)))  # fmt: skip
    value = parse_score(text, kind, criterion.max_points, view.table.bonus_cap, buttons=False)
    entry = view.entry(criterion.id)
    if entry is not None and value == entry.self_value:
        raise Refusal(_("{value} is the unit's own score: press ✅ Accept instead, or type another value.").format(
            value=points(kind, value)))  # fmt: skip
    await expect(turn, REASON_STEP, sheet_id=view.sheet.id, criterion_id=criterion.id, version=view.sheet.version,
                 value=str(value))  # fmt: skip
    turn.reply(
        _("Now type the reason for changing {code} from {before} to {after}. A reason is required; the "
          "unit will read it. /cancel to stop.").format(
            code=escape(criterion.code), before=points(kind, entry.self_value if entry else None),
            after=points(kind, value))
    )  # fmt: skip


@on_input(REASON_STEP)
async def typed_reason(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    found = await _typed_sheet(turn, data)
    if found is None:
        return
    actor, view, criterion = found
    message = update.effective_message
    text = message.text if message is not None else None
    if text is None:
        raise Refusal(_("Type the reason as a text message. /cancel to stop."))
    service.check_reason(" ".join(text.split()))
    try:  # the unit's representatives are told (the service queues the notice)
        view, adjustment = await service.adjust(
            turn.session, actor, view.sheet.id, criterion.id, Decimal(data.get("value", "x")), text, data.get("version"))
    except StaleSheet as error:
        await reload_after_conflict(turn)
        await done(turn)
        turn.reply(error.message + "\n" + _("Send /verify to see the sheet now."))
        return
    kind = str(criterion.kind)
    await show_next(turn, view, criterion.id, edit=False, notice=_("✏️ Adjusted {code}: {before} → {after}. The unit is told.").format(
        code=escape(criterion.code), before=points(kind, adjustment.from_value), after=points(kind, adjustment.to_value)))  # fmt: skip


# ------------------------------------------------------------------------------ disputes


async def show_disputes(turn: Turn, cluster: Cluster, actor: Actor) -> None:
    disputes = await service.open_disputes(turn.session, actor, cluster)
    if not disputes:
        turn.edit(_("No explanation is waiting for your decision."),
                  InlineKeyboardMarkup([[_button(_("« The sheets"), "L", cluster.id, 0)]]))  # fmt: skip
        return
    rows = [[_button(label(f"⚖️ {d.view.unit.name} · {d.criterion.code}"), "d", d.adjustment.id)] for d in disputes[:20]]
    rows.append([_button(_("« The sheets"), "L", cluster.id, 0)])
    turn.edit(_("Explanations waiting for your decision: {n}.").format(n=len(disputes)), InlineKeyboardMarkup(rows))


async def _dispute_actor(turn: Turn, adjustment_id: int) -> Actor:
    if turn.person is None:
        raise stale()
    return await service.actor_for_adjustment(turn.session, turn.person.id, adjustment_id)


async def dispute_button(update: Update, context: BotContext, turn: Turn,
                         press: callbacks.DisputeStep | callbacks.DisputeKeep) -> None:  # fmt: skip
    adjustment_id = press.adjustment_id
    actor = await _dispute_actor(turn, adjustment_id)
    if isinstance(press, callbacks.DisputeStep) and press.action == "x":
        found = await service.explainable(turn.session, actor, adjustment_id)
        await expect(turn, EXPLAIN_STEP, adjustment_id=adjustment_id)
        kind = str(found.criterion.kind)
        turn.reply(
            _("💬 Type your unit's explanation for {code} ({before} → {after}) in one message. It can be "
              "given once; the chair then decides. /cancel to stop.").format(
                code=escape(found.criterion.code), before=points(kind, found.adjustment.from_value),
                after=points(kind, found.adjustment.to_value))
        )  # fmt: skip
        return
    found = await service.decidable(turn.session, actor, adjustment_id)
    if isinstance(press, callbacks.DisputeKeep):
        found = await service.decide(turn.session, actor, adjustment_id, press.value)  # both units are told
        turn.edit(dispute_text(found.facts))
    elif press.action == "d":
        turn.edit(dispute_text(found.facts), dispute_keyboard(found.facts))
    else:
        await expect(turn, DECIDE_STEP, adjustment_id=adjustment_id)
        kind = str(found.criterion.kind)
        turn.edit(dispute_text(found.facts) + "\n\n" + _("Type the final score of {code}. {range} /cancel to stop.").format(
            code=escape(found.criterion.code),
            range=range_text(kind, found.criterion.max_points, found.view.table.bonus_cap, False)))  # fmt: skip


@on_input(EXPLAIN_STEP)
async def typed_explanation(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    adjustment_id = data.get("adjustment_id") or 0
    actor = await _dispute_actor(turn, adjustment_id)
    try:
        await service.explainable(turn.session, actor, adjustment_id)
    except Refusal as refusal:
        await done(turn)
        turn.reply(refusal.message)
        return
    message = update.effective_message
    text = message.text if message is not None else None
    if text is None:
        raise Refusal(_("Type your explanation as a text message, or /cancel."))
    found = await service.explain(turn.session, actor, adjustment_id, text)  # the deciding unit is told
    await done(turn)
    turn.reply(_("💬 Your explanation for {code} is sent to the chair, who decides the final score.").format(
        code=escape(found.criterion.code)))  # fmt: skip


@on_input(DECIDE_STEP)
async def typed_decision(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    adjustment_id = data.get("adjustment_id") or 0
    actor = await _dispute_actor(turn, adjustment_id)
    try:
        found = await service.decidable(turn.session, actor, adjustment_id)
    except Refusal as refusal:
        await done(turn)
        turn.reply(refusal.message)
        return
    message = update.effective_message
    text = message.text if message is not None else None
    criterion = found.criterion
    if text is None:
        raise Refusal(_("I am waiting for the final score of {code} as a number. {range}").format(
            code=escape(criterion.code),
            range=range_text(str(criterion.kind), criterion.max_points, found.view.table.bonus_cap, False)))  # fmt: skip
    value = parse_score(text, str(criterion.kind), criterion.max_points, found.view.table.bonus_cap, False)
    found = await service.decide(turn.session, actor, adjustment_id, value)  # both units are told
    await done(turn)
    turn.reply(dispute_text(found.facts))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("verify", verify_command))
    app.add_handler(dispatch(callbacks.VERIFY, {
        callbacks.VerifyList: list_pressed, callbacks.VerifyDisputes: list_pressed, callbacks.VerifyMode: list_pressed,
        callbacks.VerifySheetStep: sheet_pressed, callbacks.VerifyCriterion: sheet_pressed,
        callbacks.VerifyCriteria: sheet_pressed,
        callbacks.DisputeStep: dispute_button, callbacks.DisputeKeep: dispute_button,
    }))  # fmt: skip
