"""The one place that builds and parses inline-button `callback_data`.

Every button is a declared shape: a frozen dataclass whose fields say what each part of the
data is (an id within the database column's range, a page, a version, a word out of a fixed
set, a point value). `button.pack()` writes the data and checks Telegram's 64 bytes at the
source, so a button Telegram would refuse fails in a unit test, not in a user's chat. A
`Namespace` lists the shapes that share a prefix and turns data back into the one typed
object it spells, or `None` — so forged or stale data (`²` for a digit, an id past int32, a
missing or extra part, an unknown action) is refused in one place, before any handler or
database sees it, and no handler splits or converts parts by hand.

The format is `namespace[:tag]:field:field...`, with exact arity. A shape's tag is a fixed
word after the namespace (`ph:v:<year>`); a shape whose first field is a choice (`ph:<o|c|…>`)
is found by that word instead; a namespace with one shape needs neither. Parsing accepts only
the spelling `pack` writes (ASCII digits, no sign, no leading zero), so `unpack(pack(b)) == b`
and every accepted string is the `pack` of its object.

Modelled on aiogram's `CallbackData` factory and ultimate-poll-bot's callback mapping.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from bot.i18n import SUPPORTED_LOCALES
from bot.rotation import MODES
from storage.models.ballot import BallotKind
from storage.models.cluster import ClusterKind
from storage.models.year import Office, PhaseKind

MAX_BYTES = 64
SEP = ":"
# A button that only shows something (a page number): answered quietly by handlers/fallback.py.
NOOP = "noop"
INT32_MAX = 2**31 - 1  # ids and versions are SQL INTEGER columns


class CallbackDataError(ValueError):
    """A button that cannot be built: a bug in our code, never a user's doing."""


# ------------------------------------------------------------------------------ field kinds


class Field:
    """How one part of the data is read (`parse`, None when it is not a valid part) and
    written (`format`, which refuses a value the shape would not read back)."""

    def parse(self, text: str) -> Any | None:
        raise NotImplementedError

    def format(self, value: Any) -> str:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Int(Field):
    """A whole number in [low, high], written in ASCII digits without sign or leading zero."""

    low: int
    high: int

    def parse(self, text: str) -> int | None:
        if not (0 < len(text) <= len(str(self.high))) or not text.isascii() or not text.isdigit():
            return None
        if text[0] == "0" and text != "0":
            return None
        value = int(text)
        return value if self.low <= value <= self.high else None

    def format(self, value: Any) -> str:
        if type(value) is not int or not self.low <= value <= self.high:
            raise CallbackDataError(f"{value!r} is not a whole number in [{self.low}, {self.high}]")
        return str(value)


@dataclasses.dataclass(frozen=True)
class Choice(Field):
    """One of a fixed set of words; `words` maps the word in the data to the value."""

    words: Mapping[str, Any]

    def parse(self, text: str) -> Any | None:
        return self.words.get(text)

    def format(self, value: Any) -> str:
        for word, known in self.words.items():
            if known == value:
                return word
        raise CallbackDataError(f"{value!r} is not one of {sorted(self.words)}")

    @classmethod
    def of(cls, values) -> Choice:
        return cls({str(v.value if isinstance(v, Enum) else v): v for v in values})


@dataclasses.dataclass(frozen=True)
class Points(Field):
    """A point value as scores are stored (`Numeric(8, 2)`): `8.5`, `30`, never negative."""

    _SPELLING: ClassVar[re.Pattern[str]] = re.compile(r"(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{0,1}[1-9])?")

    def parse(self, text: str) -> Decimal | None:
        if not self._SPELLING.fullmatch(text):
            return None
        return Decimal(text)

    def format(self, value: Any) -> str:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise CallbackDataError(f"{value!r} is not a finite Decimal")
        try:
            text = format(value.quantize(Decimal("0.01")), "f")
        except InvalidOperation as exc:
            raise CallbackDataError(f"{value!r} does not fit a point value") from exc
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if self.parse(text) != value:
            raise CallbackDataError(f"{value!r} is not a point value a button can carry")
        return text


