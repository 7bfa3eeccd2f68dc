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

import dataclasses
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


# The values a cluster's regulation commonly sets (`../shared/domain.md`): the settings screen
# steps through these.
QUORUM_CHOICES = (Fraction(1, 2), Fraction(2, 3), Fraction(3, 4))
THRESHOLD_CHOICES = (Fraction(1, 2), Fraction(2, 3), Fraction(7, 10), Fraction(3, 4), Fraction(9, 10))


def next_choice(current, choices: Sequence):
    """The value after `current` in `choices`, round again after the last (the first when
    `current` is not one of them)."""
    if current not in choices:
        return choices[0]
    return choices[(list(choices).index(current) + 1) % len(choices)]


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
    issued: int  # papers issued: every active unit (and any unit that voted, left since)
    active: int  # active units of the cluster (what the quorum is of)
    present: int | None = None  # units present: that voted at the year's evaluation; None: `issued`


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
    present = ballot.present if ballot.present is not None else ballot.issued
    basis = {Basis.CAST: cast, Basis.PRESENT: present, Basis.ACTIVE: ballot.active}[rules.basis]
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
        "present": ballot.present,
        "scores": {str(u): str(s) for u, s in sorted(scores.items())},
        "rules": {"quorum": str(rules.quorum), "threshold": str(rules.threshold), "strict": rules.strict,
                  "basis": rules.basis.value, "method": rules.method.value},
    }  # fmt: skip
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ------------------------------------------------------------------------------ the year's result


@dataclass(frozen=True)
class RoundInput:
    """One closed ballot as the year's count reads it. `runoff_of` links a runoff to the ballot
    whose unresolved tie it decides."""

    ballot_id: int
    kind: str  # storage.models.BallotKind's value
    round: int
    runoff_of: int | None
    label: str | None
    board_sha256: str
    ballot: BallotInput


@dataclass(frozen=True)
class YearInputs:
    units: tuple[tuple[int, str], ...]  # every unit the result names: (id, name at the count)
    active: tuple[int, ...]  # the active units, in the cluster's order
    scores: tuple[tuple[int, Decimal], ...]  # final scores
    rounds: tuple[RoundInput, ...]
    rules: TallyRules = TallyRules()


@dataclass(frozen=True)
class Award:
    """A ballot's outcome with its runoffs: who is proposed (or elected), in order, and what
    is still open."""

    kind: str
    label: str | None
    rounds: tuple[tuple[RoundInput, BallotResult], ...]  # the first ballot, then its runoffs
    proposed: tuple[int, ...]
    unresolved: tuple[int, ...]  # tied for the open places: the next runoff is among exactly them
    open_places: int

    @property
    def first(self) -> BallotResult:
        return self.rounds[0][1]

    @property
    def last_ballot_id(self) -> int:
        return self.rounds[-1][0].ballot_id


@dataclass(frozen=True)
class YearResult:
    names: dict[int, str]
    ranking: tuple[tuple[int, Decimal, int], ...]  # (unit, final score, place)
    awards: tuple[Award, ...]
    rules: TallyRules
    inputs_sha256: str

    def elected(self, kind: str) -> int | None:
        """The unit elected by the (last) ballot of `kind`, when it has exactly one."""
        found = [a for a in self.awards if a.kind == kind and a.proposed and not a.unresolved]
        return found[-1].proposed[0] if found else None


def _award(chain: list[RoundInput], scores: dict[int, Decimal], rules: TallyRules) -> Award:
    first = chain[0]
    rounds = [(first, count(first.ballot, scores, rules))]
    proposed = list(rounds[0][1].proposed)
    unresolved, open_places = rounds[0][1].unresolved, rounds[0][1].open_places
    for runoff in chain[1:]:
        # A runoff decides the tie only when it is among exactly the tied units; any other is
        # left out of the count (it cannot be the runoff this tie asked for).
        if not unresolved or set(runoff.ballot.candidates) != set(unresolved):
            continue
        ballot = runoff.ballot if runoff.ballot.quota == open_places else dataclasses.replace(runoff.ballot, quota=open_places)
        result = count(ballot, scores, rules)
        rounds.append((runoff, result))
        proposed.extend(result.proposed)
        if result.unresolved:  # tied again, among fewer units or for fewer places
            unresolved, open_places = result.unresolved, result.open_places
        elif len(result.proposed) < open_places:
            # The runoff did not decide (no quorum, nobody reached the threshold): the tie is
            # still open, for the places left — another round can decide it.
            open_places -= len(result.proposed)
            unresolved = tuple(u for u in unresolved if u not in result.proposed)
        else:
            unresolved, open_places = (), 0
    return Award(kind=first.kind, label=first.label, rounds=tuple(rounds), proposed=tuple(proposed),
                 unresolved=unresolved, open_places=open_places)  # fmt: skip


