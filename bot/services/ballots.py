"""Secret ballots as use cases: open, show a unit its paper, cast, close and publish the board.

Rules are in `bot.ballots`; the storage of papers, and why they are rewritten, in
`storage.ballots`. Authorisation is checked here, in the service, for every call:
`Action.MANAGE_BALLOTS` (the chair and the administrator) opens and closes, `Action.VOTE`
(a representative) casts, and only for a unit the person represents.

**What is never written anywhere**: which candidates a unit marked. A paper being filled in
lives in the person's own Telegram message (its buttons carry the marks, `bot.callbacks`), not
in the database; at casting, the paper gets a random tracker and is written with no unit,
person or time; the register says only that the unit voted. The tracker reaches the unit's
representatives: the one who cast it in the reply, the others through the outbox as a *secret*
row whose text is erased once sent or given up (`storage.outbox.SECRET`). No audit entry and
no log line carries a mark or a tracker.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot import ballots as rules
from bot.callbacks import PAPER_SIZE
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services import notify, reminders
from bot.services.actors import Actor
from bot.services.audit import record
from bot.services.phases import cluster_timezone, require_phase
from bot.views import ballots as views
from bot.views import reminders as reminder_views
from bot.views.reminders import Late
from storage import ballots as store
from storage.db import after_commit, scrub_ballot_tables
from storage.models import (
    Ballot,
    BallotCandidate,
    BallotKind,
    BallotStatus,
    Cluster,
    EmulationYear,
    PhaseKind,
    Unit,
    VoterRegister,
    utcnow,
)
from storage.outbox import erase_pending_secrets
from storage.pledges import active_units as active_unit_rows
from storage.pledges import representatives_of
from storage.schedule import schedule_changed
from storage.units import active_unit_count

MAX_CANDIDATES = PAPER_SIZE  # a paper is one keyboard, and Telegram draws at most 100 buttons


@dataclass(frozen=True)
class Paper:
    """A unit's paper: the ballot, the unit, the candidates on it (own unit left out when
    barred) with their names, and the quota."""

    ballot: Ballot
    unit: Unit
    on_paper: list[int]
    names: dict[int, str]

    @property
    def quota(self) -> int:
        return self.ballot.quota


@dataclass(frozen=True)
class Cast:
    unit: Unit
    tracker: str
    ballot: Ballot


@dataclass(frozen=True)
class Closed:
    ballot: Ballot
    count: rules.Count
    eligible: int


def ballot_gone() -> Refusal:
    return Refusal(_("This ballot no longer exists."))


async def _names(session: AsyncSession, unit_ids: list[int]) -> dict[int, str]:
    if not unit_ids:
        return {}
    rows = await session.execute(_names_statement(), {"ids": list(unit_ids)})
    return dict(rows.all())


@functools.cache
def _names_statement() -> Select:
    """Built once: every vote paper names its candidates."""
    return select(Unit.id, Unit.name).where(Unit.id.in_(bindparam("ids", expanding=True)))


async def active_units(session: AsyncSession, cluster_id: int) -> list[int]:
    return list(await session.scalars(
        select(Unit.id).where(Unit.cluster_id == cluster_id, Unit.active.is_(True)).order_by(Unit.position, Unit.id)
    ))  # fmt: skip


async def pickable_units(session: AsyncSession, cluster_id: int) -> list[Unit]:
    """The units a chosen-list draft names by position (its buttons carry the positions, like a
    paper's marks): every unit of the cluster in the order it joined, so that a unit joining or
    leaving between two presses moves no other unit's position. At most a paper's size."""
    return list(await session.scalars(
        select(Unit).where(Unit.cluster_id == cluster_id).order_by(Unit.id).limit(MAX_CANDIDATES)
    ))  # fmt: skip


async def chosen_units(session: AsyncSession, cluster_id: int, positions: frozenset[int]) -> list[Unit]:
    """The units at `positions` of `pickable_units`, refused when one is not there (a forged
    press) or no longer active (deactivated while the chair was choosing)."""
    units = await pickable_units(session, cluster_id)
    if any(p >= len(units) for p in positions):
        raise ballot_gone()
    chosen = [units[p] for p in sorted(positions)]
    for unit in chosen:
        if not unit.active:
            raise Refusal(_("{unit} is no longer an active unit of the cluster; choose the candidates again.").format(
                unit=unit.name))  # fmt: skip
    return chosen


def quota_setting(cluster: Cluster, kind: BallotKind) -> int:
    """The cluster's quota for the kind (`ballot_quota_<kind>` in its settings), else the default."""
    value = (cluster.settings or {}).get(f"ballot_quota_{kind.value}")
    return value if isinstance(value, int) and value >= 1 else rules.DEFAULTS[kind].quota


def self_vote_setting(cluster: Cluster, kind: BallotKind) -> bool:
    value = (cluster.settings or {}).get(f"ballot_self_vote_{kind.value}")
    return value if isinstance(value, bool) else rules.DEFAULTS[kind].self_vote


def board_choices_setting(cluster: Cluster) -> bool:
    """Whether the board lists each paper's choices (the default) or its tracker only."""
    value = (cluster.settings or {}).get("ballot_board_choices")
    return value if isinstance(value, bool) else True


async def change_setting(session: AsyncSession, actor: Actor, cluster: Cluster, action: str, kind: BallotKind) -> None:
    """The administrator's defaults for new ballots (audited; open ballots keep theirs)."""
    from bot.services.clusters import set_setting

    actor.require(Action.CONFIGURE_CLUSTER)
    if action == "b":
        await set_setting(session, actor, cluster, "ballot_board_choices", not board_choices_setting(cluster))
    elif action in ("u", "d"):
        quota = quota_setting(cluster, kind) + (1 if action == "u" else -1)
        if not 1 <= quota <= MAX_CANDIDATES:
            raise Refusal(_("Each unit can mark from 1 to {count} candidates on this ballot.").format(count=MAX_CANDIDATES))
        await set_setting(session, actor, cluster, f"ballot_quota_{kind.value}", quota)
    elif action == "t":
        await set_setting(session, actor, cluster, f"ballot_self_vote_{kind.value}", not self_vote_setting(cluster, kind))
    elif action in ("q", "h", "s", "a", "m"):
        from bot import tally as count_rules
        from bot.services.tally import rules_of  # the services import each other lazily

        now = rules_of(cluster)
        key, value = {
            "q": ("tally_quorum", lambda: str(count_rules.next_choice(now.quorum, count_rules.QUORUM_CHOICES))),
            "h": ("tally_threshold", lambda: str(count_rules.next_choice(now.threshold, count_rules.THRESHOLD_CHOICES))),
            "s": ("tally_strict", lambda: not now.strict),
            "a": ("tally_basis", lambda: count_rules.next_choice(now.basis, tuple(count_rules.Basis)).value),
            "m": ("tally_method", lambda: count_rules.next_choice(now.method, tuple(count_rules.Method)).value),
        }[action]  # fmt: skip
        await set_setting(session, actor, cluster, key, value())


async def open_ballot(
    session: AsyncSession,
    actor: Actor,
    year: EmulationYear,
    kind: BallotKind,
    *,
    who: str,
    quota: int | None = None,
    self_vote: bool | None = None,
    deadline: dt.datetime | None = None,
    candidates: list[int] | None = None,
    top: int | None = None,
    runoff_of: Ballot | None = None,
    now: dt.datetime | None = None,
) -> Ballot:
    """Open a ballot in the voting phase; announced in the group, with its turnout.

    Candidates: every active unit; or `top` N by final score (ties at the cut kept); or
    `candidates` (a runoff among tied units, a chosen list): exactly those that are active.
    Quota and self-vote default to the cluster's settings."""
    now = now or utcnow()
    await check_can_open(session, actor, year, kind, runoff_of=runoff_of, now=now)
    cluster = await session.get(Cluster, year.cluster_id)
    active = await active_units(session, cluster.id)
    chosen, mode = await candidates_of(session, actor, cluster, active, candidates=candidates, top=top)
    if len(chosen) > MAX_CANDIDATES:
        raise Refusal(_("A ballot can have at most {max} candidates.").format(max=MAX_CANDIDATES))
    quota = quota if quota is not None else quota_setting(cluster, kind)
    if not 1 <= quota <= len(chosen):
        raise Refusal(_("Each unit can mark from 1 to {count} candidates on this ballot.").format(count=len(chosen)))
    self_vote = self_vote if self_vote is not None else self_vote_setting(cluster, kind)
    if deadline is not None and deadline <= now:
        raise Refusal(_("That deadline has already passed."))
    round_ = runoff_of.round + 1 if runoff_of is not None else 1
    ballot = Ballot(
        year_id=year.id, kind=kind, quota=quota, self_vote=self_vote, candidate_mode=mode.value,
        deadline_at=deadline, opened_at=now, opened_by_person_id=actor.person_id, round=round_,
        runoff_of_id=runoff_of.id if runoff_of is not None else None, status=BallotStatus.OPEN,
        publish_choices=board_choices_setting(cluster),
    )  # fmt: skip
    ballot.candidates = [BallotCandidate(unit_id=u, position=i) for i, u in enumerate(chosen)]
    session.add(ballot)
    await session.flush()
    record(session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="ballot.open",
           subject=f"ballot:{ballot.id}", kind=kind, quota=quota, self_vote=self_vote,
           candidates=len(chosen), deadline=deadline)  # fmt: skip
    if deadline is not None:
        schedule_changed(session)
    tz = cluster_timezone(cluster)
    await notify.to_group(
        session, cluster, f"ballot.opened:{ballot.id}",
        lambda: notify.Note(views.opened(kind, None, len(chosen), quota, self_vote, deadline, tz, who),
                            views.vote_link(notify.bot_username(), ballot.id)),
    )  # fmt: skip
    await _turnout(session, cluster, ballot, cast=0, eligible=len(active))
    return ballot


async def final_scores(session: AsyncSession, actor: Actor, cluster: Cluster) -> dict[int, Decimal]:
    """Each scored unit's final total (the verified value, or the decided one after a dispute)."""
    from bot.services import scoring  # the services import each other lazily

    actor.require(Action.MANAGE_BALLOTS)
    return await scoring.final_totals(session, cluster)


async def candidates_of(session: AsyncSession, actor: Actor, cluster: Cluster, active: list[int], *,
                        candidates: list[int] | None = None, top: int | None = None,
                        ) -> tuple[list[int], rules.CandidateMode]:  # fmt: skip
    if candidates is not None:
        return rules.candidates_for(rules.CandidateMode.LIST, active, chosen=candidates), rules.CandidateMode.LIST
    if top:
        scores = await final_scores(session, actor, cluster)
        return rules.candidates_for(rules.CandidateMode.TOP, active, scores=scores, top=top), rules.CandidateMode.TOP
    return rules.candidates_for(rules.CandidateMode.ALL, active), rules.CandidateMode.ALL


async def check_can_open(session: AsyncSession, actor: Actor, year: EmulationYear, kind: BallotKind, *,
                         runoff_of: Ballot | None = None, now: dt.datetime | None = None) -> None:  # fmt: skip
    """Refused unless `actor` may open ballots, the voting phase is open, and no ballot of this
    kind is open already (a second tap on "Open" opens nothing twice; a runoff is its own).
    A runoff the count asks for may also be opened by whoever may count (`Action.TALLY`)."""
    if runoff_of is None or not actor.may(Action.TALLY):
        actor.require(Action.MANAGE_BALLOTS)
    if year.cluster_id != actor.cluster_id:
        raise ballot_gone()
    # A runoff the count asked for may also run in the results phase (the count is there).
    phases = (PhaseKind.VOTING, PhaseKind.RESULTS) if runoff_of is not None else PhaseKind.VOTING
    await require_phase(session, year.id, phases, now=now or utcnow())
    if runoff_of is None and any(b.kind is kind and b.runoff_of_id is None for b in await store.open_ballots(session, year.id)):
        raise Refusal(_("A ballot on {title} is already open.").format(title=views.kind_name(kind)))


async def _turnout(session: AsyncSession, cluster: Cluster, ballot: Ballot, *, cast: int, eligible: int) -> None:
    closed = ballot.status is BallotStatus.CLOSED
    await notify.live_in_group(
        session, cluster, f"ballot-turnout:{ballot.id}",
        lambda: notify.Note(views.turnout(ballot.kind, ballot.label, cast, eligible, closed),
                            None if closed else views.vote_link(notify.bot_username(), ballot.id)),
    )  # fmt: skip


async def _open_ballot_of(session: AsyncSession, actor: Actor, ballot_id: int, *, lock: bool) -> tuple[Ballot, EmulationYear]:
    ballot = await (store.lock_ballot(session, ballot_id) if lock else session.get(Ballot, ballot_id))
    year = await session.get(EmulationYear, ballot.year_id) if ballot is not None else None
    if ballot is None or year is None or year.cluster_id != actor.cluster_id:
        raise ballot_gone()
    if ballot.status is not BallotStatus.OPEN:
        raise Refusal(_("Voting on this ballot has closed; nothing was recorded."))
    return ballot, year


def _candidate_ids(ballot: Ballot) -> list[int]:
    """The ballot's candidates in paper order, from its collection: `_open_ballot_of` gives a
    ballot with it loaded in this transaction (the button's statement or the lock's reload),
    and an open ballot's candidates never change."""
    return [candidate.unit_id for candidate in ballot.candidates]  # ordered (position, id)


async def _voting_unit(session: AsyncSession, actor: Actor, ballot: Ballot, unit_id: int) -> Unit:
    actor.require(Action.VOTE)
    unit = await session.get(Unit, unit_id)
    if unit is None or unit.id not in actor.unit_ids or unit.cluster_id != actor.cluster_id:
        raise Refusal(_("You do not represent that unit."))
    if not unit.active:
        raise Refusal(_("{unit} is no longer an active unit of the cluster, so it has no ballot paper.").format(
            unit=unit.name))  # fmt: skip
    if await store.has_voted(session, ballot.id, unit.id):
        raise Refusal(_("{unit} has already voted on this ballot. A cast paper is final.").format(unit=unit.name))
    return unit


async def paper(session: AsyncSession, actor: Actor, ballot_id: int, unit_id: int) -> Paper:
    """The paper `actor` may fill in for `unit_id`; refused once the unit voted or the ballot closed."""
    ballot, _year = await _open_ballot_of(session, actor, ballot_id, lock=False)
    unit = await _voting_unit(session, actor, ballot, unit_id)
    on_paper = rules.paper_for(unit.id, _candidate_ids(ballot), ballot.self_vote)
    return Paper(ballot, unit, on_paper, await _names(session, on_paper))


async def voting_units(session: AsyncSession, actor: Actor, ballot_id: int) -> list[tuple[Unit, bool]]:
    """The units `actor` may vote for on this ballot, with whether each has voted."""
    actor.require(Action.VOTE)
    ballot, _year = await _open_ballot_of(session, actor, ballot_id, lock=False)
    units = await _own_active_units(session, actor)
    voted = await store.voted_among(session, [ballot.id], [u.id for u in units])
    return [(u, (ballot.id, u.id) in voted) for u in units]


async def _own_active_units(session: AsyncSession, actor: Actor) -> list[Unit]:
    """The actor's active units, by id: one statement for the few a person represents."""
    if not actor.unit_ids:
        return []
    return list(await session.scalars(
        select(Unit).where(Unit.id.in_(actor.unit_ids), Unit.active.is_(True)).order_by(Unit.id)
    ))  # fmt: skip


async def cast(session: AsyncSession, actor: Actor, ballot_id: int, unit_id: int, marks: frozenset[int],
               *, abstain: bool, now: dt.datetime | None = None) -> Cast:  # fmt: skip
    """Cast the unit's paper: the register row, the paper and its marks in one transaction,
    every paper of the ballot rewritten (see `storage.ballots`). Two representatives of one
    unit pressing at the same instant: the ballot's row lock makes the second wait, then see
    the first's vote and be refused."""
    now = now or utcnow()
    ballot, year = await _open_ballot_of(session, actor, ballot_id, lock=True)
    if ballot.deadline_at is not None and now >= ballot.deadline_at:
        raise Refusal(_("Voting on this ballot has closed; nothing was recorded."))
    unit = await _voting_unit(session, actor, ballot, unit_id)
    on_paper = rules.paper_for(unit.id, _candidate_ids(ballot), ballot.self_vote)
    rules.check_cast(marks, on_paper, ballot.quota, abstain=abstain)
    tracker = store.fresh_tracker(await store.trackers(session, ballot.id), rules.new_tracker)
    session.add(VoterRegister(ballot_id=ballot.id, unit_id=unit.id, issued_at=now, cast_at=now))
    await store.rewrite_papers(session, ballot.id, [(tracker, sorted(marks))])
    # Who voted is public; what, never: the audit entry names the unit and not the paper.
    record(session, cluster_id=year.cluster_id, actor_person_id=actor.person_id, action="ballot.cast",
           subject=f"ballot:{ballot.id}", unit_id=unit.id)  # fmt: skip
    await session.flush()
    cluster = await session.get(Cluster, year.cluster_id)
    others = [p for _u, p in await representatives_of(session, [unit.id]) if p.id != actor.person_id]
    await notify.to_people(session, others, f"secret:ballot.receipt:{ballot.id}:{unit.id}",
                           lambda: views.receipt(unit.name, tracker, ballot.kind, ballot.label),
                           cluster_id=cluster.id)  # fmt: skip
    # Counted in the database: a vote's work does not grow with the cluster (the papers' rewrite
    # aside, which is the secrecy's price; storage/ballots.py).
    await _turnout(session, cluster, ballot, cast=await store.cast_count(session, ballot.id),
                   eligible=await active_unit_count(session, cluster.id))  # fmt: skip
    return Cast(unit, tracker, ballot)


async def close(session: AsyncSession, actor: Actor | None, ballot_id: int, *,
                now: dt.datetime | None = None, expected_deadline: dt.datetime | None = None) -> Closed | None:  # fmt: skip
    """Close the ballot (the chair, or the schedule with `actor` None at `expected_deadline`):
    papers rewritten once more, the board built, hashed, stored and published to the group.
    The schedule's call returns None when the ballot was closed or its deadline moved meanwhile."""
    now = now or utcnow()
    if actor is not None:
        actor.require(Action.MANAGE_BALLOTS)
        ballot, year = await _open_ballot_of(session, actor, ballot_id, lock=True)
    else:
        ballot = await store.lock_ballot(session, ballot_id)
        if ballot is None or ballot.status is not BallotStatus.OPEN or ballot.deadline_at != expected_deadline:
            return None
        year = await session.get(EmulationYear, ballot.year_id)
    return await _close(session, ballot, year, now=now, person_id=actor.person_id if actor else None)


async def close_for_tally(session: AsyncSession, actor: Actor, ballot_id: int, *, now: dt.datetime) -> Closed | None:
    """Close an open ballot because the year is being counted (`bot.services.tally`, whose
    caller was checked for `Action.TALLY`); None when it was closed meanwhile."""
    actor.require(Action.TALLY)
    ballot = await store.lock_ballot(session, ballot_id)
    if ballot is None or ballot.status is not BallotStatus.OPEN:
        return None
    year = await session.get(EmulationYear, ballot.year_id)
    if year is None or year.cluster_id != actor.cluster_id:
        raise ballot_gone()
    return await _close(session, ballot, year, now=now, person_id=actor.person_id, by_schedule=False)


async def _close(session: AsyncSession, ballot: Ballot, year: EmulationYear, *, now: dt.datetime,
                 person_id: int | None, by_schedule: bool | None = None) -> Closed:  # fmt: skip
    """Papers rewritten once more, the board built, hashed, stored and published; the papers
    issued (the active units now) stored for the count."""
    by_schedule = person_id is None if by_schedule is None else by_schedule
    cluster = await session.get(Cluster, year.cluster_id)
    ballot.status = BallotStatus.CLOSED
    ballot.closed_at = now
    # A receipt still waiting for a retry would pair a person with a tracker the board now
    # pairs with choices: given up, its text erased.
    await erase_pending_secrets(session, f"ballot.receipt:{ballot.id}:")
    await store.rewrite_papers(session, ballot.id)
    candidates = await store.candidates(session, ballot.id)
    papers = rules.board(await store.papers(session, ballot.id))
    names = await _names(session, candidates)
    text = rules.board_text(papers, names, with_choices=ballot.publish_choices)
    ballot.board_text = text
    ballot.board_sha256 = rules.board_hash(text)
    count = rules.recount(papers, candidates)
    eligible = len(await active_units(session, cluster.id))
    # Papers issued: every active unit, and a unit that voted and left before the close (its
    # paper was issued, and counted).
    ballot.issued = len(set(await active_units(session, cluster.id)) | await store.voted_units(session, ballot.id))
    record(session, cluster_id=cluster.id, actor_person_id=person_id,
           action="ballot.close", subject=f"ballot:{ballot.id}", cast=count.cast,
           board_sha256=ballot.board_sha256, by_schedule=by_schedule)  # fmt: skip
    schedule_changed(session)
    await session.flush()
    document = notify.Document(text.encode("utf-8"), f"bang-kiem-phieu-{ballot.id}.txt")
    await notify.to_group(session, cluster, f"ballot.closed:{ballot.id}",
                          lambda: views.closed(ballot.kind, ballot.label, count.cast, eligible, count.abstaining,
                                               ballot.board_sha256, by_schedule))  # fmt: skip
    await notify.document_to_group(session, cluster, f"ballot.board:{ballot.id}", document,
                                   lambda: views.board_caption(ballot.kind, ballot.label, ballot.board_sha256))  # fmt: skip
    await _turnout(session, cluster, ballot, cast=count.cast, eligible=eligible)
    after_commit(session, scrub_ballot_tables)  # the files keep no write order of the papers
    return Closed(ballot, count, eligible)


async def remind(session: AsyncSession, actor: Actor, ballot_id: int, *, now: dt.datetime | None = None) -> int:
    """The chair's "remind now": a private message to the representatives of every active unit
    that has not voted, at most once per unit per day (the cluster's day). Returns how many
    units are reminded now (0: all voted, or all reminded today already)."""
    actor.require(Action.MANAGE_BALLOTS)
    now = now or utcnow()
    ballot, year = await _open_ballot_of(session, actor, ballot_id, lock=False)
    cluster = await session.get(Cluster, year.cluster_id)
    day = reminders.local_day(cluster, now)
    voted = await store.voted_units(session, ballot.id)
    waiting = [Late(u.id, u.name) for u in await active_unit_rows(session, cluster.id) if u.id not in voted]
    phase = await reminders.phase_of_year(session, year.id, PhaseKind.VOTING)
    tz = cluster_timezone(cluster)

    def render(_unit: Late) -> notify.Note:
        markup = views.vote_button(ballot.id)
        if phase is not None:
            markup = InlineKeyboardMarkup([*markup.inline_keyboard, reminder_views.mute_row(phase.id)])
        return notify.Note(views.reminder(ballot.kind, ballot.label, ballot.deadline_at, tz), markup)

    reminded = await reminders.reach(session, cluster, phase, waiting,
                                     lambda unit_id: f"ballot.remind:{ballot.id}:{unit_id}:{day}", now, render)  # fmt: skip
    record(session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="ballot.remind",
           subject=f"ballot:{ballot.id}", units=reminded)  # fmt: skip
    return reminded


async def turnout_of(session: AsyncSession, actor: Actor, ballot_id: int) -> tuple[int, int]:
    """(units voted, units eligible) of an open ballot, for the chair about to close it."""
    actor.require(Action.MANAGE_BALLOTS)
    ballot, year = await _open_ballot_of(session, actor, ballot_id, lock=False)
    return await store.cast_count(session, ballot.id), await active_unit_count(session, year.cluster_id)


@dataclass(frozen=True)
class OpenBallot:
    """One open ballot as the /ballot list shows it to `actor`."""

    ballot: Ballot
    cast: int
    eligible: int
    my_units: list[Unit]  # the actor's active units that have not voted on it yet


@dataclass(frozen=True)
class Overview:
    ballots: list[OpenBallot]
    openable: list[BallotKind]  # kinds the actor may open now (none open of that kind)


async def overview(session: AsyncSession, actor: Actor | None, year: EmulationYear) -> Overview:
    """The year's open ballots with their turnout, the actor's units still to vote, and what
    the actor may open (one open ballot per kind, runoffs aside; `Action.MANAGE_BALLOTS`).

    Counted in the database and read from the register by the actor's own units: the rows
    read do not grow with the cluster (the screen shows counts, and buttons for the actor's
    units only). The register alone, never the papers: who voted, not what."""
    ballots = await store.open_ballots(session, year.id)
    if not ballots:
        lines = []
    else:
        ids = [b.id for b in ballots]
        eligible = await active_unit_count(session, year.cluster_id)
        cast = await store.cast_counts(session, ids)
        mine = [] if actor is None or not actor.may(Action.VOTE) else await _own_active_units(session, actor)
        voted = await store.voted_among(session, ids, [u.id for u in mine])
        lines = [OpenBallot(b, cast[b.id], eligible, [u for u in mine if (b.id, u.id) not in voted]) for b in ballots]
    running = {b.kind for b in ballots if b.runoff_of_id is None}
    may_open = actor is not None and actor.may(Action.MANAGE_BALLOTS)
    return Overview(lines, [k for k in BallotKind if k not in running] if may_open else [])

