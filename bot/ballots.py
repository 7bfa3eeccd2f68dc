"""The rules of a secret ballot (*bỏ phiếu kín*), pure: no Telegram, no database.

`../shared/domain.md`, "The evaluation vote": one paper per active unit; the candidates (all
active units, the top N by final score, or a chosen list); a quota of marks per paper; no vote
for one's own unit unless the cluster allows it; an empty paper is an abstention; a paper with
more marks than the quota cannot be cast (on paper it would be invalid; here it cannot exist).

Also the paper's **tracker** and the **ballot board**: after close, every paper is published as
tracker + choices, sorted by tracker, with the board's SHA-256. A unit finds its own tracker
(only its representatives were given it) and anyone recounts the whole vote from the board:
that checks *recorded as cast* and *counted as recorded*. It is not receipt-free: a unit can
show its tracker to prove how it voted (as in Helios and Belenios).
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bot.errors import Refusal
from bot.i18n import _, ngettext
from storage.models.ballot import BallotKind

TRACKER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed back
TRACKER_LENGTH = 8  # 32⁸ ≈ 10¹², so two papers of one ballot practically never share one


class CandidateMode(StrEnum):
    ALL = "all"  # every active unit (the default)
    TOP = "top"  # the top N by final score
    LIST = "list"  # a list the chair chose


@dataclass(frozen=True)
class KindDefaults:
    quota: int
    self_vote: bool = False


DEFAULTS: dict[BallotKind, KindDefaults] = {
    BallotKind.FLAG: KindDefaults(quota=1),
    BallotKind.MERIT: KindDefaults(quota=2),
    BallotKind.CHAIR: KindDefaults(quota=1),
    BallotKind.VICE_CHAIR: KindDefaults(quota=1),
}


def candidates_for(
    mode: CandidateMode,
    active: Sequence[int],
    *,
    scores: dict[int, Decimal] | None = None,
    top: int | None = None,
    chosen: Iterable[int] = (),
) -> list[int]:
    """The ballot's candidates, in the order the keyboard shows them.

    ALL: the active units in their order. TOP: the `top` highest final scores (a tie at the
    cut keeps every unit tied with the last place: dropping one of them would be a choice the
    rules do not make), in score order, then the units' order. LIST: the chosen units that are
    active, in the units' order."""
    if mode is CandidateMode.ALL:
        return list(active)
    if mode is CandidateMode.LIST:
        picked = set(chosen)
        found = [u for u in active if u in picked]
        if len(found) < 1:
            raise Refusal(_("Choose at least one active unit as a candidate."))
        return found
    if not scores or top is None or top < 1:
        raise Refusal(_("The top units by final score need the final scores and how many to take."))
    position = {unit: i for i, unit in enumerate(active)}
    ranked = sorted((u for u in active if u in scores), key=lambda u: (-scores[u], position[u]))
    if not ranked:
        raise Refusal(_("No unit has a final score yet."))
    if len(ranked) <= top:
        return ranked
    cut = scores[ranked[top - 1]]
    return [u for u in ranked if scores[u] >= cut]


def paper_for(voter_unit: int, candidates: Sequence[int], self_vote: bool) -> list[int]:
    """The candidates on the paper of `voter_unit`: its own unit left out when barred."""
    return [c for c in candidates if self_vote or c != voter_unit]


def toggle(marks: frozenset[int], candidate: int, on_paper: Sequence[int], quota: int) -> frozenset[int]:
    """Mark or unmark `candidate`. A candidate not on this paper (a forged or stale button, the
    own unit when barred) is refused; a mark beyond the quota is refused, so an invalid paper
    cannot be made."""
    if candidate not in on_paper:
        raise Refusal(_("That unit is not a candidate on your ballot paper."))
    if candidate in marks:
        return marks - {candidate}
    if len(marks) >= quota:
        raise Refusal(
            ngettext(
                "You can mark at most {quota} unit. Unmark one first.",
                "You can mark at most {quota} units. Unmark one first.",
                quota,
            ).format(quota=quota)
        )
    return marks | {candidate}


def check_cast(marks: frozenset[int], on_paper: Sequence[int], quota: int, *, abstain: bool) -> None:
    """A paper may be cast when every mark is a candidate on it and within the quota; an empty
    paper only when the voter confirmed it as an abstention."""
    if any(m not in on_paper for m in marks) or len(marks) > quota:
        raise Refusal(_("This ballot paper is not valid any more; open the ballot again."))
    if not marks and not abstain:
        raise Refusal(_("Nothing is marked. To abstain, confirm an empty ballot paper."))


def new_tracker(choice: Callable[[str], str] = secrets.choice) -> str:
    """A paper's tracker: random, not derived from the unit, the person or the time."""
    return "".join(choice(TRACKER_ALPHABET) for _ in range(TRACKER_LENGTH))


# ------------------------------------------------------------------------------ the board


@dataclass(frozen=True)
class BoardPaper:
    tracker: str
    choices: tuple[int, ...]  # candidate unit ids, ascending; () is an abstention


@dataclass(frozen=True)
class Count:
    cast: int
    abstaining: int
    votes: dict[int, int]  # candidate → papers marking it (every candidate, zeros included)


def board(papers: Iterable[tuple[str, Iterable[int]]]) -> list[BoardPaper]:
    """The papers as the board lists them: sorted by tracker, each paper's choices ascending.
    The order says nothing about who voted when."""
    return sorted((BoardPaper(t, tuple(sorted(set(c)))) for t, c in papers), key=lambda p: p.tracker)


def board_text(papers: Sequence[BoardPaper], names: dict[int, str], *, with_choices: bool = True) -> str:
    """The board as a plain-text file (UTF-8, one paper per line), the same bytes for the same
    papers and names: what the SHA-256 is taken of. A line is `tracker<TAB>ids<TAB>names`: the
    candidates' ids (`3,7`, or `-` for an abstention) are what a recount reads; their names
    follow for people. With `with_choices` False (a cluster setting) only the trackers are
    published."""
    lines = []
    for paper in papers:
        if not with_choices:
            lines.append(paper.tracker)
            continue
        ids = ",".join(str(c) for c in paper.choices) or "-"
        named = "; ".join(" ".join(names.get(c, "").split()) for c in paper.choices)
        lines.append(f"{paper.tracker}\t{ids}\t{named}".rstrip("\t"))
    return "\n".join(lines) + "\n"


def board_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recount(papers: Sequence[BoardPaper], candidates: Sequence[int]) -> Count:
    """The count anyone can redo from the board: papers cast, abstentions, votes per candidate."""
    votes = Counter(c for p in papers for c in p.choices)
    return Count(
        cast=len(papers),
        abstaining=sum(1 for p in papers if not p.choices),
        votes={c: votes.get(c, 0) for c in candidates},
    )


def parse_board(text: str) -> list[BoardPaper]:
    """Read a published board (with choices) back: a unit's own recount starts here."""
    papers = []
    for line in text.splitlines():
        if not line.strip():
            continue
        tracker, _sep, rest = line.partition("\t")
        ids = rest.partition("\t")[0].strip()
        choices = () if ids in ("", "-") else tuple(sorted(int(i) for i in ids.split(",")))
        papers.append(BoardPaper(tracker, choices))
    return papers