def year_result(inputs: YearInputs) -> YearResult:
    """The year's result: the ranking by final score and each ballot's award, runoffs
    completing the ties they were opened for (the newest runoff of a ballot counts)."""
    scores = dict(inputs.scores)
    by_id = {r.ballot_id: r for r in inputs.rounds}
    runoffs: dict[int, RoundInput] = {}
    for r in sorted(inputs.rounds, key=lambda r: r.ballot_id):
        if r.runoff_of is not None and r.runoff_of in by_id:
            runoffs[r.runoff_of] = r  # the newest wins
    awards = []
    for head in sorted((r for r in inputs.rounds if r.runoff_of is None), key=lambda r: r.ballot_id):
        chain, current = [head], head
        while current.ballot_id in runoffs:
            current = runoffs[current.ballot_id]
            chain.append(current)
        awards.append(_award(chain, scores, inputs.rules))
    ranking = tuple(ranking_by_score(scores, inputs.active))
    return YearResult(names=dict(inputs.units), ranking=ranking, awards=tuple(awards), rules=inputs.rules,
                      inputs_sha256=year_inputs_hash(inputs))  # fmt: skip


def _rules_record(rules: TallyRules) -> dict:
    return {"quorum": str(rules.quorum), "threshold": str(rules.threshold), "strict": rules.strict,
            "basis": rules.basis.value, "method": rules.method.value}  # fmt: skip


def year_inputs_hash(inputs: YearInputs) -> str:
    """SHA-256 of everything the year's count read, each ballot's board hash included."""
    canonical = {
        "units": [[u, n] for u, n in sorted(inputs.units)],
        "active": list(inputs.active),
        "scores": [[u, str(s)] for u, s in sorted(inputs.scores)],
        "rules": _rules_record(inputs.rules),
        "rounds": [
            {"ballot": r.ballot_id, "kind": r.kind, "round": r.round, "runoff_of": r.runoff_of, "label": r.label,
             "board_sha256": r.board_sha256, "inputs": inputs_hash(r.ballot, dict(inputs.scores), inputs.rules)}
            for r in sorted(inputs.rounds, key=lambda r: r.ballot_id)
        ],
    }  # fmt: skip
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def result_record(result: YearResult) -> str:
    """The stored form of a result: canonical JSON, the same bytes for the same result."""

    def ballot_record(r: RoundInput, b: BallotResult) -> dict:
        return {
            "ballot": r.ballot_id, "round": r.round, "runoff_of": r.runoff_of, "board_sha256": r.board_sha256,
            "quota": r.ballot.quota, "candidates": list(r.ballot.candidates), "issued": r.ballot.issued,
            "active": r.ballot.active, "present": r.ballot.present, "cast": b.cast, "valid": b.valid, "invalid": b.invalid, "blank": b.blank,
            "basis": b.basis, "quorum_met": b.quorum_met, "proposed": list(b.proposed),
            "unresolved": list(b.unresolved), "open_places": b.open_places,
            "ranking": [[c.unit_id, c.votes, str(c.share), None if c.score is None else str(c.score), c.reaches,
                         c.place] for c in b.ranking],
        }  # fmt: skip

    record = {
        "names": [[u, n] for u, n in sorted(result.names.items())],
        "ranking": [[u, str(s), p] for u, s, p in result.ranking],
        "rules": _rules_record(result.rules),
        "inputs_sha256": result.inputs_sha256,
        "awards": [
            {"kind": a.kind, "label": a.label, "proposed": list(a.proposed), "unresolved": list(a.unresolved),
             "open_places": a.open_places, "rounds": [ballot_record(r, b) for r, b in a.rounds]}
            for a in result.awards
        ],
    }  # fmt: skip
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def result_from_record(text: str) -> YearResult:
    """A stored result read back (the inverse of `result_record`)."""
    data = json.loads(text)
    r = data["rules"]
    rules = TallyRules(quorum=Fraction(r["quorum"]), threshold=Fraction(r["threshold"]), strict=r["strict"],
                       basis=Basis(r["basis"]), method=Method(r["method"]))  # fmt: skip
    awards = []
    for a in data["awards"]:
        rounds = []
        for b in a["rounds"]:
            ballot = BallotInput(quota=b["quota"], candidates=tuple(b["candidates"]), papers=(), issued=b["issued"],
                                 active=b["active"], present=b.get("present"))  # fmt: skip
            round_input = RoundInput(b["ballot"], a["kind"], b["round"], b["runoff_of"], a["label"], b["board_sha256"], ballot)
            ranking = tuple(
                CandidateResult(unit_id=u, votes=v, share=Fraction(share), score=None if s is None else Decimal(s),
                                reaches=reaches, place=place)
                for u, v, share, s, reaches, place in b["ranking"]
            )  # fmt: skip
            rounds.append((round_input, BallotResult(
                cast=b["cast"], valid=b["valid"], invalid=b["invalid"], blank=b["blank"], basis=b["basis"],
                quorum_met=b["quorum_met"], ranking=ranking, proposed=tuple(b["proposed"]),
                unresolved=tuple(b["unresolved"]), open_places=b["open_places"])))  # fmt: skip
        awards.append(Award(kind=a["kind"], label=a["label"], rounds=tuple(rounds), proposed=tuple(a["proposed"]),
                            unresolved=tuple(a["unresolved"]), open_places=a["open_places"]))  # fmt: skip
    return YearResult(names={u: n for u, n in data["names"]}, ranking=tuple((u, Decimal(s), p) for u, s, p in data["ranking"]),
                      awards=tuple(awards), rules=rules, inputs_sha256=data["inputs_sha256"])  # fmt: skip


