"""Pledges (*đăng ký / giao ước thi đua*): the pure rules.

No Telegram, no database: plain data in, plain data (or a `Refusal`) out. The service
`bot.services.pledges` loads pledges, asks these rules and stores what they decide.

The rules, as a chair would explain them:

- A pledge is a numbered list of **commitments** (1 to 20), each a text of 1 to 1000
  characters and, when it is measurable, a **target**: a number and what it counts
  ("50 hợp tác xã", "1.000 hội viên", "2,5 tỷ đồng", "100 %"). The target is given in its own
  step after the text, so nobody has to learn a syntax; numbers are read the Vietnamese way
  (`1.000` is one thousand, `2,5` is two and a half).
- **Life cycle** (`TRANSITIONS`): a draft (or a returned pledge) is edited by the unit's
  representatives and submitted; while submitted it can be withdrawn to be edited again; the
  chair accepts it or returns it with a comment (an accepted pledge is settled: it is not
  returned any more); an accepted pledge is signed during the signing phase; a signed pledge
  is frozen, and a later change is an **amendment**: a new version, with the previous
  content kept and who, when and why recorded.
- **Phases** (`PHASES`): editing, submitting and withdrawing happen during pledge
  registration; accepting during registration or signing (a pledge sent at the last minute can
  still be accepted), returning only during registration (the unit must be able to fix it);
  signing during signing; amending during signing or self-scoring.
- **Who reviews** (`check_reviewer`): the chair unit, or the administrator, and never a unit its
  own pledge: the chair unit's own pledge goes to the vice-chair unit (as the vice-chair
  verifies the chair's own score sheet), else to the administrator.
- Representatives edit one **shared draft**; every change carries the version it was made on,
  and a change made on an older version is refused, never merged silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from html import escape

from bot import fmt
from bot.errors import Refusal
from bot.i18n import N_, _
from bot.permissions import Action, Role, require
from storage.models.pledge import PledgeStatus
from storage.models.year import PhaseKind
from storage.text import visible

MAX_TEXT = 1000  # characters of one commitment, after trimming
MAX_ITEMS = 20
MAX_COMMENT = 1000  # the chair's comment when returning a pledge
MAX_REASON = 500  # why a signed pledge is amended
MAX_TARGET_UNIT = 64  # "hợp tác xã", "tỷ đồng" (the column's width)
MAX_TARGET_DIGITS = 10  # before the decimal point (the column is Numeric(14, 4))
TARGET_PLACES = 4
MAX_PLACE = 100
MAX_COMMON = 3000


# ----------------------------------------------------------------------------- the life cycle


class Op(StrEnum):
    """What can be done to a pledge."""

    EDIT = "edit"
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    ACCEPT = "accept"
    RETURN = "return"
    SIGN = "sign"
    AMEND = "amend"


S = PledgeStatus
# op -> (statuses it may start from, status it leaves; None: unchanged)
TRANSITIONS: dict[Op, tuple[frozenset[PledgeStatus], PledgeStatus | None]] = {
    Op.EDIT: (frozenset({S.DRAFT, S.RETURNED}), None),
    Op.SUBMIT: (frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED),
    Op.WITHDRAW: (frozenset({S.SUBMITTED}), S.DRAFT),
    Op.ACCEPT: (frozenset({S.SUBMITTED}), S.ACCEPTED),
    Op.RETURN: (frozenset({S.SUBMITTED}), S.RETURNED),
    Op.SIGN: (frozenset({S.ACCEPTED}), S.SIGNED),
    Op.AMEND: (frozenset({S.SIGNED}), None),
}
# op -> the phases during which it may be done
PHASES: dict[Op, tuple[PhaseKind, ...]] = {
    Op.EDIT: (PhaseKind.REGISTRATION,),
    Op.SUBMIT: (PhaseKind.REGISTRATION,),
    Op.WITHDRAW: (PhaseKind.REGISTRATION,),
    Op.ACCEPT: (PhaseKind.REGISTRATION, PhaseKind.SIGNING),
    Op.RETURN: (PhaseKind.REGISTRATION,),
    Op.SIGN: (PhaseKind.SIGNING,),
    Op.AMEND: (PhaseKind.SIGNING, PhaseKind.SCORING),
}

STATUS_NAMES: dict[PledgeStatus, str] = {
    S.DRAFT: N_("draft"),
    S.SUBMITTED: N_("submitted, waiting for the chair"),
    S.RETURNED: N_("returned for changes"),
    S.ACCEPTED: N_("accepted"),
    S.SIGNED: N_("signed"),
}
STATUS_ICONS: dict[PledgeStatus | None, str] = {
    None: "⚪", S.DRAFT: "📝", S.SUBMITTED: "📨", S.RETURNED: "↩️", S.ACCEPTED: "✅", S.SIGNED: "✍️",
}


def status_name(status: PledgeStatus | None) -> str:
    return _(STATUS_NAMES[status]) if status is not None else _("not started")


def allows(op: Op, status: PledgeStatus) -> bool:
    return status in TRANSITIONS[op][0]


def check(op: Op, status: PledgeStatus) -> PledgeStatus:
    """The status after `op`, or a `Refusal` that says why not in words a person can act on."""
    starts, after = TRANSITIONS[op]
    if status in starts:
        return after or status
    raise Refusal(_refusal_text(op, status))


def _refusal_text(op: Op, status: PledgeStatus) -> str:
    if op == Op.SIGN and status == S.SIGNED:
        return _("Your unit has already signed the pledge.")
    if op == Op.SIGN:
        return _(
            "Only an accepted pledge can be signed; this one is {status}. Ask the chair to "
            "accept it first."
        ).format(status=status_name(status))
    if op in (Op.EDIT, Op.SUBMIT) and status == S.SUBMITTED:
        return _(
            "The pledge has been submitted and is waiting for the chair. Withdraw it first to "
            "change it."
        )
    if op in (Op.EDIT, Op.SUBMIT) and status == S.SIGNED:
        return _("The pledge is signed; a change now is an amendment, with a reason.")
    if op in (Op.ACCEPT, Op.RETURN) and status != S.SUBMITTED:
        return _("This pledge is {status}: there is nothing to review.").format(status=status_name(status))
    if op == Op.AMEND:
        return _("Only a signed pledge is amended; this one is {status}.").format(status=status_name(status))
    return _("This cannot be done to a pledge that is {status}.").format(status=status_name(status))


def check_reviewer(unit_id: int, chair_unit_id: int | None, roles: Iterable[str], own_unit_ids: Iterable[int]) -> None:
    """May someone with `roles`, representing `own_unit_ids`, accept or return the pledge of
    `unit_id`? A `Refusal` saying who reviews it instead, if not."""
    roles = set(roles)
    if unit_id in set(own_unit_ids):
        if unit_id == chair_unit_id:
            raise Refusal(_("This is the chair unit's own pledge: the vice-chair unit (or the cluster "
                            "administrator) reviews it, not the chair."))  # fmt: skip
        raise Refusal(_("You represent this unit, so you cannot review its own pledge."))
    if unit_id == chair_unit_id and Role.VICE_CHAIR in roles:
        return
    require(roles, Action.REVIEW_PLEDGE)


class Reviewer(StrEnum):
    """In which capacity a pledge was reviewed, as the unit is told."""

    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"  # the chair unit's own pledge
    ADMIN = "admin"


def reviewed_as(unit_id: int, chair_unit_id: int | None, roles: Iterable[str]) -> Reviewer:
    """Who reviewed the pledge of `unit_id`, for someone `check_reviewer` let review it: the
    vice-chair unit for the chair unit's own pledge, else the chair, else the administrator."""
    roles = set(roles)
    if unit_id == chair_unit_id and Role.VICE_CHAIR in roles:
        return Reviewer.VICE_CHAIR
    if Role.CHAIR in roles:
        return Reviewer.CHAIR
    return Reviewer.ADMIN


