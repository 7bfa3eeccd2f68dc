"""The demo's pledge scene: the nine units of seed 001 register, the chair reviews them (the
vice-chair the chair unit's own), one pledge is returned and fixed, the chair opens signing
(the group gets its signing message), every unit signs and the group receives the Word document.

Played by `bot.demo` after the set-up scene (registration is open then, with a deadline).
Presses use the labels exactly as the bot renders them in Vietnamese.
"""

from __future__ import annotations

from bot.offline import OfflineTelegram, SimChat, SimUser

# What each unit commits to (text, target or None), in the order of bot.demo's units, in the
# spirit of the 2024 economic cluster of the Fatherland Front's member organisations.
PLEDGES: tuple[tuple[tuple[str, str | None], ...], ...] = (
    (("Vận động nguồn lực hỗ trợ thương binh, người khuyết tật học nghề, tạo việc làm", "500 người"),
     ("Tổ chức Hội thi tin học dành cho người khuyết tật toàn quốc", None)),
    (("Tổ chức Triển lãm quốc tế Vàng bạc Đá quý Việt Nam", None),
     ("Phát triển hội viên mới", "30 doanh nghiệp")),
    (("Xây dựng mới vườn mẫu, trang trại đạt chuẩn", "200 vườn"),
     ("Tập huấn kỹ thuật canh tác hữu cơ cho hội viên", "50 lớp"),
     ("Tham gia đầy đủ các hoạt động chung của Cụm, báo cáo đúng hạn", None)),
    (("Tổ chức Festival Sinh vật cảnh toàn quốc năm 2024", None),),
    (("Phát triển mới hợp tác xã nông nghiệp ứng dụng công nghệ cao", "50 hợp tác xã"),
     ("Hỗ trợ hợp tác xã chuyển đổi số, tham gia sàn thương mại điện tử", "1.000 hợp tác xã")),
    (("Công nhận mới làng nghề, nghệ nhân tiêu biểu", "20 làng nghề"),
     ("Xây dựng bản đồ số làng nghề Việt Nam", None)),
    (("Tư vấn, hỗ trợ doanh nghiệp nhỏ và vừa tiếp cận vốn tín dụng", "2.500 doanh nghiệp"),),
    (("Tuyên truyền chống khai thác hải sản bất hợp pháp (IUU) tới các chi hội nghề cá", "100%"),
     ("Phát triển hội viên mới", "1.200 hội viên")),
    (("Tổ chức Diễn đàn Doanh nghiệp Việt Nam", None),
     ("Khảo sát, công bố Chỉ số năng lực cạnh tranh cấp tỉnh (PCI)", "63 tỉnh, thành phố")),
)  # fmt: skip
RETURNED = 4  # Liên minh Hợp tác xã Việt Nam: returned once, then fixed
RETURN_COMMENT = (
    "Đề nghị bổ sung cam kết về đào tạo, bồi dưỡng cán bộ quản lý hợp tác xã, có chỉ tiêu cụ thể."
)
FIX = ("Đào tạo, bồi dưỡng cán bộ quản lý hợp tác xã", "3.000 lượt người")
AMENDER = 2  # Hội Làm vườn Việt Nam amends its signed pledge
VICE_CHAIR = 1  # bot.demo appoints unit 0 chair and unit 1 vice-chair: it reviews the chair's pledge
AMENDMENT = ("Phối hợp tổ chức Hội chợ nông sản an toàn tại Hà Nội", "1 hội chợ")
AMEND_REASON = "Bổ sung theo kết luận của Hội nghị sơ kết Ban Thường vụ Hội tháng 6."

ADD = "➕ Thêm cam kết"
NO_TARGET = "➖ Không có chỉ tiêu"
SUBMIT = "📨 Gửi đăng ký"
ACCEPT = "✅ Chấp nhận"
RETURN = "↩️ Trả lại kèm góp ý"
CHANGE = "✏️ Sửa bản đăng ký"
OPEN_SIGNING = "▶️ Mở Ký kết giao ước"
SIGN = "✍️ Đồng ý ký giao ước"
AMEND = "📝 Sửa đổi, bổ sung giao ước"


async def add_commitment(rep: SimUser, text: str, target: str | None) -> None:
    await rep.press(ADD)
    await rep.send(text)
    if target is None:
        await rep.press(NO_TARGET)
    else:
        await rep.send(target)


async def pledge_scene(
    tg: OfflineTelegram,
    admin: SimUser,
    chair_rep: SimUser,
    reps: list[SimUser],
    group: SimChat,
    bot_username: str,
) -> None:
    """Registration → review (one returned and fixed) → signing → the document in the group,
    then one amendment announced to the group. `reps[i]` represents the i-th unit of
    `bot.demo.ECONOMIC_CLUSTER_2024`; `chair_rep` is among them."""
    to_review: dict[int, tuple[SimUser, int]] = {}  # unit index -> its reviewer, their message about it
    for index, (rep, commitments) in enumerate(zip(reps, PLEDGES, strict=True)):
        await rep.send("/pledge")
        for text, target in commitments:
            await add_commitment(rep, text, target)
        await rep.press(SUBMIT)
        reviewer = reps[VICE_CHAIR] if rep is chair_rep else chair_rep  # the chair never reviews its own
        to_review[index] = (reviewer, reviewer.private.last.message_id)

    # The chair reviews: one pledge goes back with a comment, the others are accepted (the
    # chair unit's own by the vice-chair).
    await chair_rep.press(RETURN, message_id=to_review[RETURNED][1])
    await chair_rep.send(RETURN_COMMENT)
    for index, (reviewer, message_id) in to_review.items():
        if index != RETURNED:
            await reviewer.press(ACCEPT, message_id=message_id)

    # The unit fixes its pledge and submits it again; the chair accepts it.
    fixer = reps[RETURNED]
    await fixer.press(CHANGE)
    await add_commitment(fixer, *FIX)
    await fixer.press(SUBMIT)
    await chair_rep.press(ACCEPT, message_id=chair_rep.private.last.message_id)

    # The chair opens signing; the first unit signs in private, the others in the group.
    await chair_rep.send("/phase")
    await chair_rep.press(OPEN_SIGNING)
    await chair_rep.send("/pledge")
    await chair_rep.press(SIGN)
    for rep in reps:
        if rep is not chair_rep:
            await rep.press(SIGN, chat=group)

    # A signed pledge amended later: a new version, its reason, announced to the group.
    amender = reps[AMENDER]
    await amender.send("/pledge")
    await amender.press(AMEND)
    await add_commitment(amender, *AMENDMENT)
    await amender.send(AMEND_REASON)
    await admin.send("/pledges")
