"""The demo's scoring scene: the nine units score themselves (a few with evidence files, photos
and notes) and submit; the chair opens verification, verifies every sheet (the vice-chair
verifies the chair's), adjusts one score with a reason; the unit explains, the chair decides,
and the chair gets the cluster's table.

Played by `bot.demo` after the earlier scenes, whatever phase they left the year in: the chair
reads `/phase` and presses the "▶️ Open …" buttons shown until scoring is open. Labels are
rendered through the catalog (in Vietnamese, the demo people's language), so the scene presses
exactly what the bot shows.

The chats worth printing afterwards: the chair's, the vice-chair's, `reps[ADJUSTED]`'s, and
the group (phase announcements).
"""

from __future__ import annotations

from bot.i18n import _, use_locale
from bot.offline import OfflineTelegram, SimChat, SimUser
from bot.phases import phase_name
from storage.models import PhaseKind

# Per unit, one pressed value per criterion of the default table (1.1 … 5.1, B.1, D.1).
SCORES: tuple[tuple[str, ...], ...] = (
    ("30", "10", "10", "10", "10", "10", "10", "10", "5", "0"),
    ("29", "9", "10", "9,5", "10", "10", "10", "10", "4", "0"),
    ("28", "9,5", "10", "9", "10", "10", "9,5", "10", "5", "0"),
    ("29,5", "8", "9", "9", "10", "10", "10", "9,5", "3", "0"),
    ("30", "10", "10", "10", "9,5", "10", "10", "10", "5", "0"),
    ("28", "9", "9,5", "9,5", "10", "9", "10", "9", "2,5", "−1"),
    ("29", "9,5", "9", "10", "10", "10", "9,5", "10", "4", "0"),
    ("28", "8", "9", "9", "9,5", "10", "10", "9,5", "0", "−2"),
    ("30", "10", "10", "10", "10", "10", "10", "10", "4,5", "0"),
)
ADJUSTED = 2  # Hội Làm vườn Việt Nam: 1.1 is adjusted, explained and decided
ADJUSTED_TO, DECIDED = "26", "27,5"
REASON = "Kết quả xây dựng vườn mẫu đạt 170/200 vườn theo báo cáo, chưa hoàn thành chỉ tiêu đăng ký."
EXPLANATION = (
    "Đơn vị đã xây dựng thêm 32 vườn mẫu trong tháng 12, được Trung ương Hội công nhận tại Quyết định "
    "số 45/QĐ-HLV ngày 20/12/2024; xin gửi kèm quyết định làm minh chứng bổ sung."
)
EVIDENCE = {  # unit → (criterion position, file name or None for a photo, note)
    2: (0, "Bao-cao-tong-ket-2024-Hoi-Lam-vuon.pdf", "Báo cáo tổng kết năm 2024, mục II.1, trang 4–7."),
    4: (0, "Nghi-quyet-phat-trien-HTX-2024.pdf", "Nghị quyết và báo cáo kết quả phát triển hợp tác xã."),
    5: (3, None, "Ảnh lễ tôn vinh nghệ nhân, làng nghề tiêu biểu."),
}


def vi(msgid: str, **values: object) -> str:
    """A label as the bot shows it to the demo's Vietnamese-speaking people."""
    with use_locale("vi"):
        return _(msgid).format(**values)


def _buttons(message) -> list[str]:
    return [label for row in message.buttons for label in row]


def phase_label(kind: PhaseKind) -> str:
    with use_locale("vi"):
        return phase_name(kind)


async def open_phase(chair: SimUser, kind: PhaseKind) -> None:
    """Press "▶️ Open …" in `/phase` until `kind` has opened (earlier phases on the way);
    nothing when the year is already there."""
    await chair.send("/phase")
    overview = chair.private.last
    by_label = {vi("▶️ Open {phase}", phase=phase_label(k)): k for k in PhaseKind.ordered()}
    for _step in PhaseKind.ordered():
        opens = [b for b in _buttons(chair.private.find(overview.message_id)) if b in by_label]
        if not opens or by_label[opens[0]] > kind:
            return  # `kind` is open already, or past
        await chair.press(opens[0], message_id=overview.message_id)
        if by_label[opens[0]] == kind:
            return


async def score_and_submit(rep: SimUser, values: tuple[str, ...], evidence: tuple | None) -> str:
    """Score every criterion, attach the evidence, submit; returns the unit's name."""
    await rep.send("/score")
    unit = rep.private.last.plain.split("\n")[0].split(" — ", 1)[-1]
    for position, value in enumerate(values):
        if evidence is not None and evidence[0] == position:
            _where, name, note = evidence
            if name is None:
                await rep.send_photo(b"\xff\xd8\xff\xe0 demo photo", caption=note)
            else:
                await rep.send_document(b"%PDF-1.7\n% demo evidence\n", name)
            await rep.press(vi("« Back to {code}", code=_code(rep.private.last)))
            await rep.press(vi("📝 Note"))
            await rep.send(note)
        card = _card(rep)
        await rep.press(value, message_id=card.message_id)
    await rep.press(vi("📤 Submit the sheet"))
    await rep.press(vi("✅ Yes, submit"))
    return unit


def _card(rep: SimUser):
    summary = vi("📊 Summary and submit")
    return next(m for m in reversed(rep.private.bot_messages()) if summary in _buttons(m))


def _code(message) -> str:
    back = vi("« Back to {code}", code="")
    return next(b for b in _buttons(message) if b.startswith(back))[len(back):]


async def verify_all(verifier: SimUser, adjust: str | None = None) -> None:
    """Accept every sheet listed in /verify; on the sheet of unit `adjust`, adjust 1.1 first."""
    await verifier.send("/verify")
    listing = verifier.private.last
    for label in _buttons(listing):
        if not label.startswith("⏳ "):
            continue
        await verifier.send("/verify")
        await verifier.press(label)
        if adjust is not None and adjust[:24] in label:
            await verifier.press(vi("✏️ Adjust"))
            await verifier.send(ADJUSTED_TO)
            await verifier.send(REASON)
        await verifier.press(vi("📊 The sheet's totals"))
        await verifier.press(vi("✅ Accept all the rest"))


async def scoring_scene(tg: OfflineTelegram, admin: SimUser, chair_rep: SimUser, reps: list[SimUser],
                        group: SimChat, bot_username: str) -> None:  # fmt: skip
    """Self-scoring and verification, from whatever phase the year is in."""
    await open_phase(chair_rep, PhaseKind.SCORING)
    await admin.send("/table")  # the table is locked now that scoring is open
    units = [await score_and_submit(rep, values, EVIDENCE.get(i))
             for i, (rep, values) in enumerate(zip(reps, SCORES, strict=False))]  # fmt: skip
    await admin.send("/status")  # in private: the group's messages are rate-limited (20 a minute)

    await open_phase(chair_rep, PhaseKind.VERIFICATION)
    adjusted = reps[ADJUSTED]
    await verify_all(chair_rep, adjust=units[ADJUSTED])
    await verify_all(reps[1])  # the vice-chair verifies the chair's own sheet
    # the unit explains once, the chair decides
    await adjusted.press(vi("💬 Explain"))
    await adjusted.send(EXPLANATION)
    await chair_rep.press(vi("✍️ Another score"))
    await chair_rep.send(DECIDED)
    await adjusted.send("/scores")
    await chair_rep.send("/scores")
    await chair_rep.send("/status")