@dataclasses.dataclass(frozen=True)
class Word(Field):
    """A short lower-case word (a command name to run again, `-` for none)."""

    _SPELLING: ClassVar[re.Pattern[str]] = re.compile(r"[a-z_-]{1,32}")

    def parse(self, text: str) -> str | None:
        return text if self._SPELLING.fullmatch(text) else None

    def format(self, value: Any) -> str:
        if not isinstance(value, str) or self.parse(value) is None:
            raise CallbackDataError(f"{value!r} is not a word a button can carry")
        return value


@dataclasses.dataclass(frozen=True)
class Mask(Field):
    """A set of positions 0..`size`-1 as one number, written in base 36 (lower case, no leading
    zero): the candidates marked on a ballot paper being filled in, which live only in the
    paper's own buttons and never in the database."""

    size: int

    _SPELLING: ClassVar[re.Pattern[str]] = re.compile(r"0|[1-9a-z][0-9a-z]{0,17}")

    def parse(self, text: str) -> frozenset[int] | None:
        if not self._SPELLING.fullmatch(text):
            return None
        value = int(text, 36)
        if value >= 1 << self.size:
            return None
        return frozenset(i for i in range(self.size) if value >> i & 1)

    def format(self, value: Any) -> str:
        if not isinstance(value, frozenset) or any(type(i) is not int or not 0 <= i < self.size for i in value):
            raise CallbackDataError(f"{value!r} is not a set of positions below {self.size}")
        number = sum(1 << i for i in value)
        digits = ""
        while True:
            number, digit = divmod(number, 36)
            digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
            if number == 0:
                return digits


Id = Annotated[int, Int(1, INT32_MAX)]  # a row of any table: SQL INTEGER, from 1
Version = Annotated[int, Int(1, INT32_MAX)]  # a version_id_col, from 1
Page = Annotated[int, Int(0, 9999)]
Year = Annotated[int, Int(1, 9999)]  # an emulation year, 2025
EpochSeconds = Annotated[int, Int(0, 253_402_300_799)]  # up to 9999-12-31 23:59:59 UTC
PointValue = Annotated[Decimal, Points()]
CommandWord = Annotated[str, Word()]
Locale = Annotated[str, Choice.of(SUPPORTED_LOCALES)]
VerifyModeWord = Annotated[str, Choice.of(MODES)]
OfficeCode = Annotated[Office, Choice({"c": Office.CHAIR, "v": Office.VICE_CHAIR})]
PledgeMode = Annotated[int, Int(0, 1)]  # handlers.pledge: VIEW, AMEND


# ------------------------------------------------------------------------------ shapes