@dataclass(frozen=True)
class Change:
    """One difference between two counts of the year, for "what changed" after a new count."""

    what: str  # "score", "place", "name", "rules", "votes", "proposed", "unresolved", "ballot" (new/gone)
    kind: str | None  # the award's kind, for votes/proposed/unresolved/ballot
    unit_id: int | None
    before: str | None
    after: str | None
    label: str | None = None  # the award's label (two flag ballots told apart)


def _ids(units: Iterable[int]) -> str:
    return ",".join(map(str, units))


def changes(old: YearResult, new: YearResult) -> list[Change]:
    """What a new count changed: the rules, units' names, final scores and places, each
    award's votes, proposed and unresolved units, awards that appeared or went. Empty only when
    nothing a reader of the result can see changed."""
    out: list[Change] = []
    if _rules_record(old.rules) != _rules_record(new.rules):
        out.append(Change("rules", None, None, None, None))
    for unit, name in new.names.items():
        if unit in old.names and old.names[unit] != name:
            out.append(Change("name", None, unit, old.names[unit], name))
    before = {u: (s, p) for u, s, p in old.ranking}
    after = {u: (s, p) for u, s, p in new.ranking}
    for unit in [u for u, _s, _p in new.ranking] + [u for u in before if u not in after]:
        b, a = before.get(unit), after.get(unit)
        if b is None or a is None or b[0] != a[0]:
            out.append(Change("score", None, unit, None if b is None else str(b[0]), None if a is None else str(a[0])))
        elif b[1] != a[1]:
            out.append(Change("place", None, unit, str(b[1]), str(a[1])))
    old_awards = {(a.kind, a.rounds[0][0].ballot_id): a for a in old.awards}
    new_awards = {(a.kind, a.rounds[0][0].ballot_id): a for a in new.awards}
    for key, award in new_awards.items():
        was = old_awards.get(key)
        if was is None:
            out.append(Change("ballot", award.kind, None, None, _ids(award.proposed), award.label))
            continue
        old_votes = {(r.ballot_id, c.unit_id): c.votes for r, b in was.rounds for c in b.ranking}
        old_rounds = {r.ballot_id for r, _b in was.rounds}
        for round_input, count_ in award.rounds:
            if round_input.ballot_id not in old_rounds:
                continue  # a new round (a runoff): its result is the change, not each vote
            for candidate in count_.ranking:
                votes = old_votes.get((round_input.ballot_id, candidate.unit_id))
                if votes != candidate.votes:
                    out.append(Change("votes", award.kind, candidate.unit_id, None if votes is None else str(votes),
                                      str(candidate.votes), award.label))  # fmt: skip
        if was.proposed != award.proposed:
            out.append(Change("proposed", award.kind, None, _ids(was.proposed), _ids(award.proposed), award.label))
        if was.unresolved != award.unresolved:
            out.append(Change("unresolved", award.kind, None, _ids(was.unresolved), _ids(award.unresolved), award.label))
    for key, award in old_awards.items():
        if key not in new_awards:
            out.append(Change("ballot", award.kind, None, _ids(award.proposed), None, award.label))
    return out