def may_review(unit_id: int, chair_unit_id: int | None, roles: Iterable[str], own_unit_ids: Iterable[int]) -> bool:
    try:
        check_reviewer(unit_id, chair_unit_id, roles, own_unit_ids)
    except Refusal:
        return False
    return True


# ----------------------------------------------------------------------------- commitments


@dataclass(frozen=True)
class Target:
    value: Decimal
    unit: str  # may be empty ("100" alone)


@dataclass(frozen=True)
class Item:
    """One commitment as the rules see it; `id` is None for one not stored yet."""

    id: int | None
    text: str
    target: Target | None = None


def clean_text(text: str | None, limit: int = MAX_TEXT, what: str | None = None) -> str:
    """Trimmed, runs of whitespace (line breaks too) made one space, control and invisible
    characters dropped (`storage.text.visible`); 1 to `limit` characters."""
    cleaned = " ".join(visible(text or "").split())
    if not cleaned:
        raise Refusal(_("The text is empty. Please type it again, or /cancel."))
    if len(cleaned) > limit:
        raise Refusal(
            _("{what} has {count} characters; at most {max} are allowed. Please shorten it.").format(
                what=what or _("This commitment"), count=len(cleaned), max=limit
            )
        )
    return cleaned


# ASCII digits only: `\d` would also take Arabic-Indic or full-width digits, which Decimal reads
# but nobody here types on purpose.
_DOT_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?:,[0-9]+)?")
_PLAIN = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
_LEADING_NUMBER = re.compile(r"[0-9][0-9.,]*")
_EXPONENT = re.compile(r"[eE][+-]?[0-9]")
_MINUS = re.compile(r"[-−–][0-9]")
_SHOWN = 24  # characters of a typed number echoed back in a refusal