class Button:
    """A declared button: subclass with `ns=` (and `tag=` for a fixed word after it) and
    decorate with `@dataclass(frozen=True)`; each field's annotation says how it is read."""

    namespace: ClassVar[str]
    tag: ClassVar[str | None]

    def __init_subclass__(cls, *, ns: str, tag: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.namespace, cls.tag = ns, tag

    @classmethod
    def fields(cls) -> tuple[tuple[str, Field], ...]:
        """(name, kind) of each part after the namespace and the tag, in order."""
        cached = cls.__dict__.get("_fields")
        if cached is None:
            hints = typing.get_type_hints(cls, include_extras=True)
            cached = tuple((f.name, _field_kind(cls, f.name, hints[f.name])) for f in dataclasses.fields(cls))
            cls._fields = cached
        return cached

    @property
    def key(self) -> str:
        """The word after the namespace that picks this shape: its tag or its first field."""
        if self.tag is not None:
            return self.tag
        name, kind = self.fields()[0]
        return kind.format(getattr(self, name))

    def pack(self) -> str:
        parts = [self.namespace, *([self.tag] if self.tag else [])]
        parts += [kind.format(getattr(self, name)) for name, kind in self.fields()]
        for part in parts:
            if not part or SEP in part:
                raise CallbackDataError(f"callback part {part!r} is empty or contains {SEP!r}")
        data = SEP.join(parts)
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise CallbackDataError(f"callback_data {data!r} is over {MAX_BYTES} bytes")
        return data


def _field_kind(cls: type, name: str, hint: Any) -> Field:
    if typing.get_origin(hint) is Annotated:
        kinds = [m for m in hint.__metadata__ if isinstance(m, Field)]
        if len(kinds) == 1:
            return kinds[0]
    elif typing.get_origin(hint) is Literal:
        return Choice.of(typing.get_args(hint))
    elif isinstance(hint, type) and issubclass(hint, Enum):
        return Choice.of(hint)
    raise TypeError(f"{cls.__name__}.{name}: say what the part is (Id, Page, an Enum, a Literal...), not {hint!r}")


B = TypeVar("B", bound=Button)


class Namespace:
    """The shapes that share a prefix: the table from data to the shape it spells."""

    def __init__(self, name: str, *shapes: type[Button]) -> None:
        self.name = name
        self.shapes = shapes
        self._table: dict[tuple[str | None, int], type[Button]] = {}
        for shape in shapes:
            if shape.namespace != name:
                raise TypeError(f"{shape.__name__} belongs to {shape.namespace!r}, not {name!r}")
            fields = shape.fields()
            if shape.tag is not None:
                keys: list[str | None] = [shape.tag]
                arity = 1 + len(fields)
            elif fields and isinstance(fields[0][1], Choice):
                keys, arity = list(fields[0][1].words), len(fields)
            else:
                if len(shapes) != 1:
                    raise TypeError(f"{shape.__name__} needs a tag: {name!r} has several shapes")
                keys, arity = [None], len(fields)
            for key in keys:
                if (key, arity) in self._table:
                    raise TypeError(f"{name}:{key} with {arity} parts is declared twice")
                self._table[(key, arity)] = shape

    @property
    def pattern(self) -> str:
        """The regex for this namespace's `CallbackQueryHandler`."""
        return rf"^{re.escape(self.name)}(?::|$)"

    def build(self, key: str, *values: Any) -> Button:
        """The shape that `key` and as many values pick, made from them: `SCORE.build("c",
        sheet, version, criterion)` is `ScoreCriterion("c", sheet, version, criterion)`.
        For keyboards that draw many buttons of one namespace in a loop."""
        shape = self._table.get((key, 1 + len(values)))
        if shape is None:
            raise CallbackDataError(f"{self.name} has no {key!r} button with {len(values)} values")
        if shape.tag is None:
            values = (shape.fields()[0][1].parse(key), *values)
        made = shape(*values)
        made.pack()  # check the values now, where the button is drawn
        return made

    def unpack(self, data: str | None) -> Button | None:
        """The typed button `data` spells, or None for anything we never built."""
        if not data or len(data.encode("utf-8")) > MAX_BYTES:
            return None
        prefix, *parts = data.split(SEP)
        if prefix != self.name:
            return None
        shape = self._table.get((parts[0] if parts else None, len(parts))) or self._table.get((None, len(parts)))
        if shape is None:
            return None
        values = parts[1:] if shape.tag is not None else parts
        parsed = {}
        for (name, kind), text in zip(shape.fields(), values, strict=True):
            value = kind.parse(text)
            if value is None:
                return None
            parsed[name] = value
        return shape(**parsed)


def unpack_as(namespace: Namespace, data: str | None, shape: type[B]) -> B | None:
    """`data` read as one expected shape (tests and typed code paths); None otherwise."""
    found = namespace.unpack(data)
    return found if isinstance(found, shape) else None


# ------------------------------------------------------------------------------ cl: which cluster


@dataclasses.dataclass(frozen=True)
class ClusterPick(Button, ns="cl"):
    """`cl:<cluster>:<command>` — work in this cluster, then run the command again (`-`: none)."""

    cluster_id: Id
    command: CommandWord


CLUSTER = Namespace("cl", ClusterPick)


# ------------------------------------------------------------------------------ lang


@dataclasses.dataclass(frozen=True)
class LanguagePick(Button, ns="lang"):
    locale: Locale


LANGUAGE = Namespace("lang", LanguagePick)


# ------------------------------------------------------------------------------ kind, yr: /setup


@dataclasses.dataclass(frozen=True)
class SetupKind(Button, ns="kind"):
    cluster_id: Id
    kind: ClusterKind


@dataclasses.dataclass(frozen=True)
class SetupYear(Button, ns="yr"):
    cluster_id: Id
    year: Year


@dataclasses.dataclass(frozen=True)
class SetupAsk(Button, ns="su"):
    """`su:<year|place>:<cluster>` — type the emulation year / the document's place in private."""

    what: Literal["year", "place"]
    cluster_id: Id


SETUP_KIND = Namespace("kind", SetupKind)
SETUP_YEAR = Namespace("yr", SetupYear)
SETUP_ASK = Namespace("su", SetupAsk)


# ------------------------------------------------------------------------------ u: /units


@dataclasses.dataclass(frozen=True)
class UnitsList(Button, ns="u", tag="list"):
    cluster_id: Id
    page: Page


@dataclasses.dataclass(frozen=True)
class UnitsAdd(Button, ns="u", tag="add"):
    cluster_id: Id


@dataclasses.dataclass(frozen=True)
class UnitsMenu(Button, ns="u"):
    """ren rename · off deactivate · on restore: which unit?"""

    action: Literal["ren", "off", "on"]
    cluster_id: Id


@dataclasses.dataclass(frozen=True)
class UnitsPick(Button, ns="u"):
    """A unit picked to rename (rn), deactivate (dx) or restore (ax)."""

    action: Literal["rn", "dx", "ax"]
    cluster_id: Id
    unit_id: Id


@dataclasses.dataclass(frozen=True)
class UnitsPage(Button, ns="u", tag="page"):
    action: Literal["rn", "dx", "ax"]
    cluster_id: Id
    page: Page


UNITS = Namespace("u", UnitsList, UnitsAdd, UnitsMenu, UnitsPick, UnitsPage)


# ------------------------------------------------------------------------------ inv: /invite


@dataclasses.dataclass(frozen=True)
class InviteRepresentative(Button, ns="inv", tag="rep"):
    cluster_id: Id
    unit_id: Id


@dataclasses.dataclass(frozen=True)
class InvitePage(Button, ns="inv", tag="page"):
    picker: Literal["rep"]
    cluster_id: Id
    page: Page


@dataclasses.dataclass(frozen=True)
class InviteSecretariat(Button, ns="inv", tag="sec"):
    cluster_id: Id


@dataclasses.dataclass(frozen=True)
class InviteRevoke(Button, ns="inv", tag="rev"):
    cluster_id: Id
    invite_id: Id


@dataclasses.dataclass(frozen=True)
class InviteAnswer(Button, ns="inv"):
    """The invited person's yes or no."""

    answer: Literal["yes", "no"]
    invite_id: Id


INVITE = Namespace("inv", InviteRepresentative, InvitePage, InviteSecretariat, InviteRevoke, InviteAnswer)


# ------------------------------------------------------------------------------ ch: /chair


@dataclasses.dataclass(frozen=True)
class ChairMenu(Button, ns="ch", tag="menu"):
    office: OfficeCode
    cluster_id: Id


@dataclasses.dataclass(frozen=True)
class ChairPage(Button, ns="ch", tag="page"):
    office: OfficeCode
    cluster_id: Id
    page: Page


@dataclasses.dataclass(frozen=True)
class ChairPick(Button, ns="ch"):
    office: OfficeCode
    cluster_id: Id
    unit_id: Id


CHAIR = Namespace("ch", ChairMenu, ChairPage, ChairPick)


# ------------------------------------------------------------------------------ tbl: /table


@dataclasses.dataclass(frozen=True)
class TableAction(Button, ns="tbl"):
    """xlsx · csv: download · new: replace the table from a file."""

    action: Literal["xlsx", "csv", "new"]
    cluster_id: Id


TABLE = Namespace("tbl", TableAction)


# ------------------------------------------------------------------------------ ph: /phase


@dataclasses.dataclass(frozen=True)
class PhaseOverview(Button, ns="ph", tag="v"):
    year_id: Id


@dataclasses.dataclass(frozen=True)
class PhaseAct(Button, ns="ph"):
    """o open next · r reopen · b step back · c close · d deadline choices · t type one."""

    action: Literal["o", "r", "b", "c", "d", "t"]
    year_id: Id
    kind: PhaseKind


@dataclasses.dataclass(frozen=True)
class PhaseDeadline(Button, ns="ph", tag="s"):
    """A quick deadline choice, in epoch seconds."""

    year_id: Id
    kind: PhaseKind
    at: EpochSeconds


PHASE = Namespace("ph", PhaseOverview, PhaseAct, PhaseDeadline)


# ------------------------------------------------------------------------------ pl: /pledge


@dataclasses.dataclass(frozen=True)
class PledgeUnit(Button, ns="pl", tag="u"):
    cluster_id: Id
    unit_id: Id


@dataclasses.dataclass(frozen=True)
class PledgeView(Button, ns="pl", tag="v"):
    pledge_id: Id


@dataclasses.dataclass(frozen=True)
class PledgePage(Button, ns="pl", tag="pg"):
    pledge_id: Id
    page: Page
    mode: PledgeMode


@dataclasses.dataclass(frozen=True)
class PledgeStep(Button, ns="pl"):
    """add · pick · sub submit · wd withdraw · am amend · nt no target: on `version`."""

    action: Literal["add", "pick", "sub", "wd", "am", "nt"]
    pledge_id: Id
    version: Version


@dataclasses.dataclass(frozen=True)
class PledgeItemStep(Button, ns="pl"):
    """it open · tx reword · tg target · up/dn move · del/delok delete: one commitment."""

    action: Literal["it", "tx", "tg", "up", "dn", "del", "delok"]
    pledge_id: Id
    version: Version
    item_id: Id


PLEDGE = Namespace("pl", PledgeUnit, PledgeView, PledgePage, PledgeStep, PledgeItemStep)


# ------------------------------------------------------------------------------ plr: review


@dataclasses.dataclass(frozen=True)
class ReviewOpen(Button, ns="plr", tag="open"):
    pledge_id: Id


@dataclasses.dataclass(frozen=True)
class ReviewPage(Button, ns="plr", tag="pg"):
    pledge_id: Id
    page: Page


@dataclasses.dataclass(frozen=True)
class ReviewDecision(Button, ns="plr"):
    """ok accept · ret return with a comment: on `version`."""

    action: Literal["ok", "ret"]
    pledge_id: Id
    version: Version


REVIEW = Namespace("plr", ReviewOpen, ReviewPage, ReviewDecision)


# ------------------------------------------------------------------------------ pls: signing


@dataclasses.dataclass(frozen=True)
class SignBoard(Button, ns="pls", tag="s"):
    """The group's signing message: sign for the unit the person represents."""

    year_id: Id


@dataclasses.dataclass(frozen=True)
class SignUnit(Button, ns="pls", tag="s"):
    """/pledge in private: sign for this unit."""

    year_id: Id
    unit_id: Id


@dataclasses.dataclass(frozen=True)
class SigningEnd(Button, ns="pls"):
    """end: ask to conclude · endok: conclude."""

    action: Literal["end", "endok"]
    year_id: Id


@dataclasses.dataclass(frozen=True)
class SigningKeepGoing(Button, ns="pls", tag="no"):
    pass


SIGNING = Namespace("pls", SignBoard, SignUnit, SigningEnd, SigningKeepGoing)


# ------------------------------------------------------------------------------ pll: /pledges


@dataclasses.dataclass(frozen=True)
class PledgesDocument(Button, ns="pll", tag="doc"):
    year_id: Id


@dataclasses.dataclass(frozen=True)
class PledgesSetting(Button, ns="pll"):
    """set: the document's settings · place / common: type one."""

    action: Literal["set", "place", "common"]
    cluster_id: Id


PLEDGES = Namespace("pll", PledgesDocument, PledgesSetting)


# ------------------------------------------------------------------------------ sc: /score


@dataclasses.dataclass(frozen=True)
class ScoreUnit(Button, ns="sc", tag="u"):
    cluster_id: Id
    unit_id: Id


@dataclasses.dataclass(frozen=True)
class ScoreSheetStep(Button, ns="sc"):
    """s summary · p submit? · P submit: the sheet as drawn at `version`."""

    action: Literal["s", "p", "P"]
    sheet_id: Id
    version: Version


@dataclasses.dataclass(frozen=True)
class ScoreCriterion(Button, ns="sc"):
    """c card · n note · N remove the note · e evidence: one criterion."""

    action: Literal["c", "n", "N", "e"]
    sheet_id: Id
    version: Version
    criterion_id: Id


@dataclasses.dataclass(frozen=True)
class ScoreList(Button, ns="sc", tag="l"):
    sheet_id: Id
    version: Version
    page: Page


@dataclasses.dataclass(frozen=True)
class ScoreEvidence(Button, ns="sc"):
    """f send the file back · x remove it."""

    action: Literal["f", "x"]
    sheet_id: Id
    version: Version
    evidence_id: Id


@dataclasses.dataclass(frozen=True)
class ScoreQuick(Button, ns="sc", tag="q"):
    """A quick value for a criterion."""

    sheet_id: Id
    version: Version
    criterion_id: Id
    value: PointValue


SCORE = Namespace("sc", ScoreUnit, ScoreSheetStep, ScoreCriterion, ScoreList, ScoreEvidence, ScoreQuick)


# ------------------------------------------------------------------------------ ss: /scores


@dataclasses.dataclass(frozen=True)
class ScoresTable(Button, ns="ss"):
    """x the table as .xlsx · t the table again."""

    action: Literal["x", "t"]
    cluster_id: Id


@dataclasses.dataclass(frozen=True)
class ScoresUnits(Button, ns="ss", tag="u"):
    """The paged list of units whose sheet to open."""

    cluster_id: Id
    page: Page


@dataclasses.dataclass(frozen=True)
class ScoresUnitsPage(Button, ns="ss", tag="page"):
    """◀ ▶ of that list (`handlers.keyboards.unit_picker`)."""

    picker: Literal["v"]
    cluster_id: Id
    page: Page


@dataclasses.dataclass(frozen=True)
class ScoresSheet(Button, ns="ss", tag="v"):
    cluster_id: Id
    unit_id: Id


@dataclasses.dataclass(frozen=True)
class ScoresReopen(Button, ns="ss", tag="r"):
    sheet_id: Id
    version: Version


SCORES = Namespace("ss", ScoresTable, ScoresUnits, ScoresUnitsPage, ScoresSheet, ScoresReopen)


# ------------------------------------------------------------------------------ vf: /verify


@dataclasses.dataclass(frozen=True)
class VerifyList(Button, ns="vf", tag="L"):
    cluster_id: Id
    page: Page


@dataclasses.dataclass(frozen=True)
class VerifyDisputes(Button, ns="vf", tag="D"):
    cluster_id: Id


@dataclasses.dataclass(frozen=True)
class VerifyMode(Button, ns="vf", tag="m"):
    cluster_id: Id
    mode: VerifyModeWord


@dataclasses.dataclass(frozen=True)
class VerifySheetStep(Button, ns="vf"):
    """o open · s totals · A accept all the rest: the sheet as drawn at `version`."""

    action: Literal["o", "s", "A"]
    sheet_id: Id
    version: Version


@dataclasses.dataclass(frozen=True)
class VerifyCriterion(Button, ns="vf"):
    """a accept · j adjust · c card · e send the evidence: one criterion."""

    action: Literal["a", "j", "c", "e"]
    sheet_id: Id
    version: Version
    criterion_id: Id


@dataclasses.dataclass(frozen=True)
class VerifyCriteria(Button, ns="vf", tag="l"):
    sheet_id: Id
    version: Version
    page: Page


@dataclasses.dataclass(frozen=True)
class DisputeStep(Button, ns="vf"):
    """x explain (the unit) · d open · t type the final score (the chair)."""

    action: Literal["x", "d", "t"]
    adjustment_id: Id


@dataclasses.dataclass(frozen=True)
class DisputeKeep(Button, ns="vf", tag="k"):
    """The chair decides on one of the two values shown."""

    adjustment_id: Id
    value: PointValue


VERIFY = Namespace(
    "vf", VerifyList, VerifyDisputes, VerifyMode, VerifySheetStep, VerifyCriterion, VerifyCriteria,
    DisputeStep, DisputeKeep,
)  # fmt: skip

# ------------------------------------------------------------------------------ bo, bv: ballots

PAPER_SIZE = 90  # positions on a paper (bot.services.ballots.MAX_CANDIDATES)
Marks = Annotated[frozenset, Mask(PAPER_SIZE)]
Position = Annotated[int, Int(0, PAPER_SIZE - 1)]
Quota = Annotated[int, Int(1, PAPER_SIZE)]
Flag = Annotated[int, Int(0, 1)]
Top = Annotated[int, Int(0, PAPER_SIZE)]
# One letter for the kind where a button is long (a draft with its chosen list).
KindCode = Annotated[BallotKind, Choice({"f": BallotKind.FLAG, "m": BallotKind.MERIT, "c": BallotKind.CHAIR,
                                         "v": BallotKind.VICE_CHAIR})]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class BallotMenu(Button, ns="bo", tag="m"):
    """The year's ballots (the chair's list, with the buttons to open and close)."""

    year_id: Id


@dataclasses.dataclass(frozen=True)
class BallotDraft(Button, ns="bo"):
    """n: show the draft of a new ballot with these settings · o: open it · p: choose the
    candidates one by one. `top` 0: every active unit is a candidate, else the top N by final
    score; `picked` (positions in `services.ballots.pickable_units`), when not empty: exactly
    those units; `at` 0: no deadline."""

    action: Literal["n", "o", "p"]
    year_id: Id
    kind: KindCode
    quota: Quota
    self_vote: Flag
    top: Top
    at: EpochSeconds
    picked: Marks = frozenset()


@dataclasses.dataclass(frozen=True)
class BallotClose(Button, ns="bo"):
    """c: ask to close the ballot · y: close it · r: remind the units that have not voted."""

    action: Literal["c", "y", "r"]
    ballot_id: Id


@dataclasses.dataclass(frozen=True)
class VoteOpen(Button, ns="bv", tag="o"):
    """Open the paper of the person's unit (a reminder's button)."""

    ballot_id: Id


@dataclasses.dataclass(frozen=True)
class VoteUnit(Button, ns="bv", tag="u"):
    """Fill in the paper of this unit (a person representing several units picks one)."""

    ballot_id: Id
    unit_id: Id


@dataclasses.dataclass(frozen=True)
class VoteMark(Button, ns="bv", tag="t"):
    """Mark or unmark the candidate at `position` on a paper marked `marks` so far."""

    ballot_id: Id
    unit_id: Id
    marks: Marks
    position: Position


@dataclasses.dataclass(frozen=True)
class VoteStep(Button, ns="bv"):
    """r: review the marks before casting · e: back to marking · c: cast (no marks: a blank paper)."""

    action: Literal["r", "e", "c"]
    ballot_id: Id
    unit_id: Id
    marks: Marks


@dataclasses.dataclass(frozen=True)
class BallotSettings(Button, ns="bo", tag="s"):
    """The cluster's ballot defaults: v view · b board shows choices or trackers only ·
    u/d the kind's quota up/down · t the kind's self-vote on/off · and the count's rules:
    q quorum · h threshold · s more than / at least · a the threshold's basis · m the method."""

    action: Literal["v", "b", "u", "d", "t", "q", "h", "s", "a", "m"]
    cluster_id: Id
    kind: BallotKind


BALLOT = Namespace("bo", BallotMenu, BallotDraft, BallotClose, BallotSettings)
VOTE = Namespace("bv", VoteOpen, VoteUnit, VoteMark, VoteStep)


# ------------------------------------------------------------------------------ dl: undelivered


@dataclasses.dataclass(frozen=True)
class DeliveryAgain(Button, ns="dl", tag="again"):
    """`dl:again:<cluster>` — queue the cluster's parked messages again (/undelivered)."""

    cluster_id: Id


DELIVERY = Namespace("dl", DeliveryAgain)

# ------------------------------------------------------------------------------ tl: the count


@dataclasses.dataclass(frozen=True)
class TallyConfirm(Button, ns="tl"):
    """y: close the year's open ballots and count · n: not now. `newest_ballot`: the year's
    newest ballot when the question was asked (0: none); one opened since makes it stale."""

    action: Literal["y", "n"]
    year_id: Id
    newest_ballot: Annotated[int, Int(0, INT32_MAX)]


@dataclasses.dataclass(frozen=True)
class TallyRunoff(Button, ns="tl", tag="r"):
    """Open the runoff among the units tied in award `index` of a stored result."""

    result_id: Id
    index: Annotated[int, Int(0, 99)]


@dataclasses.dataclass(frozen=True)
class TallyNextYear(Button, ns="tl"):
    """c: ask to start next year with the units a stored result elected · s: start it."""

    action: Literal["c", "s"]
    result_id: Id


TALLY = Namespace("tl", TallyConfirm, TallyRunoff, TallyNextYear)


# ------------------------------------------------------------------------------ dg: digests, deputies

Hour = Annotated[int, Int(0, 23)]
Weekday = Annotated[int, Int(0, 6)]  # Monday = 0


@dataclasses.dataclass(frozen=True)
class DigestTime(Button, ns="dg", tag="t"):
    """The administrator sets the hour of the cluster's daily digest."""

    cluster_id: Id
    hour: Hour


@dataclasses.dataclass(frozen=True)
class DigestDay(Button, ns="dg", tag="d"):
    """A day of the week on or off for the daily digest."""

    cluster_id: Id
    day: Weekday


@dataclasses.dataclass(frozen=True)
class DigestSwitch(Button, ns="dg", tag="o"):
    """1: the digest on · 0: off."""

    cluster_id: Id
    on: Annotated[int, Int(0, 1)]


@dataclasses.dataclass(frozen=True)
class SecretariatChat(Button, ns="dg", tag="s"):
    """This chat becomes the secretariat chat of the cluster (a person in several clusters)."""

    cluster_id: Id


@dataclasses.dataclass(frozen=True)
class DeputyPick(Button, ns="dg", tag="p"):
    """The person who receives a secretariat member's digests meanwhile."""

    cluster_id: Id
    person_id: Id


@dataclasses.dataclass(frozen=True)
class DeputyPage(Button, ns="dg", tag="pg"):
    cluster_id: Id
    page: Page


@dataclasses.dataclass(frozen=True)
class DeputyUntil(Button, ns="dg", tag="e"):
    """Name the deputy for `days` from today."""

    cluster_id: Id
    person_id: Id
    days: Annotated[int, Int(1, 90)]


@dataclasses.dataclass(frozen=True)
class DeputyEnd(Button, ns="dg", tag="x"):
    """End a delegation now."""

    cluster_id: Id
    delegation_id: Id


DIGEST = Namespace("dg", DigestTime, DigestDay, DigestSwitch, SecretariatChat, DeputyPick, DeputyPage, DeputyUntil,
                   DeputyEnd)  # fmt: skip

# ------------------------------------------------------------------------------ rm: reminders


@dataclasses.dataclass(frozen=True)
class ReminderMute(Button, ns="rm"):
    """m: no more reminders of this phase for me · u: remind me again (a reminder's button)."""

    action: Literal["m", "u"]
    phase_id: Id


@dataclasses.dataclass(frozen=True)
class RemindLate(Button, ns="rm", tag="n"):
    """The chair's "remind now": the units not done with this (open) phase's step (/status)."""

    phase_id: Id


REMIND = Namespace("rm", ReminderMute, RemindLate)

NAMESPACES = (
    CLUSTER, LANGUAGE, SETUP_KIND, SETUP_YEAR, SETUP_ASK, UNITS, INVITE, CHAIR, TABLE, PHASE, PLEDGE, REVIEW,
    SIGNING, PLEDGES, SCORE, SCORES, VERIFY, DELIVERY, BALLOT, VOTE, TALLY,
    DIGEST,
    REMIND,
)  # fmt: skip
