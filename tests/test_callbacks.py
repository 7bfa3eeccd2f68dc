"""The declared button shapes (bot/callbacks.py): what each accepts, what it refuses, what it
builds. Pure: no Telegram, no database. The presses through the real application are in
test_callbacks_pressed.py."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import callbacks
from bot.callbacks import (
    INT32_MAX,
    MAX_BYTES,
    NAMESPACES,
    Button,
    CallbackDataError,
    Choice,
    Id,
    Int,
    Mask,
    Namespace,
    Points,
    Word,
)
from storage.models import ClusterKind, Office, PhaseKind

ALL_SHAPES = [shape for namespace in NAMESPACES for shape in namespace.shapes]


def extreme(kind: callbacks.Field, longest: bool = True):
    """The value of a field whose spelling is the longest (or the shortest) it can be."""
    if isinstance(kind, Int):
        return kind.high if longest else kind.low
    if isinstance(kind, Choice):
        words = sorted(kind.words, key=len)
        return kind.words[words[-1] if longest else words[0]]
    if isinstance(kind, Points):
        return Decimal("999999.99") if longest else Decimal(0)
    if isinstance(kind, Word):
        return "a" * 32 if longest else "-"
    if isinstance(kind, Mask):
        return frozenset(range(kind.size)) if longest else frozenset()
    raise AssertionError(kind)


def sample(shape: type[Button], longest: bool = True) -> Button:
    return shape(**{name: extreme(kind, longest) for name, kind in shape.fields()})


# ------------------------------------------------------------------------------ declarations


def test_namespaces_have_distinct_prefixes():
    names = [n.name for n in NAMESPACES]
    assert len(set(names)) == len(names)
    assert callbacks.NOOP not in names


@pytest.mark.parametrize("shape", ALL_SHAPES, ids=lambda s: s.__name__)
def test_every_button_fits_telegram_even_with_its_longest_values(shape):
    """A button with every id at int32's maximum still fits Telegram's 64 bytes: no real
    button can be refused by Telegram for its length."""
    data = sample(shape).pack()
    assert len(data.encode()) <= MAX_BYTES, data


@pytest.mark.parametrize("shape", ALL_SHAPES, ids=lambda s: s.__name__)
@pytest.mark.parametrize("longest", [True, False])
def test_every_button_reads_back_as_itself(shape, longest):
    button = sample(shape, longest)
    namespace = next(n for n in NAMESPACES if shape in n.shapes)
    assert namespace.unpack(button.pack()) == button


@pytest.mark.parametrize("shape", ALL_SHAPES, ids=lambda s: s.__name__)
def test_every_button_has_an_exact_arity(shape):
    namespace = next(n for n in NAMESPACES if shape in n.shapes)
    data = sample(shape).pack()
    for forged in (data + ":1", data + ":", data.rsplit(":", 1)[0]):
        found = namespace.unpack(forged)
        assert found is None or type(found) is not shape, forged


def test_a_field_must_say_what_it_is():
    @dataclasses.dataclass(frozen=True)
    class Loose(Button, ns="zz"):
        number: int

    with pytest.raises(TypeError, match="say what the part is"):
        Namespace("zz", Loose)


def test_two_shapes_that_read_the_same_data_are_refused_at_declaration():
    @dataclasses.dataclass(frozen=True)
    class One(Button, ns="zz", tag="a"):
        cluster_id: Id

    @dataclasses.dataclass(frozen=True)
    class Other(Button, ns="zz"):
        action: Literal["a", "b"]
        unit_id: Id

    with pytest.raises(TypeError, match="declared twice"):
        Namespace("zz", One, Other)


def test_a_shape_without_tag_is_alone_in_its_namespace():
    @dataclasses.dataclass(frozen=True)
    class Bare(Button, ns="zz"):
        cluster_id: Id

    @dataclasses.dataclass(frozen=True)
    class Tagged(Button, ns="zz", tag="t"):
        cluster_id: Id

    with pytest.raises(TypeError, match="needs a tag"):
        Namespace("zz", Bare, Tagged)


# ------------------------------------------------------------------------------ reading


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("ph:o:12:signing", callbacks.PhaseAct("o", 12, PhaseKind.SIGNING)),
        ("ph:v:12", callbacks.PhaseOverview(12)),
        ("ph:s:12:scoring:1700000000", callbacks.PhaseDeadline(12, PhaseKind.SCORING, 1700000000)),
        (f"ph:o:{INT32_MAX}:signing", callbacks.PhaseAct("o", INT32_MAX, PhaseKind.SIGNING)),
        ("cl:3:score", callbacks.ClusterPick(3, "score")),
        ("cl:3:-", callbacks.ClusterPick(3, "-")),
        ("lang:en", callbacks.LanguagePick("en")),
        ("kind:4:bloc", callbacks.SetupKind(4, ClusterKind.BLOC)),
        ("ch:menu:v:4", callbacks.ChairMenu(Office.VICE_CHAIR, 4)),
        ("ch:c:4:9", callbacks.ChairPick(Office.CHAIR, 4, 9)),
        ("ch:page:c:4:0", callbacks.ChairPage(Office.CHAIR, 4, 0)),
        ("inv:page:rep:4:2", callbacks.InvitePage("rep", 4, 2)),
        ("inv:yes:8", callbacks.InviteAnswer("yes", 8)),
        ("u:add:4", callbacks.UnitsAdd(4)),
        ("u:page:dx:4:1", callbacks.UnitsPage("dx", 4, 1)),
        ("pls:s:5", callbacks.SignBoard(5)),
        ("pls:s:5:6", callbacks.SignUnit(5, 6)),
        ("pls:no", callbacks.SigningKeepGoing()),
        ("sc:q:1:2:3:8.5", callbacks.ScoreQuick(1, 2, 3, Decimal("8.5"))),
        ("sc:q:1:2:3:0", callbacks.ScoreQuick(1, 2, 3, Decimal("0"))),
        ("sc:P:1:2", callbacks.ScoreSheetStep("P", 1, 2)),
        ("vf:k:7:27.25", callbacks.DisputeKeep(7, Decimal("27.25"))),
        ("vf:m:4:cross", callbacks.VerifyMode(4, "cross")),
        ("tbl:new:4", callbacks.TableAction("new", 4)),
    ],
)
def test_data_we_build_reads_as_its_typed_button(data, expected):
    namespace = next(n for n in NAMESPACES if data.split(":")[0] == n.name)
    assert namespace.unpack(data) == expected
    assert expected.pack() == data


FORGED = [
    # digits that str.isdigit() accepts and int() does not, or does
    "ph:o:²:signing", "ph:o:١:signing", "ph:o:１２:signing", "ph:o:𝟙:signing", "ph:s:1:signing:¹⁷",
    # out of the column's range, or spelled in a way we never write
    "ph:o:99999999999999999999:signing", f"ph:o:{INT32_MAX + 1}:signing", "ph:o:0:signing",
    "ph:o:-1:signing", "ph:o:+1:signing", "ph:o:01:signing", "ph:o: 1:signing", "ph:o:1 :signing",
    "ph:o:1\n:signing", "ph:o:1.0:signing", "ph:o:0x1:signing", "ph:o:1_000:signing",
    "pl:pg:1:10000:0", "pl:pg:1:0:2", "sc:l:1:0:1", "ph:s:1:signing:253402300800",
    # enums and words
    "ph:o:1:SIGNING", "ph:o:1:sign", "ph:x:1:signing", "lang:fr", "lang:", "ch:x:1:2",
    "ch:menu:chair:1", "kind:1:cụm", "vf:m:1:random", "cl:1:", "cl:1:Score", "cl:1:a:b",
    "tbl:zip:1", "inv:page:sec:1:0",
    # point values: two decimals at most, written the short way, never negative
    "sc:q:1:1:1:8.50", "sc:q:1:1:1:8.", "sc:q:1:1:1:.5", "sc:q:1:1:1:-1", "sc:q:1:1:1:1e3",
    "sc:q:1:1:1:NaN", "sc:q:1:1:1:Infinity", "sc:q:1:1:1:8.123", "sc:q:1:1:1:1000000",
    "sc:q:1:1:1:٨", "vf:k:1:00",
    # arity, the namespace alone, nothing
    "inv:page:1:1", "inv:page:rep:1", "inv:yes", "u", "u:", "ph", "ph:", "ph::", "pls:s",
    "pls:s:1:2:3", "pls:no:1", "ph:v:1:2", "sc:c:1:1", "", ":", "::::",
    # the right words in the wrong namespace, or a longer data than Telegram carries
    "phx:o:1:signing", "PH:o:1:signing", "ph:o:1:signing" + ":0" * 30,
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_data_reads_as_nothing(data):
    assert all(namespace.unpack(data) is None for namespace in NAMESPACES)


@given(st.text(max_size=70))
def test_any_text_reads_as_nothing_or_as_the_one_button_that_writes_it(text):
    for namespace in NAMESPACES:
        found = namespace.unpack(text)
        assert found is None or found.pack() == text


@given(st.sampled_from(ALL_SHAPES), st.data())
def test_any_valid_button_reads_back_as_itself(shape, data):
    values = {}
    for name, kind in shape.fields():
        if isinstance(kind, Int):
            values[name] = data.draw(st.integers(kind.low, kind.high))
        elif isinstance(kind, Choice):
            values[name] = data.draw(st.sampled_from(list(kind.words.values())))
        elif isinstance(kind, Points):
            values[name] = data.draw(st.decimals(0, Decimal("999999.99"), places=2))
        elif isinstance(kind, Mask):
            values[name] = frozenset(data.draw(st.sets(st.integers(0, kind.size - 1))))
        else:
            values[name] = data.draw(st.from_regex(r"[a-z_-]{1,32}", fullmatch=True))
    button = shape(**values)
    namespace = next(n for n in NAMESPACES if shape in n.shapes)
    assert namespace.unpack(button.pack()) == button


# ------------------------------------------------------------------------------ building


@pytest.mark.parametrize(
    "make",
    [
        lambda: callbacks.PhaseOverview(0),  # ids start at 1
        lambda: callbacks.PhaseOverview(INT32_MAX + 1),
        lambda: callbacks.PhaseOverview(True),
        lambda: callbacks.PhaseOverview("12"),
        lambda: callbacks.PledgePage(1, -1, 0),
        lambda: callbacks.PledgePage(1, 0, 2),
        lambda: callbacks.PhaseAct("z", 1, PhaseKind.SIGNING),
        lambda: callbacks.PhaseAct("o", 1, "later"),
        lambda: callbacks.ClusterPick(1, "a:b"),  # no separator smuggled in a word
        lambda: callbacks.ClusterPick(1, ""),
        lambda: callbacks.ClusterPick(1, "a" * 33),
        lambda: callbacks.ScoreQuick(1, 1, 1, Decimal("-1")),
        lambda: callbacks.ScoreQuick(1, 1, 1, Decimal("8.125")),
        lambda: callbacks.ScoreQuick(1, 1, 1, Decimal("1000000")),
        lambda: callbacks.ScoreQuick(1, 1, 1, Decimal("NaN")),
        lambda: callbacks.ScoreQuick(1, 1, 1, 8.5),
        lambda: callbacks.VerifyMode(1, "random"),
    ],
)
def test_a_button_we_could_not_read_back_is_refused_when_it_is_drawn(make):
    with pytest.raises(CallbackDataError):
        make().pack()


@pytest.mark.parametrize(
    ("value", "text"),
    [("8.5", "8.5"), ("8.50", "8.5"), ("30", "30"), ("30.00", "30"), ("0", "0"), ("0.00", "0"), ("27.25", "27.25")],
)
def test_point_values_in_callback_data_are_short_and_exact(value, text):
    data = callbacks.ScoreQuick(1, 1, 1, Decimal(value)).pack()
    assert data == f"sc:q:1:1:1:{text}"
    assert callbacks.SCORE.unpack(data).value == Decimal(value)


def test_over_64_bytes_is_refused_at_the_source():
    @dataclasses.dataclass(frozen=True)
    class Wide(Button, ns="zz", tag="w"):
        a: Id
        b: Id
        c: Id
        d: Id
        e: Id
        f: Id

    Namespace("zz", Wide)
    assert len(Wide(1, 1, 1, 1, 1, 1).pack()) <= MAX_BYTES
    with pytest.raises(CallbackDataError, match="64 bytes"):
        Wide(*[INT32_MAX] * 6).pack()


def test_keyboards_build_by_word_the_shape_that_word_declares():
    assert callbacks.SCORE.build("c", 1, 2, 3) == callbacks.ScoreCriterion("c", 1, 2, 3)
    assert callbacks.SCORE.build("l", 1, 2, 0) == callbacks.ScoreList(1, 2, 0)
    assert callbacks.PLEDGE.build("v", 5) == callbacks.PledgeView(5)
    with pytest.raises(CallbackDataError):
        callbacks.SCORE.build("c", 1, 2)  # one value short
    with pytest.raises(CallbackDataError):
        callbacks.SCORE.build("zz", 1, 2)
    with pytest.raises(CallbackDataError):
        callbacks.SCORE.build("c", 1, 2, "3")


def test_unpack_as_reads_only_the_expected_shape():
    assert callbacks.unpack_as(callbacks.PHASE, "ph:v:3", callbacks.PhaseOverview) == callbacks.PhaseOverview(3)
    assert callbacks.unpack_as(callbacks.PHASE, "ph:v:3", callbacks.PhaseAct) is None
    assert callbacks.unpack_as(callbacks.PHASE, None, callbacks.PhaseAct) is None
