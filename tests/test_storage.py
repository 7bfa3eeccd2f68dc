"""Storage round trips and the guarantees the rest of the bot relies on.

Runs on a migrated SQLite file, or on PostgreSQL when THIDUA_TEST_DATABASE_URL is set.
"""

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import DateTime, event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

import storage.people as people_queries
from storage.db import Database, default_sqlite_url
from storage.models import (
    Adjustment,
    AuditLog,
    Ballot,
    BallotCandidate,
    BallotKind,
    BallotMark,
    BallotPaper,
    BallotStatus,
    ChairHandover,
    Cluster,
    ClusterKind,
    ConversationState,
    Criterion,
    CriterionKind,
    EmulationYear,
    Evidence,
    EvidenceKind,
    Invite,
    Office,
    OutboxKind,
    OutboxMessage,
    Person,
    Phase,
    PhaseKind,
    Pledge,
    PledgeItem,
    PledgeRevision,
    PledgeStatus,
    Role,
    RoleAssignment,
    ScoreEntry,
    ScoreRound,
    ScoreSheet,
    ScoringTable,
    SheetStatus,
    Unit,
    VoterRegister,
)
from storage.people import (
    RoleView,
    cluster_by_chat,
    person_by_telegram_id,
    roles_of,
    set_person_locale,
    upsert_person,
)
from storage.testing import open_migrated_database
from storage.text import fold_name
from tests.support import ECONOMIC_CLUSTER_2024

HANOI = timezone(timedelta(hours=7))

ECONOMIC_CLUSTER_UNITS = list(ECONOMIC_CLUSTER_2024)


@pytest.fixture
async def db(tmp_path: Path):
    database = await open_migrated_database(tmp_path)
    try:
        yield database
    finally:
        await database.dispose()


class LoopTurns:
    """Counts how often a task on the event loop gets to run meanwhile: a loop that SQLite
    blocks (a busy wait or a long read in place) would not turn."""

    def __init__(self, every: float) -> None:
        self.every, self.count = every, 0

    async def _turn(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.count += 1

    async def __aenter__(self) -> "LoopTurns":
        self._task = asyncio.create_task(self._turn())
        return self

    async def __aexit__(self, *_exc) -> None:
        self._task.cancel()


async def make_cluster(db: Database, *, chat_id: int = -100123, n_units: int = 3) -> int:
    async with db.session() as s:
        cluster = Cluster(name="Cụm thi đua kinh tế", telegram_chat_id=chat_id)
        cluster.units = [
            Unit(name=name, position=i) for i, name in enumerate(ECONOMIC_CLUSTER_UNITS[:n_units])
        ]
        s.add(cluster)
        await s.commit()
        return cluster.id


# --- fold_name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Hội Làm vườn  Việt Nam", "hoi lam vuon viet nam"),
        ("Đà Nẵng", "da nang"),
        ("Thuỷ", "thuy"),
        ("Thủy", "thuy"),
        ("  Liên minh HTX\tTP Hồ Chí Minh \n", "lien minh htx tp ho chi minh"),
        ("HIỆP HỘI LÀNG NGHỀ VIỆT NAM", "hiep hoi lang nghe viet nam"),
        ("Hội Thuỷ sản Việt Nam", "hoi thuy san viet nam"),
        ("Ｈà Ｎội", "ha noi"),  # full-width letters from some keyboards
        ("Cần\u00a0Thơ", "can tho"),  # no-break space
        ("", ""),
    ],
)
def test_fold_name(raw: str, folded: str) -> None:
    assert fold_name(raw) == folded


def test_fold_name_equates_both_tone_mark_placements_and_unicode_forms() -> None:
    old_style, new_style = "Thuỷ", "Thủy"
    assert old_style != new_style
    decomposed = "Thu\u0309y"  # u + combining hook above, then y
    assert fold_name(old_style) == fold_name(new_style) == fold_name(decomposed) == "thuy"


# --- PhaseKind ---------------------------------------------------------------------------


def test_phase_kind_orders_by_the_year_not_the_alphabet() -> None:
    assert list(PhaseKind.ordered()) == [
        PhaseKind.REGISTRATION,
        PhaseKind.SIGNING,
        PhaseKind.SCORING,
        PhaseKind.VERIFICATION,
        PhaseKind.VOTING,
        PhaseKind.RESULTS,
        PhaseKind.CLOSED,
    ]
    assert PhaseKind.CLOSED > PhaseKind.VOTING > PhaseKind.REGISTRATION
    assert sorted([PhaseKind.CLOSED, PhaseKind.SIGNING, PhaseKind.RESULTS]) == [
        PhaseKind.SIGNING,
        PhaseKind.RESULTS,
        PhaseKind.CLOSED,
    ]
    assert PhaseKind.SCORING.next is PhaseKind.VERIFICATION
    assert PhaseKind.CLOSED.next is None
    assert PhaseKind("voting") == "voting"


# --- Database ----------------------------------------------------------------------------


def test_default_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_sqlite_url(tmp_path) == (
        f"sqlite+aiosqlite:///{tmp_path.resolve().as_posix()}/thidua.sqlite3"
    )
    monkeypatch.chdir(tmp_path)
    assert default_sqlite_url() == default_sqlite_url(tmp_path)
    assert default_sqlite_url().startswith("sqlite+aiosqlite:////")


async def test_database_creates_the_sqlite_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "bot.sqlite3"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await database.ping()
    finally:
        await database.dispose()
    assert path.exists()
    assert "bot.sqlite3" in repr(database)