def _shown(raw: str) -> str:
    return escape(raw if len(raw) <= _SHOWN else raw[: _SHOWN - 1] + "…")


def target_limit_text() -> str:
    """The largest target, in words a person reads: "10.000.000.000"."""
    return fmt.decimal_text(Decimal(10) ** MAX_TARGET_DIGITS)


def parse_number(raw: str) -> Decimal:
    """A non-negative number as a Vietnamese reader writes it.

    `1.000` and `12.500.000` use dots between thousands; `2,5` and `1.000,5` a decimal comma.
    A dot not followed by groups of three digits is taken as a decimal point (`2.5`), since
    phones often offer only the dot; so is a dot after a leading zero (`0.500` is a half).
    `1,000` is refused as ambiguous (one, or one thousand?). Below 10^10, at most four
    decimals (the column is Numeric(14, 4)); both are checked on the digits as typed, before
    any arithmetic, so a number of any length is refused in words, never by an exception.
    """
    raw = raw.strip()
    if _DOT_THOUSANDS.fullmatch(raw):
        whole, _sep, fraction = raw.replace(".", "").partition(",")
    elif _PLAIN.fullmatch(raw):
        whole, _sep, fraction = raw.replace(",", ".").partition(".")
        if "," in raw and len(fraction) == 3 and whole.lstrip("0"):
            raise Refusal(
                _(
                    "Is {number} one thousand or a decimal number? Write 1.000 for one thousand "
                    "and 1,5 for one and a half."
                ).format(number=_shown(raw))
            )
    else:
        raise Refusal(_("I could not read the number {number}.").format(number=_shown(raw)))
    whole, fraction = whole.lstrip("0"), fraction.rstrip("0")
    if len(whole) > MAX_TARGET_DIGITS:
        raise Refusal(
            _("The number {number} is too large for a target: it must be less than {limit}.").format(
                number=_shown(raw), limit=target_limit_text()
            )
        )
    if len(fraction) > TARGET_PLACES:
        raise Refusal(
            _("A target has at most {places} decimal places.").format(places=TARGET_PLACES)
        )
    return Decimal(f"{whole or 0}.{fraction}" if fraction else whole or 0)


def _foreign_digit(char: str) -> bool:
    """A digit-like character that is not 0-9: `٣`, `３`, `²`, `½`."""
    return bool(char) and char.isnumeric() and not ("0" <= char <= "9")


def parse_target(text: str | None) -> Target:
    """`50 hợp tác xã` → Target(50, "hợp tác xã"); `95%` → Target(95, "%"); `1.000` alone too.

    The number comes first, then what it counts. A leading "chỉ tiêu:" is tolerated.
    """
    raw = " ".join(visible(text or "").split())
    raw = re.sub(r"^(?:chỉ tiêu|target)\s*:?\s*", "", raw, flags=re.IGNORECASE)
    if _foreign_digit(raw[:1]):
        raise Refusal(_foreign_digits_text())
    if _MINUS.match(raw):
        raise Refusal(_("A target cannot be negative: write it as a number from 0, e.g. “50 hợp tác xã”."))
    match = _LEADING_NUMBER.match(raw)
    if not raw or match is None:
        raise Refusal(
            _(
                "Write the target as a number followed by what it counts, e.g. “50 hợp tác xã” "
                "or “1.000 hội viên”; or press “No target”."
            )
        )
    number = match[0].rstrip(".,")
    unit = raw[len(number) :].strip()
    value = parse_number(number)
    if _EXPONENT.match(raw[len(number) :]):
        raise Refusal(_("Write the number in full, e.g. 1.000.000 (not 1e6), then what it counts."))
    if _foreign_digit(unit[:1]):
        raise Refusal(_foreign_digits_text())
    if unit[:1].isdigit():
        raise Refusal(
            _("Write the number without spaces inside it (1.000, not 1 000), then what it counts.")
        )
    if len(unit) > MAX_TARGET_UNIT:
        raise Refusal(
            _("What the target counts has at most {max} characters, e.g. “hợp tác xã”.").format(
                max=MAX_TARGET_UNIT
            )
        )
    return Target(value, unit)


def _foreign_digits_text() -> str:
    return _("Write the number with the digits 0 to 9, e.g. “50 hợp tác xã” or “1.000 hội viên”.")


def number_text(value: Decimal, locale: str | None = None) -> str:
    """`1.000`, `2,5`, `0,125`: every decimal kept, no trailing zeros."""
    return fmt.decimal_text(value, locale)


def target_text(target: Target | None, locale: str | None = None) -> str:
    if target is None:
        return ""
    number = number_text(target.value, locale)
    if not target.unit:
        return number
    joiner = "" if target.unit == "%" else " "
    return f"{number}{joiner}{target.unit}"


