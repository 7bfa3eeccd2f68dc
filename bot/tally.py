"""The count of a ballot, pure: the same papers, scores and rules give the same result, bit for
bit (issue 11, first piece; `../shared/domain.md`, "The evaluation vote").

- **Quorum**: at least `quorum` (default ⅔) of the units issued a paper cast one, else no result.
- **Threshold**: a candidate must get more than (or, non-strict, at least) `threshold` (default
  ½) of the **basis**: the papers cast (default), the units present, or all active units.
- **Ranking**: by votes; ties broken by final score; a tie still standing that straddles the
  last place of the quota is **unresolved** (a runoff among exactly those units decides it).
  With the *score only* method the ranking is by final score first and the vote confirms.
- **Result**: the candidates within the quota that reach the threshold, in order.

Shares are exact fractions; rounding is for display only. `inputs_hash` is the SHA-256 of a
canonical form of everything the count read, stored with the result.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction


class Basis(StrEnum):
    CAST = "cast"  # the papers cast (the default)
    PRESENT = "present"  # the units present (papers issued)
    ACTIVE = "active"  # every active unit


class Method(StrEnum):
    VOTE = "vote"  # rank by votes (the default; "score then vote" counts the same way)
    SCORE_ONLY = "score_only"  # rank by final score; the vote confirms


@dataclass(frozen=True)
class TallyRules:
    quorum: Fraction = Fraction(2, 3)
    threshold: Fraction = Fraction(1, 2)
    strict: bool = True  # "more than" the threshold; False: "at least"
    basis: Basis = Basis.CAST
    method: Method = Method.VOTE


@dataclass(frozen=True)
class BallotInput:
    quota: int
    candidates: tuple[int, ...]  # in the ballot's order
    papers: tuple[tuple[int, ...], ...]  # each cast paper's marks; () is a blank paper
    issued: int  # papers issued: the units present
    active: int  # active units of the cluster


@dataclass(frozen=True)
class CandidateResult:
    unit_id: int
    votes: int
    share: Fraction  # of the basis
    score: Decimal | None
    reaches: bool  # the threshold
    place: int  # 1-based; tied candidates share the place


@dataclass(frozen=True)
class BallotResult:
    cast: int
    valid: int
    invalid: int
    blank: int
    basis: int  # the number the shares are of
    quorum_met: bool
    ranking: tuple[CandidateResult, ...]
    proposed: tuple[int, ...] = ()
    unresolved: tuple[int, ...] = ()  # tied for the last place of the quota: a runoff decides
    open_places: int = 0  # places of the quota the unresolved tie is for


def _valid(paper: Sequence[int], candidates: set[int], quota: int) -> bool:
    return len(set(paper)) == len(paper) and len(paper) <= quota and all(m in candidates for m in paper)


def _reaches(share: Fraction, rules: TallyRules) -> bool:
    return share > rules.threshold if rules.strict else share >= rules.threshold


def count(ballot: BallotInput, scores: dict[int, Decimal], rules: TallyRules = TallyRules()) -> BallotResult:
    """The ballot's result under `rules`, with `scores` (final scores) to break ties."""
    candidates = set(ballot.candidates)
    valid = [p for p in ballot.papers if _valid(p, candidates, ballot.quota)]
    votes = Counter(m for p in valid for m in p)
    cast = len(ballot.papers)
    basis = {Basis.CAST: cast, Basis.PRESENT: ballot.issued, Basis.ACTIVE: ballot.active}[rules.basis]
    quorum_met = ballot.issued > 0 and Fraction(cast, max(ballot.active, 1)) >= rules.quorum

    def key(unit: int) -> tuple:
        score = scores.get(unit)
        score_key = -(score if score is not None else Decimal("-Infinity"))
        if rules.method is Method.SCORE_ONLY:
            return (score_key, -votes[unit])
        return (-votes[unit], score_key)

    order = {u: i for i, u in enumerate(ballot.candidates)}
    ranked = sorted(ballot.candidates, key=lambda u: (key(u), order[u]))
    results, place = [], 0
    for i, unit in enumerate(ranked):
        if i == 0 or key(unit) != key(ranked[i - 1]):
            place = i + 1
        share = Fraction(votes[unit], basis) if basis else Fraction(0)
        results.append(CandidateResult(unit, votes[unit], share, scores.get(unit), _reaches(share, rules), place))

    proposed: list[int] = []
    unresolved: tuple[int, ...] = ()
    open_places = 0
    if quorum_met:
        eligible = [r for r in results if r.reaches]
        # Places among those who reach the threshold: a tie straddling the quota is unresolved.
        index = 0
        while index < len(eligible) and len(proposed) < ballot.quota:
            group = [r for r in eligible[index:] if key(r.unit_id) == key(eligible[index].unit_id)]
            room = ballot.quota - len(proposed)
            if len(group) <= room:
                proposed.extend(r.unit_id for r in group)
            else:
                unresolved, open_places = tuple(r.unit_id for r in group), room
                break
            index += len(group)
    return BallotResult(
        cast=cast, valid=len(valid), invalid=cast - len(valid), blank=sum(1 for p in valid if not p),
        basis=basis, quorum_met=quorum_met, ranking=tuple(results), proposed=tuple(proposed),
        unresolved=unresolved, open_places=open_places,
    )  # fmt: skip


def ranking_by_score(scores: dict[int, Decimal], units: Iterable[int]) -> list[tuple[int, Decimal, int]]:
    """The year's ranking by final score: (unit, score, place), ties sharing a place; units with
    no score last, in their order, without a place (0)."""
    units = list(units)
    scored = sorted((u for u in units if u in scores), key=lambda u: (-scores[u], units.index(u)))
    out, place = [], 0
    for i, unit in enumerate(scored):
        if i == 0 or scores[unit] != scores[scored[i - 1]]:
            place = i + 1
        out.append((unit, scores[unit], place))
    return out


def inputs_hash(ballot: BallotInput, scores: dict[int, Decimal], rules: TallyRules) -> str:
    """SHA-256 of a canonical form of the count's inputs (papers sorted, so their order —
    which says nothing — does not change it)."""
    canonical = {
        "quota": ballot.quota,
        "candidates": list(ballot.candidates),
        "papers": sorted(sorted(p) for p in ballot.papers),
        "issued": ballot.issued,
        "active": ballot.active,
        "scores": {str(u): str(s) for u, s in sorted(scores.items())},
        "rules": {"quorum": str(rules.quorum), "threshold": str(rules.threshold), "strict": rules.strict,
                  "basis": rules.basis.value, "method": rules.method.value},
    }  # fmt: skip
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