async def test_sqlite_connection_settings(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    async with db.session() as s:
        assert (await s.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (await s.scalar(text("PRAGMA foreign_keys"))) == 1
        # SQLite's own busy handler would sleep inside the call and block the event loop; the
        # waiting is done by storage/sqlite_inline.py instead, for as long.
        assert (await s.scalar(text("PRAGMA busy_timeout"))) == 0
        raw = await (await s.connection()).get_raw_connection()
        assert raw.driver_connection.busy_timeout_ms >= 5000


async def test_a_session_waiting_for_the_write_lock_does_not_hold_up_the_event_loop(db: Database) -> None:
    """The second writer waits for the first (same process, same file) while the loop keeps
    running: the first can finish only because the wait does not block the loop."""
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    first_has_lock = asyncio.Event()

    async def first() -> None:
        async with db.session() as s:
            s.add(Person(telegram_user_id=71, full_name="Người thứ nhất"))
            await s.flush()  # BEGIN IMMEDIATE: the write lock is this session's
            first_has_lock.set()
            for _ in range(5):
                await asyncio.sleep(0.02)
            await s.commit()

    async def second() -> int | None:
        await first_has_lock.wait()
        async with db.session() as s:  # waits for the lock, then sees the first one's row
            found = await s.scalar(select(Person.id).where(Person.telegram_user_id == 71))
            await s.commit()
            return found

    async with LoopTurns(every=0.005) as turns:
        _, found = await asyncio.gather(first(), second())
    assert found is not None
    assert turns.count >= 5


async def test_a_write_lock_held_past_the_busy_timeout_fails_with_sqlites_error(tmp_path: Path, monkeypatch) -> None:
    import sqlite3

    import storage.db as storage_db

    monkeypatch.setattr(storage_db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'busy.sqlite3'}")
    try:
        await database.ping()
        holder = sqlite3.connect(tmp_path / "busy.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        try:
            with pytest.raises(OperationalError):
                async with database.session() as s:
                    await s.execute(text("SELECT 1"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        async with database.session() as s:  # and works again once it is let go
            assert await s.scalar(text("SELECT 1")) == 1
    finally:
        await database.dispose()


async def test_foreign_key_violation_raises(db: Database) -> None:
    async with db.session() as s:
        s.add(Unit(cluster_id=987654, name="Không có cụm"))
        with pytest.raises(IntegrityError):
            await s.commit()


async def test_unit_names_are_unique_after_folding(db: Database) -> None:
    cluster_id = await make_cluster(db, n_units=0)
    async with db.session() as s:
        s.add(Unit(cluster_id=cluster_id, name="Hội Thuỷ sản Việt Nam"))
        await s.commit()
    async with db.session() as s:
        s.add(Unit(cluster_id=cluster_id, name="hội  THỦY sản viet nam"))
        with pytest.raises(IntegrityError):
            await s.commit()
    # Another cluster may have a unit of the same name.
    other_id = await make_cluster(db, chat_id=-100999, n_units=0)
    async with db.session() as s:
        unit = Unit(cluster_id=other_id, name="  Hội Thuỷ sản   Việt Nam ")
        s.add(unit)
        await s.commit()
        assert unit.name == "Hội Thuỷ sản Việt Nam"
        assert unit.name_key == "hoi thuy san viet nam"


async def test_check_constraints(db: Database) -> None:
    cluster_id = await make_cluster(db)
    async with db.session() as s:
        person = Person(telegram_user_id=1, full_name="A")
        s.add(person)
        await s.commit()
    async with db.session() as s:
        s.add(RoleAssignment(cluster_id=cluster_id, person_id=person.id, role=Role.REPRESENTATIVE))
        with pytest.raises(IntegrityError):
            await s.commit()
    async with db.session() as s:
        with pytest.raises(IntegrityError):
            await s.execute(
                text(
                    "INSERT INTO clusters (name, kind, locale, timezone, settings, created_at) "
                    "VALUES ('x', 'galaxy', 'vi', 'UTC', '{}', :now)"
                ),
                {"now": datetime(2024, 1, 1)},
            )
    async with db.session() as s:
        s.add(RoleAssignment(cluster_id=cluster_id, person_id=person.id, role=Role.ADMIN))
        await s.commit()
    async with db.session() as s:  # the same unit-less role twice
        s.add(RoleAssignment(cluster_id=cluster_id, person_id=person.id, role=Role.ADMIN))
        with pytest.raises(IntegrityError):
            await s.commit()


async def test_adjustment_needs_a_reason(db: Database) -> None:
    cluster_id = await make_cluster(db)
    async with db.session() as s:
        units = (await s.scalars(select(Unit).where(Unit.cluster_id == cluster_id))).all()
        year = EmulationYear(cluster_id=cluster_id, year=2024, chair_unit_id=units[0].id)
        s.add(year)
        await s.flush()
        table = ScoringTable(year_id=year.id, normal_total=Decimal(100), bonus_cap=Decimal(5))
        table.criteria = [Criterion(group_name="I", code="1.1", text="t", max_points=Decimal(30))]
        s.add(table)
        await s.flush()
        entry = ScoreEntry(criterion_id=table.criteria[0].id, self_value=Decimal("30"))
        s.add(ScoreSheet(year_id=year.id, unit_id=units[1].id, entries=[entry]))
        await s.commit()
    for reason in ("", "   "):
        async with db.session() as s:
            s.add(Adjustment(entry_id=entry.id, from_value=Decimal(30), to_value=25, reason=reason))
            with pytest.raises(IntegrityError):
                await s.commit()
    async with db.session() as s:
        s.add(Adjustment(entry_id=entry.id, to_value=Decimal(25), reason="Thiếu minh chứng"))
        await s.commit()


async def test_points_refuse_floats_and_values_the_column_would_round(db: Database) -> None:
    cluster_id = await make_cluster(db)
    async with db.session() as s:
        unit = (await s.scalars(select(Unit).where(Unit.cluster_id == cluster_id))).first()
        year = EmulationYear(cluster_id=cluster_id, year=2024, chair_unit_id=unit.id)
        s.add(year)
        await s.commit()
    for bad in (8.55, Decimal("8.555"), Decimal("1000000"), Decimal("NaN"), True):
        async with db.session() as s:
            s.add(ScoringTable(year_id=year.id, normal_total=bad, bonus_cap=Decimal(0)))
            with pytest.raises(StatementError) as info:
                await s.flush()
            assert isinstance(info.value.orig, TypeError | ValueError), bad
    async with db.session() as s:  # the largest value that fits
        s.add(ScoringTable(year_id=year.id, normal_total=Decimal("999999.99"), bonus_cap=0))
        await s.commit()
    async with db.session() as s:
        table = (await s.scalars(select(ScoringTable))).one()
        assert table.normal_total == Decimal("999999.99") and table.bonus_cap == Decimal("0.00")


async def test_naive_datetimes_are_refused(db: Database) -> None:
    async with db.session() as s:
        s.add(Person(telegram_user_id=5, full_name="N", created_at=datetime(2024, 1, 1)))
        with pytest.raises(StatementError) as info:
            await s.flush()
        assert isinstance(info.value.orig, ValueError)


# --- the secret ballot -------------------------------------------------------------------

IDENTIFYING = ("unit", "person", "voter", "user", "telegram", "chat", "by", "member")
TIMELIKE = ("at", "time", "date", "created", "updated", "cast", "seq", "order", "rowid")


def _column_words(name: str) -> set[str]:
    return set(name.lower().split("_"))


def test_ballot_paper_has_nothing_that_links_it_to_a_voter() -> None:
    table = BallotPaper.__table__
    # the tracker is random (bot.ballots.new_tracker) and given only to the voting unit
    assert {c.name for c in table.columns} == {"id", "ballot_id", "tracker"}
    for column in table.columns:
        words = _column_words(column.name)
        assert not words & set(IDENTIFYING), column.name
        assert not words & set(TIMELIKE), column.name
        assert not isinstance(column.type, DateTime), column.name
    (pk,) = table.primary_key.columns
    assert pk.name == "id" and pk.autoincrement is not True
    assert pk.type.python_type is str

    marks = BallotMark.__table__
    assert {c.name for c in marks.columns} == {"id", "paper_id", "candidate_unit_id"}
    for column in marks.columns:
        assert not _column_words(column.name) & set(TIMELIKE), column.name
        assert not isinstance(column.type, DateTime), column.name
    assert marks.primary_key.columns["id"].type.python_type is str


async def test_ballot_paper_keys_are_random_and_columns_match_in_the_database(
    db: Database,
) -> None:
    cluster_id = await make_cluster(db)
    async with db.session() as s:
        units = (await s.scalars(select(Unit).where(Unit.cluster_id == cluster_id))).all()
        year = EmulationYear(cluster_id=cluster_id, year=2024, chair_unit_id=units[0].id)
        s.add(year)
        await s.flush()
        ballot = Ballot(year_id=year.id, kind=BallotKind.FLAG, quota=1)
        s.add(ballot)
        await s.flush()
        papers = [BallotPaper(ballot_id=ballot.id, tracker=f"T{n:07d}") for n in range(20)]
        s.add_all(papers)
        await s.commit()
    ids = [p.id for p in papers]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids != sorted(ids)  # 20 random keys are not written in key order (p = 1/20!)

    async with db.engine.connect() as conn:
        columns = await conn.run_sync(
            lambda c: {
                t: {col["name"] for col in inspect(c).get_columns(t)}
                for t in ("ballot_papers", "ballot_marks")
            }
        )
    assert columns == {
        "ballot_papers": {"id", "ballot_id", "tracker"},
        "ballot_marks": {"id", "paper_id", "candidate_unit_id"},
    }


async def test_ballot_tables_are_without_rowid_on_sqlite(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    async with db.session() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                    "AND name IN ('ballot_papers', 'ballot_marks', 'voter_register')"
                )
            )
        ).all()
    sql = {name: " ".join(ddl.upper().split()) for name, ddl in rows}
    assert sql["ballot_papers"].endswith("WITHOUT ROWID")
    assert sql["ballot_marks"].endswith("WITHOUT ROWID")
    assert "WITHOUT ROWID" not in sql["voter_register"]


async def test_scrub_write_history(db: Database) -> None:
    done = await db.scrub_write_history()
    if db.is_sqlite:
        assert done is True
        path = Path(db.url.split("///", 1)[1])
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
    else:
        assert done is False


# --- round trip of every model -----------------------------------------------------------


async def test_round_trip_of_every_model(db: Database) -> None:
    t0 = datetime(2024, 2, 27, 8, 30, 15, 123456, tzinfo=HANOI)
    deadline = datetime(2024, 12, 10, 17, 0, tzinfo=UTC)
    token_hash = hashlib.sha256(b"raw-invite-token").hexdigest()

    async with db.session() as s:
        cluster = Cluster(
            name="Cụm thi đua các tổ chức thành viên - khối kinh tế",
            kind=ClusterKind.CLUSTER,
            telegram_chat_id=-1001234567890123,
            settings={"quota": {"flag": 1, "merit": 2}, "threshold": "0.5", "mode": "chair"},
            created_at=t0,
        )
        cluster.units = [Unit(name=n, position=i) for i, n in enumerate(ECONOMIC_CLUSTER_UNITS)]
        rep = Person(
            telegram_user_id=7_000_000_001,
            full_name="Nguyễn Thị Hoà",
            username="hoa_nt",
            language_code="vi",
            locale="en",
            created_at=t0,
            last_seen_at=t0,
        )
        secretary = Person(telegram_user_id=42, full_name="Trần Văn Đức")
        s.add_all([cluster, rep, secretary])
        await s.flush()
        chair, vice, gardeners, *_ = cluster.units

        s.add_all(
            [
                RoleAssignment(
                    cluster_id=cluster.id,
                    person_id=rep.id,
                    role=Role.REPRESENTATIVE,
                    unit_id=chair.id,
                    created_at=t0,
                ),
                RoleAssignment(
                    cluster_id=cluster.id, person_id=secretary.id, role=Role.SECRETARIAT
                ),
                Invite(
                    cluster_id=cluster.id,
                    role=Role.REPRESENTATIVE,
                    unit_id=gardeners.id,
                    token_hash=token_hash,
                    created_by_person_id=secretary.id,
                    created_at=t0,
                    expires_at=t0 + timedelta(days=7),
                ),
            ]
        )
        year = EmulationYear(
            cluster_id=cluster.id, year=2024, chair_unit_id=chair.id, vice_chair_unit_id=vice.id
        )
        year.phases = [
            Phase(kind=PhaseKind.REGISTRATION, opens_at=t0, deadline_at=deadline, opened_at=t0),
            Phase(kind=PhaseKind.VOTING, deadline_at=deadline),
        ]
        s.add(year)
        await s.flush()
        s.add(
            ChairHandover(
                year_id=year.id,
                office=Office.CHAIR,
                from_unit_id=None,
                to_unit_id=chair.id,
                at=t0,
                by_person_id=secretary.id,
            )
        )

        table = ScoringTable(year_id=year.id, normal_total=Decimal("100"), bonus_cap=Decimal(5))
        table.criteria = [
            Criterion(
                group_name="I. Thực hiện nhiệm vụ chính trị",
                code="1.1",
                text="Hoàn thành chỉ tiêu, nhiệm vụ chuyên môn được giao",
                max_points=Decimal(30),
                position=1,
            ),
            Criterion(
                group_name="Điểm thưởng",
                code="B.1",
                text="Sáng kiến",
                max_points=Decimal(5),
                kind=CriterionKind.BONUS,
                position=2,
            ),
            Criterion(
                group_name="Điểm trừ",
                code="D.1",
                text="Báo cáo chậm",
                max_points=Decimal(2),
                kind=CriterionKind.DEDUCTION,
                position=3,
            ),
        ]
        s.add(table)

        pledge = Pledge(
            year_id=year.id,
            unit_id=gardeners.id,
            status=PledgeStatus.SUBMITTED,
            submitted_at=t0,
            updated_by_person_id=rep.id,
        )
        pledge.items = [
            PledgeItem(
                position=1,
                text="Phát triển 120 hội viên mới",
                target_value=Decimal("120"),
                target_unit="hội viên",
            ),
            PledgeItem(position=2, text="Tổ chức hội thi cây cảnh", target_value=Decimal("0.125")),
        ]
        s.add(pledge)
        await s.flush()
        s.add(
            PledgeRevision(
                pledge_id=pledge.id,
                number=1,
                reason="Sửa chỉ tiêu tại hội nghị",
                snapshot={"items": [{"text": pledge.items[0].text, "target": Decimal("120")}]},
                by_person_id=rep.id,
                at=t0,
            )
        )

        await s.flush()  # criteria get their ids
        entry = ScoreEntry(
            criterion_id=table.criteria[0].id,
            self_value=Decimal("28.55"),
            verified_value=Decimal("8.55"),
            decided_value=Decimal("27.10"),
            note="ghi chú",
            evidence=[
                Evidence(
                    telegram_file_id="BQACAgUAAxkBAAI",
                    file_unique_id="AgADx",
                    file_name="bc.pdf",
                    file_size=3_500_000_000,
                    mime_type="application/pdf",
                    kind=EvidenceKind.DOCUMENT,
                    added_by_person_id=rep.id,
                    added_at=t0,
                )
            ],
            adjustments=[
                Adjustment(
                    verifier_unit_id=chair.id,
                    by_person_id=secretary.id,
                    from_value=Decimal("28.55"),
                    to_value=Decimal("8.55"),
                    reason="Thiếu minh chứng",
                    at=t0,
                    explanation="Đã bổ sung",
                    explained_at=t0 + timedelta(hours=1),
                    explained_by_person_id=rep.id,
                    decided_value=Decimal("27.10"),
                    decided_by_person_id=secretary.id,
                    decided_at=t0 + timedelta(days=1),
                )
            ],
        )
        sheet = ScoreSheet(
            year_id=year.id,
            unit_id=gardeners.id,
            round=ScoreRound.YEAREND,
            status=SheetStatus.SUBMITTED,
            submitted_at=t0,
            verifier_unit_id=chair.id,
            entries=[
                entry,
                ScoreEntry(criterion_id=table.criteria[2].id, self_value=Decimal("-0.01")),
            ],
        )
        s.add(sheet)

        ballot = Ballot(
            year_id=year.id,
            kind=BallotKind.MERIT,
            round=1,
            quota=2,
            label="Đề nghị Bằng khen",
            opened_at=t0,
        )
        ballot.candidates = [
            BallotCandidate(unit_id=u.id, position=i) for i, u in enumerate(cluster.units[:4])
        ]
        s.add(ballot)
        await s.flush()
        runoff = Ballot(
            year_id=year.id,
            kind=BallotKind.MERIT,
            round=2,
            quota=1,
            runoff_of_id=ballot.id,
            status=BallotStatus.CLOSED,
            closed_at=deadline,
        )
        s.add(runoff)
        s.add(VoterRegister(ballot_id=ballot.id, unit_id=gardeners.id, issued_at=t0, cast_at=t0))
        paper = BallotPaper(ballot_id=ballot.id, tracker="A2B3C4D5")
        paper.marks = [
            BallotMark(candidate_unit_id=chair.id),
            BallotMark(candidate_unit_id=vice.id),
        ]
        abstention = BallotPaper(ballot_id=ballot.id, tracker="Z9Y8X7W6")
        s.add_all([paper, abstention])

        s.add(
            AuditLog(
                cluster_id=cluster.id,
                at=t0,
                actor_person_id=secretary.id,
                action="pledge.return",
                subject=f"pledge:{pledge.id}",
                details={"comment": "Bổ sung chỉ tiêu", "points": Decimal("8.55")},
            )
        )
        s.add(
            OutboxMessage(
                chat_id=cluster.telegram_chat_id,
                kind=OutboxKind.DOCUMENT,
                payload={"text": "Biên bản kiểm phiếu", "file": "bb.docx"},
                dedupe_key="minutes:2024:merit:1",
                not_before=deadline,
            )
        )
        s.add(
            ConversationState(
                person_id=rep.id,
                chat_id=rep.telegram_user_id,
                flow="pledge",
                step="items",
                data={"draft": ["Phát triển 120 hội viên mới"], "page": 2},
            )
        )
        await s.commit()
        ids = {
            "cluster": cluster.id,
            "rep": rep.id,
            "year": year.id,
            "pledge": pledge.id,
            "sheet": sheet.id,
            "ballot": ballot.id,
            "paper": paper.id,
            "chair": chair.id,
            "vice": vice.id,
            "gardeners": gardeners.id,
            "entry": entry.id,
        }

    # A new Database on the same file: nothing may come from the first one's identity map.
    fresh = Database(db.url)
    try:
        async with fresh.session() as s:
            cluster = await s.get_one(Cluster, ids["cluster"])
            assert cluster.name == "Cụm thi đua các tổ chức thành viên - khối kinh tế"
            assert cluster.kind is ClusterKind.CLUSTER
            assert cluster.telegram_chat_id == -1001234567890123
            assert cluster.locale == "vi" and cluster.timezone == "Asia/Ho_Chi_Minh"
            assert cluster.settings["quota"] == {"flag": 1, "merit": 2}
            assert cluster.created_at == t0 and cluster.created_at.tzinfo is not None
            assert cluster.created_at.utcoffset() == timedelta(0)

            units = (
                await s.scalars(
                    select(Unit).where(Unit.cluster_id == cluster.id).order_by(Unit.position)
                )
            ).all()
            assert [u.name for u in units] == ECONOMIC_CLUSTER_UNITS
            assert units[7].name_key == "hoi thuy san viet nam"
            assert all(u.active for u in units)

            rep = await s.get_one(Person, ids["rep"])
            assert (rep.telegram_user_id, rep.full_name, rep.username) == (
                7_000_000_001,
                "Nguyễn Thị Hoà",
                "hoa_nt",
            )
            assert (rep.language_code, rep.locale) == ("vi", "en")
            assert rep.last_seen_at == t0

            roles = (await s.scalars(select(RoleAssignment).order_by(RoleAssignment.id))).all()
            assert [(r.role, r.unit_id) for r in roles] == [
                (Role.REPRESENTATIVE, ids["chair"]),
                (Role.SECRETARIAT, None),
            ]
            assert roles[0].created_at == t0 and roles[0].revoked_at is None

            invite = (await s.scalars(select(Invite))).one()
            assert invite.token_hash == token_hash and invite.unit_id == ids["gardeners"]
            assert invite.expires_at - invite.created_at == timedelta(days=7)
            assert invite.used_at is None

            year = await s.get_one(EmulationYear, ids["year"])
            assert (year.year, year.chair_unit_id, year.vice_chair_unit_id) == (
                2024,
                ids["chair"],
                ids["vice"],
            )
            assert [p.kind for p in year.phases] == [PhaseKind.REGISTRATION, PhaseKind.VOTING]
            registration = year.phases[0]
            assert registration.opens_at == t0 and registration.deadline_at == deadline
            assert registration.opened_at.tzinfo is not None and registration.closed_at is None
            handover = (await s.scalars(select(ChairHandover))).one()
            assert (handover.office, handover.from_unit_id, handover.to_unit_id) == (
                Office.CHAIR,
                None,
                ids["chair"],
            )

            table = (await s.scalars(select(ScoringTable))).one()
            assert table.normal_total == Decimal("100.00") and table.bonus_cap == Decimal(5)
            assert [(c.code, c.kind, c.max_points) for c in table.criteria] == [
                ("1.1", CriterionKind.NORMAL, Decimal(30)),
                ("B.1", CriterionKind.BONUS, Decimal(5)),
                ("D.1", CriterionKind.DEDUCTION, Decimal(2)),
            ]
            assert all(isinstance(c.max_points, Decimal) for c in table.criteria)

            pledge = await s.get_one(Pledge, ids["pledge"])
            assert pledge.status is PledgeStatus.SUBMITTED and pledge.version == 1
            assert [(i.text, i.target_value, i.target_unit) for i in pledge.items] == [
                ("Phát triển 120 hội viên mới", Decimal(120), "hội viên"),
                ("Tổ chức hội thi cây cảnh", Decimal("0.125"), None),
            ]
            revision = (await s.scalars(select(PledgeRevision))).one()
            # Decimals in JSON are written as strings, never as floats.
            assert revision.snapshot == {
                "items": [{"text": "Phát triển 120 hội viên mới", "target": "120"}]
            }

            sheet = await s.get_one(ScoreSheet, ids["sheet"])
            assert (sheet.round, sheet.status, sheet.version) == (
                ScoreRound.YEAREND,
                SheetStatus.SUBMITTED,
                1,
            )
            entry = next(e for e in sheet.entries if e.id == ids["entry"])
            assert entry.self_value == Decimal("28.55")
            assert entry.verified_value == Decimal("8.55")
            assert str(entry.verified_value) == "8.55"
            assert isinstance(entry.verified_value, Decimal)
            assert entry.decided_value == Decimal("27.10")
            assert [e.self_value for e in sheet.entries if e.id != entry.id] == [Decimal("-0.01")]
            (evidence,) = entry.evidence
            assert evidence.file_size == 3_500_000_000 and evidence.kind is EvidenceKind.DOCUMENT
            assert evidence.added_at == t0
            (adjustment,) = entry.adjustments
            assert (adjustment.from_value, adjustment.to_value, adjustment.decided_value) == (
                Decimal("28.55"),
                Decimal("8.55"),
                Decimal("27.10"),
            )
            assert adjustment.reason == "Thiếu minh chứng"
            assert adjustment.explained_at == t0 + timedelta(hours=1)
            assert adjustment.decided_at == t0 + timedelta(days=1)

            ballot = await s.get_one(Ballot, ids["ballot"])
            assert (ballot.kind, ballot.round, ballot.quota, ballot.status) == (
                BallotKind.MERIT,
                1,
                2,
                BallotStatus.OPEN,
            )
            assert [c.unit_id for c in ballot.candidates] == [u.id for u in units[:4]]
            runoff = (await s.scalars(select(Ballot).where(Ballot.round == 2))).one()
            assert runoff.runoff_of_id == ballot.id and runoff.closed_at == deadline
            register = (await s.scalars(select(VoterRegister))).one()
            assert (register.unit_id, register.cast_at) == (ids["gardeners"], t0)
            papers = (await s.scalars(select(BallotPaper))).all()
            assert len(papers) == 2
            marked = {p.id: sorted(m.candidate_unit_id for m in p.marks) for p in papers}
            assert marked[ids["paper"]] == sorted([ids["chair"], ids["vice"]])
            assert sorted(len(v) for v in marked.values()) == [0, 2]

            audit = (await s.scalars(select(AuditLog))).one()
            assert audit.details == {"comment": "Bổ sung chỉ tiêu", "points": "8.55"}
            assert audit.at == t0

            outbox = (await s.scalars(select(OutboxMessage))).one()
            assert (outbox.kind, outbox.attempts, outbox.sent_at) == (OutboxKind.DOCUMENT, 0, None)
            assert outbox.payload["text"] == "Biên bản kiểm phiếu"
            assert outbox.not_before == deadline and outbox.chat_id == -1001234567890123

            state = (await s.scalars(select(ConversationState))).one()
            assert (state.flow, state.step) == ("pledge", "items")
            assert state.data == {"draft": ["Phát triển 120 hội viên mới"], "page": 2}
            assert state.updated_at.tzinfo is not None

            # Times stored in UTC compare correctly in SQL, whatever zone they were written in.
            later = await s.scalar(
                select(func.count()).select_from(Phase).where(Phase.deadline_at > t0)
            )
            assert later == 2
    finally:
        await fresh.dispose()


# --- behaviours the handlers rely on -----------------------------------------------------


async def test_in_place_json_edits_are_saved(db: Database) -> None:
    cluster_id = await make_cluster(db, n_units=0)
    async with db.session() as s:
        cluster = await s.get_one(Cluster, cluster_id)
        cluster.settings["quorum"] = "2/3"
        await s.commit()
    async with db.session() as s:
        cluster = await s.get_one(Cluster, cluster_id)
        assert cluster.settings == {"quorum": "2/3"}


async def test_pledge_version_stops_a_lost_update(db: Database) -> None:
    cluster_id = await make_cluster(db)
    async with db.session() as s:
        units = (await s.scalars(select(Unit).where(Unit.cluster_id == cluster_id))).all()
        year = EmulationYear(cluster_id=cluster_id, year=2025, chair_unit_id=units[0].id)
        s.add(year)
        await s.flush()
        s.add(Pledge(year_id=year.id, unit_id=units[1].id))
        await s.commit()

    async with db.session() as first:
        mine = (await first.scalars(select(Pledge))).one()
        await first.commit()  # the representative looked at version 1 ...
        async with db.session() as second:  # ... the secretariat returns it meanwhile
            theirs = (await second.scalars(select(Pledge))).one()
            theirs.status = PledgeStatus.RETURNED
            await second.commit()
            assert theirs.version == 2
        mine.status = PledgeStatus.SUBMITTED
        with pytest.raises(StaleDataError):
            await first.commit()


async def test_concurrent_writers_queue_instead_of_failing(db: Database) -> None:
    async def write(n: int) -> None:
        async with db.session() as s:
            await s.scalar(select(Person.id).limit(1))  # read first, then write
            await asyncio.sleep(0.05)
            s.add(Person(telegram_user_id=1000 + n, full_name=f"P{n}"))
            await s.commit()

    await asyncio.gather(*(write(n) for n in range(5)))
    async with db.session() as s:
        assert len((await s.scalars(select(Person))).all()) == 5


async def test_upsert_person(db: Database) -> None:
    async with db.session() as s:
        created = await upsert_person(
            s, telegram_user_id=123, full_name="Lê Văn A", username=None, language_code="vi"
        )
        await s.commit()
    first_seen = created.last_seen_at
    async with db.session() as s:
        again = await upsert_person(
            s, telegram_user_id=123, full_name="Lê Văn Anh", username="anh", language_code="en"
        )
        await set_person_locale(s, again, "vi")
        await s.commit()
    assert again.id == created.id
    async with db.session() as s:
        person = await person_by_telegram_id(s, 123)
        assert person is not None
        assert (person.full_name, person.username, person.language_code, person.locale) == (
            "Lê Văn Anh",
            "anh",
            "en",
            "vi",
        )
        assert person.last_seen_at >= first_seen
        assert person.created_at == created.created_at
        assert await person_by_telegram_id(s, 999) is None
        await set_person_locale(s, person, None)
        await s.commit()
    async with db.session() as s:
        assert (await person_by_telegram_id(s, 123)).locale is None


async def test_upsert_person_survives_a_racing_insert(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loser of an insert race (a second update from a brand-new user) updates instead."""
    if db.is_sqlite:
        pytest.skip("SQLite: a transaction holds the write lock from its BEGIN, so no insert can come "
                    "between its look and its insert (storage.db.racing_insert)")  # fmt: skip
    async with db.session() as s:
        s.add(Person(telegram_user_id=77, full_name="Đã có"))
        await s.commit()
    real_lookup = people_queries.person_by_telegram_id
    calls = 0

    async def blind_first_lookup(session: AsyncSession, telegram_user_id: int) -> Person | None:
        nonlocal calls
        calls += 1  # the first lookup misses, as if the other insert had not committed yet
        return None if calls == 1 else await real_lookup(session, telegram_user_id)

    monkeypatch.setattr(people_queries, "person_by_telegram_id", blind_first_lookup)
    async with db.session() as s:
        person = await upsert_person(
            s, telegram_user_id=77, full_name="Mới", username=None, language_code=None
        )
        await s.commit()
    assert calls == 2
    assert person.full_name == "Mới"
    async with db.session() as s:
        assert len((await s.scalars(select(Person))).all()) == 1


async def test_a_first_contact_takes_a_savepoint_only_where_two_transactions_can_race(db: Database) -> None:
    """`racing_insert`: PostgreSQL's transactions can both look and insert (a savepoint lets
    the loser read the winner's row); SQLite's cannot (BEGIN IMMEDIATE), so no savepoint."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.session() as s:
            person = await upsert_person(s, telegram_user_id=78, full_name="Mới", username=None, language_code=None)
            assert person.id is not None  # flushed by the block's end
            await s.commit()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    savepoints = [q for q in statements if q.upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert len(savepoints) == (0 if db.is_sqlite else 2), statements
    async with db.session() as s:
        assert (await person_by_telegram_id(s, 78)).full_name == "Mới"


async def test_roles_of_and_cluster_by_chat(db: Database) -> None:
    cluster_id = await make_cluster(db, chat_id=-100555, n_units=4)
    async with db.session() as s:
        units = (
            await s.scalars(select(Unit).where(Unit.cluster_id == cluster_id).order_by(Unit.id))
        ).all()
        person = await upsert_person(
            s, telegram_user_id=9, full_name="B", username=None, language_code=None
        )
        other = await upsert_person(
            s, telegram_user_id=10, full_name="C", username=None, language_code=None
        )
        s.add_all(
            [
                # Chair of 2023 was unit 2; in 2024 (the latest) unit 0 chairs, unit 1 is vice.
                EmulationYear(cluster_id=cluster_id, year=2023, chair_unit_id=units[2].id),
                EmulationYear(
                    cluster_id=cluster_id,
                    year=2024,
                    chair_unit_id=units[0].id,
                    vice_chair_unit_id=units[1].id,
                ),
                RoleAssignment(cluster_id=cluster_id, person_id=person.id, role=Role.ADMIN),
                RoleAssignment(
                    cluster_id=cluster_id,
                    person_id=person.id,
                    role=Role.REPRESENTATIVE,
                    unit_id=units[0].id,
                ),
                RoleAssignment(
                    cluster_id=cluster_id,
                    person_id=person.id,
                    role=Role.REPRESENTATIVE,
                    unit_id=units[1].id,
                ),
                RoleAssignment(
                    cluster_id=cluster_id,
                    person_id=person.id,
                    role=Role.REPRESENTATIVE,
                    unit_id=units[2].id,
                    active=False,
                ),
                RoleAssignment(
                    cluster_id=cluster_id,
                    person_id=person.id,
                    role=Role.SECRETARIAT,
                    unit_id=units[3].id,
                ),
                RoleAssignment(
                    cluster_id=cluster_id,
                    person_id=other.id,
                    role=Role.REPRESENTATIVE,
                    unit_id=units[3].id,
                ),
            ]
        )
        await s.commit()

    async with db.session() as s:
        views = await roles_of(s, person.id)
        found = await cluster_by_chat(s, -100555)
        missing = await cluster_by_chat(s, -1)
    name = "Cụm thi đua kinh tế"
    assert views == [
        RoleView(cluster_id, name, Role.ADMIN, None, None, False, False),
        RoleView(cluster_id, name, Role.REPRESENTATIVE, units[0].id, units[0].name, True, False),
        RoleView(cluster_id, name, Role.REPRESENTATIVE, units[1].id, units[1].name, False, True),
        RoleView(cluster_id, name, Role.SECRETARIAT, units[3].id, units[3].name, False, False),
    ]
    assert found is not None and found.id == cluster_id
    assert missing is None

    async with db.session() as s:  # a unit that left the cluster no longer acts
        unit = await s.get_one(Unit, units[1].id)
        unit.active = False
        await s.commit()
    async with db.session() as s:
        assert [v.unit_id for v in await roles_of(s, person.id)] == [
            None,
            units[0].id,
            units[3].id,
        ]
        assert [v.role for v in await roles_of(s, other.id)] == [Role.REPRESENTATIVE]
        assert await roles_of(s, 123456) == []


async def test_roles_of_without_any_year(db: Database) -> None:
    cluster_id = await make_cluster(db, n_units=1)
    async with db.session() as s:
        unit = (await s.scalars(select(Unit).where(Unit.cluster_id == cluster_id))).one()
        person = Person(telegram_user_id=3, full_name="D")
        s.add(person)
        await s.flush()
        s.add(
            RoleAssignment(
                cluster_id=cluster_id,
                person_id=person.id,
                role=Role.REPRESENTATIVE,
                unit_id=unit.id,
            )
        )
        await s.commit()
    async with db.session() as s:
        (view,) = await roles_of(s, person.id)
    assert view.unit_name == ECONOMIC_CLUSTER_UNITS[0]
    assert not view.is_chair_unit and not view.is_vice_chair_unit


async def test_reads_that_grow_with_the_data_run_off_the_event_loop_when_offloaded(db: Database) -> None:
    """An update's statements run on the loop's thread (storage/sqlite_inline.py); inside
    `offloaded()` (the count's inputs, the papers, a digest round) SQLite works on a worker
    thread and the loop keeps answering others meanwhile."""
    import threading
    import time as clock

    from storage.db import offloaded

    if not db.is_sqlite:
        pytest.skip("SQLite only: PostgreSQL's driver never blocks the loop")
    threads: list[str] = []

    def slow_probe() -> int:
        threads.append(threading.current_thread().name)
        clock.sleep(0.2)  # SQLite busy with a long read
        return 1

    async with db.session() as s:
        raw = await (await s.connection()).get_raw_connection()
        raw.driver_connection.raw.create_function("slow_probe", 0, slow_probe)
        await s.scalar(text("SELECT slow_probe()"))
        async with LoopTurns(every=0.01) as turns:
            await asyncio.sleep(0)
            with offloaded():
                assert await s.scalar(text("SELECT slow_probe()")) == 1
    assert threads[0] == threading.main_thread().name
    assert threads[1] != threading.main_thread().name
    assert turns.count >= 5  # the loop ran while SQLite worked (0.2 s, a turn every 10 ms)


async def test_a_commit_runs_in_place_on_a_fast_disk_and_on_a_worker_thread_on_a_slow_one(
    db: Database, monkeypatch
) -> None:
    """COMMIT waits for the disk: in place while the recent COMMITs took less than
    `SLOW_COMMIT_MS` on average, on a worker thread while they took longer; each COMMIT's time
    moves the average; after a VACUUM the COMMITs go to a thread too, as the first may
    checkpoint the whole file (storage/sqlite_inline.py). Either way the write is there."""
    from storage import sqlite_inline

    if not db.is_sqlite:
        pytest.skip("SQLite only")
    connection = sqlite_inline.InlineConnection
    original = connection.run_in_thread
    in_threads: list[object] = []

    async def run_in_thread(self, call):
        in_threads.append(call)
        return await original(self, call)

    monkeypatch.setattr(connection, "run_in_thread", run_in_thread)

    async def write(telegram_user_id: int) -> None:
        async with db.session() as s:
            s.add(Person(telegram_user_id=telegram_user_id, full_name="Người ghi"))
            await s.commit()

    monkeypatch.setattr(connection, "commit_seconds", 0.0)
    await write(5001)
    assert in_threads == []  # a fast disk: in place
    assert 0.0 < connection.commit_seconds < 1.0  # and timed
    monkeypatch.setattr(connection, "commit_seconds", 1.0)  # the recent ones took a second each
    await write(5002)
    assert len(in_threads) == 1  # a slow disk: on a worker thread
    assert connection.commit_seconds < 1.0  # this quick one pulled the average down
    monkeypatch.setattr(connection, "commit_seconds", 0.0)
    assert await db.scrub_write_history() is True
    await write(5003)
    assert len(in_threads) == 4  # the VACUUM, its checkpoint, then the COMMIT after them: not in place
    async with db.session() as s:
        ids = set(await s.scalars(select(Person.telegram_user_id).where(Person.telegram_user_id > 5000)))
    assert ids == {5001, 5002, 5003}


async def test_the_scrub_after_a_ballot_waits_for_a_writer_and_empties_the_write_ahead_log(
    db: Database, monkeypatch
) -> None:
    """The checkpoint that empties the WAL (a ballot's papers in commit order) waits for an
    update's transaction that opens between the VACUUM and it, instead of giving up at once
    (the inline connections' own busy timeout is 0: storage/sqlite_inline.py). The writer is
    started right after the VACUUM returns: the moment the bot's next update would come."""
    from storage import sqlite_inline

    if not db.is_sqlite:
        pytest.skip("SQLite only")
    async with db.session() as s:
        s.add(Person(telegram_user_id=4242, full_name="Người ghi"))
        await s.commit()
    writer_open = asyncio.Event()
    tasks: list[asyncio.Task] = []

    async def writer() -> None:
        async with db.session() as s:
            await s.scalar(select(Person.id).where(Person.telegram_user_id == 4242))  # BEGIN IMMEDIATE
            writer_open.set()
            await asyncio.sleep(0.3)
            await s.commit()

    original = sqlite_inline.InlineConnection.run_in_thread
    calls = 0

    async def run_in_thread(self, call):
        nonlocal calls
        result = await original(self, call)
        calls += 1
        if calls == 1:  # the VACUUM is done: an update opens its transaction now
            tasks.append(asyncio.create_task(writer()))
            await writer_open.wait()
        return result

    monkeypatch.setattr(sqlite_inline.InlineConnection, "run_in_thread", run_in_thread)
    scrubbed = await db.scrub_write_history()
    await asyncio.gather(*tasks)
    assert scrubbed is True
    assert _wal_size(str(db.engine.url.database)) == 0


async def test_a_checkpoint_sqlite_answers_busy_is_tried_again_until_the_wal_is_empty(db: Database, monkeypatch) -> None:
    """SQLite gives up a TRUNCATE checkpoint at once, without its busy handler, while another
    connection runs a checkpoint (the first COMMIT after the VACUUM starts one): injected here
    as SQLite's own answer, twice. Without waits the scrub says so; with them it finishes."""
    if not db.is_sqlite:
        pytest.skip("SQLite's write-ahead log")
    from storage import db as storage_db

    real = storage_db._checkpoint
    busy = {"left": 0}

    def checkpoint(raw, *timeout):
        if busy["left"]:
            busy["left"] -= 1
            return (1, -1, -1)  # SQLITE_BUSY: what sqlite3 returns then
        return real(raw, *timeout)

    monkeypatch.setattr(storage_db, "_checkpoint", checkpoint)
    async with db.session() as s:
        s.add(Person(telegram_user_id=4343, full_name="Người bỏ phiếu"))
        await s.commit()
    busy["left"] = 2
    assert await db.scrub_write_history() is False  # no waits: given up
    busy["left"] = 2
    async with db.session() as s:  # something in the WAL again
        s.add(Person(telegram_user_id=4344, full_name="Người bỏ phiếu khác"))
        await s.commit()
    assert _wal_size(str(db.engine.url.database)) > 0
    assert await db.scrub_write_history(waits=(0.01, 0.01, 0.01)) is True
    assert busy["left"] == 0 and _wal_size(str(db.engine.url.database)) == 0


def _wal_size(database: str) -> int:
    wal = Path(database + "-wal")
    return wal.stat().st_size if wal.exists() else 0


@pytest.mark.parametrize(
    ("code", "waits"),
    [(5, True), (6, True), (261, True), (517, True), (262, True), (2067, False), (14, False), (None, False)],
)
def test_busy_and_locked_are_waited_for_in_their_extended_forms_too(code, waits) -> None:
    """SQLITE_BUSY, _LOCKED and their extended codes (BUSY_RECOVERY 261, BUSY_SNAPSHOT 517,
    LOCKED_SHAREDCACHE 262) are retried; a constraint (2067) or CANTOPEN (14) is not."""
    import sqlite3

    from storage.sqlite_inline import _busy

    error = sqlite3.OperationalError("refused")
    error.sqlite_errorcode = code
    assert _busy(error) is waits