# ----------------------------------------------------------------------------- changes


class ChangeKind(StrEnum):
    ADD = "add"
    TEXT = "text"
    TARGET = "target"
    DELETE = "delete"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class Change:
    """One edit of the list. `target` None with kind TARGET clears the target."""

    kind: ChangeKind
    item_id: int | None = None
    text: str | None = None
    target: Target | None = None

    def as_data(self) -> dict:
        """JSON-safe, for a conversation step that must wait for a reason."""
        data: dict = {"kind": self.kind.value, "item_id": self.item_id, "text": self.text}
        if self.target is not None:
            data["target"] = [str(self.target.value), self.target.unit]
        return data

    @classmethod
    def from_data(cls, data: dict) -> Change:
        target = data.get("target")
        return cls(
            ChangeKind(data["kind"]),
            data.get("item_id"),
            data.get("text"),
            Target(Decimal(target[0]), target[1]) if target else None,
        )


def apply_change(items: Sequence[Item], change: Change) -> list[Item]:
    """The list after `change`; a `Refusal` when it names an item that is gone or goes too far."""
    result = list(items)
    if change.kind == ChangeKind.ADD:
        if len(result) >= MAX_ITEMS:
            raise Refusal(_("A pledge has at most {max} commitments.").format(max=MAX_ITEMS))
        return [*result, Item(None, clean_text(change.text), change.target)]
    index = next((i for i, item in enumerate(result) if item.id == change.item_id), None)
    if index is None:
        raise Refusal(_("That commitment is no longer in the pledge."))
    item = result[index]
    if change.kind == ChangeKind.TEXT:
        result[index] = replace(item, text=clean_text(change.text))
    elif change.kind == ChangeKind.TARGET:
        result[index] = replace(item, target=change.target)
    elif change.kind == ChangeKind.DELETE:
        del result[index]
    else:
        other = index - 1 if change.kind == ChangeKind.UP else index + 1
        if not 0 <= other < len(result):
            raise Refusal(_("That commitment is already at the top.") if other < 0
                          else _("That commitment is already at the bottom."))  # fmt: skip
        result[index], result[other] = result[other], result[index]
    return result


def change_summary(items: Sequence[Item], change: Change) -> str:
    """A short description for the group: "commitment 3 added", "commitment 2 deleted"."""
    number = next((i for i, item in enumerate(items, 1) if item.id == change.item_id), len(items) + 1)
    texts = {
        ChangeKind.ADD: _("commitment {n} added"),
        ChangeKind.TEXT: _("commitment {n} reworded"),
        ChangeKind.TARGET: _("the target of commitment {n} changed"),
        ChangeKind.DELETE: _("commitment {n} deleted"),
        ChangeKind.UP: _("commitment {n} moved up"),
        ChangeKind.DOWN: _("commitment {n} moved down"),
    }
    return texts[change.kind].format(n=number)


def snapshot(items: Sequence[Item]) -> dict:
    """The content kept by an amendment (JSON: decimals as strings)."""
    return {
        "items": [
            {
                "text": item.text,
                "target_value": str(item.target.value) if item.target else None,
                "target_unit": item.target.unit if item.target else None,
            }
            for item in items
        ]
    }


def require_submittable(items: Sequence[Item]) -> None:
    if not items:
        raise Refusal(_("Add at least one commitment before submitting."))


# ----------------------------------------------------------------------------- words


def item_lines(items: Sequence[Item], *, numbered_from: int = 1) -> list[str]:
    """HTML lines of the commitments, user text escaped; one entry per commitment."""
    lines = []
    for number, item in enumerate(items, numbered_from):
        line = f"<b>{number}.</b> {escape(item.text)}"
        if item.target is not None:
            line += "\n    🎯 " + _("Target: {target}").format(target=escape(target_text(item.target)))
        lines.append(line)
    return lines


def default_common_content(cluster_name: str, year: int) -> str:
    """What the units commit to together, unless the cluster wrote its own (a setting)."""
    return (
        f"Thực hiện Kế hoạch thi đua năm {year} của {cluster_name}, các đơn vị thành viên "
        "thống nhất ký kết giao ước thi đua: đoàn kết, phối hợp chặt chẽ, chủ động, sáng tạo "
        "trong thực hiện nhiệm vụ chính trị của đơn vị; phát động và triển khai sâu rộng các "
        "phong trào thi đua yêu nước; kịp thời phát hiện, bồi dưỡng, nhân rộng các điển hình "
        "tiên tiến; thực hiện công tác khen thưởng đúng, kịp thời; tham gia đầy đủ các hoạt "
        "động chung và báo cáo đúng hạn theo Quy chế hoạt động của Cụm."
    )
