"""The one place that opens the database.

Everything else gets sessions from a ``Database``: one ``AsyncSession`` per Telegram update,
committed (or rolled back) by whoever handles that update. Keep sessions short, never await
network I/O (a Telegram call) inside one, and never open a second session while one is in a
transaction in the same task: on SQLite a session holds the write lock from its first
statement to its end, so the inner one would wait for the outer one until ``busy_timeout``.

SQLite setup, applied to every new connection, and why:

- ``journal_mode=WAL``: readers do not block the writer (the outbox sender reads while a
  handler writes).
- ``foreign_keys=ON``: SQLite ignores foreign keys unless asked, per connection.
- ``busy_timeout``: a second writer waits for the lock instead of failing at once.
- ``BEGIN IMMEDIATE`` for every transaction, with the driver's own transaction handling off.
  The sqlite3 module otherwise starts transactions late (only before a write), so a
  session's reads and writes are not one transaction, and SAVEPOINT misbehaves. A deferred
  ``BEGIN`` would fix that but fail with "database is locked" *without waiting* when a
  transaction that has read tries to write after another connection committed: exactly what
  happens when many units vote in the same minute. Taking the write lock up front makes
  concurrent sessions queue (up to ``busy_timeout``) and then succeed.
- ``synchronous`` stays at its default FULL: a cast vote must survive a power cut.

Do not use ``isolation_level="AUTOCOMMIT"`` on SQLite connections: SQLAlchemy would reset the
driver's transaction mode when the connection returns to the pool and undo the setup above.

The engine hides SQL parameters from logs and error messages by default because a logged
INSERT of ballot marks next to a logged register row would reveal a secret vote.
"""

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapper, ORMExecuteState, Session
from sqlalchemy.orm.attributes import instance_state

from storage import sqlite_inline
from storage.sqlite_inline import offloaded  # noqa: F401  (the one place services take it from)

SQLITE_BUSY_TIMEOUT_MS = 15_000
DEFAULT_SQLITE_FILENAME = "thidua.sqlite3"

log = logging.getLogger(__name__)


def default_sqlite_url(directory: Path | None = None) -> str:
    """The URL of the SQLite file the bot uses when none is configured (absolute, so the
    file does not move when the working directory does)."""
    base = Path.cwd() if directory is None else Path(directory)
    return f"sqlite+aiosqlite:///{(base.resolve() / DEFAULT_SQLITE_FILENAME).as_posix()}"


def json_default(value: Any) -> Any:
    """Make the values models naturally hold JSON-safe. Decimals become *strings* (a float
    would lose exactness), datetimes ISO strings, enums their value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_dumps(value: Any) -> str:
    # ensure_ascii=False keeps Vietnamese readable in the database file and in psql.
    return json.dumps(value, ensure_ascii=False, default=json_default)


def is_sqlite_url(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file_of(url: str) -> Path | None:
    """The file a SQLite URL points at, or None for in-memory databases."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        if parsed.query.get("mode") == "memory" or "mode=memory" in database:
            return None
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def install_sqlite_pragmas(sync_engine: Engine, *, foreign_keys: bool = True) -> None:
    """Apply the connection setup described in the module docstring.

    Migrations pass ``foreign_keys=False``: rebuilding a referenced table in an SQLite batch
    migration would otherwise fail or cascade; they run ``PRAGMA foreign_key_check`` before
    committing instead.
    """

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Turn off the driver's implicit BEGIN; we emit our own in _on_begin.
        dbapi_connection.isolation_level = None
        driver = getattr(dbapi_connection, "driver_connection", None)
        waits_async = getattr(driver, "waits_async", False)
        if waits_async:  # storage/sqlite_inline.py: the waiting is done without blocking the loop
            driver.busy_timeout_ms = SQLITE_BUSY_TIMEOUT_MS
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {0 if waits_async else SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class UpdateSession(Session):
    """The session of one unit of work, which keeps what it loaded until it closes.

    SQLAlchemy's identity map holds objects weakly: a row a service loaded and let go of is
    forgotten, and the next `session.get` of it (the same ballot, year, unit, a few calls
    later in the same update) goes back to the database. A session here lives for one update
    (or one scheduler step), so holding its objects for that long costs little and makes
    every repeated `get` free (SQLAlchemy's "strong reference" recipe, events below).

    It also carries `memo`: values computed from queries (a person's roles, a chat's cluster)
    kept for the rest of the transaction, and dropped as soon as the transaction writes
    anything (a flush with changes, a Core INSERT/UPDATE/DELETE, except on the bookkeeping
    tables no memo reads: `_BOOKKEEPING`) or ends, so a read after a write always sees the write.
    """


class UpdateAsyncSession(AsyncSession):
    """`AsyncSession` whose `get` of a row the session already holds (and has not expired)
    returns it at once, as SQLAlchemy's `get` does, without its trip through a greenlet and the
    primary-key checks (~60 µs; an update makes ~7 such gets: its year, cluster, units).
    Anything else (options, a locking read, an expired or unknown row) is SQLAlchemy's `get`."""

    async def get(self, entity: Any, ident: Any, **options: Any) -> Any:
        if not options and type(ident) is int:
            mapper = _mapper_of(entity)
            if mapper is not None:
                instance = self.sync_session.identity_map.get(mapper.identity_key_from_primary_key([ident]))
                if instance is not None and isinstance(instance, mapper.class_) and not instance_state(instance).expired:
                    return instance
        return await super().get(entity, ident, **options)


@functools.cache
def _mapper_of(entity: Any) -> Mapper | None:
    """The mapper of a mapped class with a one-column primary key (None otherwise)."""
    mapper = inspect(entity, raiseerr=False)
    if not isinstance(mapper, Mapper) or len(mapper.primary_key) != 1 or mapper.always_refresh:
        return None
    return mapper


_REFS = "strong_refs"
MEMO = "memo"
FACTS = "transaction_facts"  # what this transaction found and only its own writes change (see `note`)


@event.listens_for(UpdateSession, "pending_to_persistent")
@event.listens_for(UpdateSession, "deleted_to_persistent")
@event.listens_for(UpdateSession, "detached_to_persistent")
@event.listens_for(UpdateSession, "loaded_as_persistent")
def _hold(session: Session, instance: Any) -> None:
    refs = session.info.get(_REFS)  # not `setdefault(_REFS, set())`: a set made per loaded row
    if refs is None:
        refs = session.info[_REFS] = set()
    refs.add(instance)


@event.listens_for(UpdateSession, "persistent_to_detached")
@event.listens_for(UpdateSession, "persistent_to_deleted")
@event.listens_for(UpdateSession, "persistent_to_transient")
def _let_go(session: Session, instance: Any) -> None:
    refs = session.info.get(_REFS)
    if refs is not None:
        refs.discard(instance)


@event.listens_for(UpdateSession, "after_flush")
def _forget_after_flush(session: Session, _context: Any) -> None:
    session.info.pop(MEMO, None)


@event.listens_for(UpdateSession, "after_transaction_end")
def _forget_after_transaction(session: Session, transaction: Any) -> None:
    session.info.pop(MEMO, None)
    if transaction.parent is None:  # the real transaction, not a flush's or a savepoint's: see `note`
        session.info.pop(FACTS, None)


# Tables no `memo`'d value is read from: a statement writing one of them leaves the memo as
# it is (a /start's "the chat is reachable again" would otherwise send the person's roles to
# be read a second time). A table missing here only costs statements, never a stale read.
_BOOKKEEPING = frozenset({"processed_updates", "conversation_states", "unreachable_chats", "outbox_messages",
                          "audit_log"})  # fmt: skip


def _drops_memo(statement: Any) -> bool:
    table = getattr(statement, "table", None)
    return getattr(table, "name", None) not in _BOOKKEEPING


@event.listens_for(UpdateSession, "do_orm_execute")
def _forget_on_write(state: ORMExecuteState) -> None:
    if not state.is_select and _drops_memo(state.statement):
        state.session.info.pop(MEMO, None)


async def memo(session: AsyncSession, key: Any, load: Callable[[], Awaitable[Any]]) -> Any:
    """`await load()` once per transaction of `session` until it writes (see `UpdateSession`).

    For read-only values only: the result is shared by every caller in the transaction."""
    cache = session.info.setdefault(MEMO, {})
    if key in cache:
        return cache[key]
    value = cache[key] = await load()
    return value


def recall(session: AsyncSession, key: Any) -> Any:
    """What `memo` holds for `key` in this transaction, without loading it (None if nothing)."""
    return session.info.get(MEMO, {}).get(key)


def remember(session: AsyncSession, key: Any, value: Any) -> None:
    """Seed `memo` with a value read along with something else (same rules: dropped on write)."""
    session.info.setdefault(MEMO, {})[key] = value


@contextlib.asynccontextmanager
async def racing_insert(session: AsyncSession) -> AsyncIterator[None]:
    """Around an insert that may lose a race ("two first views at once: one insert wins"):
    what the block adds is flushed at its end; on PostgreSQL an `IntegrityError` from that
    flush leaves the caller's transaction usable, to read the winner's row.

    On PostgreSQL that takes a savepoint (two transactions can both look, find nothing and
    insert). On SQLite no other transaction can commit between this one's look and its insert
    (every transaction holds the write lock from its BEGIN IMMEDIATE, see above), so the race
    cannot happen and a plain flush does: the savepoint's two statements (and SQLAlchemy's
    nested transaction around them) are saved on a person's first contact, a first /pledge, a
    first /score. The callers look in the same transaction, just before (a query that flushes
    what is pending first). Should an `IntegrityError` still come on SQLite, it ends the
    transaction: the caller's read after it raises, and the update is rolled back and answered
    with the usual apology, as any unexpected error is."""
    async with racing_write(session):
        yield
        await session.flush()


@contextlib.asynccontextmanager
async def racing_write(session: AsyncSession) -> AsyncIterator[None]:
    """Around writes that can lose to another transaction at the database (a version checked
    at the flush, a unique row), where the caller goes on after losing (to show the current
    version): on PostgreSQL a savepoint, which undoes what the block wrote and leaves the
    transaction usable. On SQLite no other transaction can write between this one's reads and
    its flush (BEGIN IMMEDIATE, see `racing_insert`), so the block cannot lose there, and what
    it refuses before it writes leaves nothing to undo: no savepoint, two statements fewer."""
    if session.get_bind().dialect.name == "sqlite":
        yield
    else:
        async with session.begin_nested():
            yield


def note(session: AsyncSession, key: Any, value: Any) -> None:
    """Keep a fact read in this transaction until the transaction ends (commit or rollback).
    Unlike `memo`, other writes (a flush, a savepoint's end) do not drop it: only for facts that
    nothing but named writes of this transaction change, and those writes `unnote` it at once
    (e.g. "this person has no typed-input step": only `storage.conversation.set_state` makes
    one). A savepoint rolled back after such a write leaves the fact unnoted: one statement
    more, never a wrong answer."""
    session.info.setdefault(FACTS, {})[key] = value


def noted(session: AsyncSession, key: Any) -> Any:
    """The fact `note` kept for `key` in this transaction, or None."""
    facts = session.info.get(FACTS)
    return facts.get(key) if facts else None


def unnote(session: AsyncSession, key: Any) -> None:
    facts = session.info.get(FACTS)
    if facts:
        facts.pop(key, None)


async def run_core(session: AsyncSession, statement: Any, parameters: Any = None) -> Any:
    """A Core statement on a table (not the mapped class) run on the session's connection,
    without the ORM's execute around it: ~70 µs less a statement (184 against 115 µs for the
    person's read, measured), for the statements every update makes (its id, its typed-input
    step). Only for tables whose rows the session holds no object of: nothing in the session is
    synchronised with what the statement does. Pending changes are flushed first, so the
    statement runs after them (`session.execute` does not flush for a statement on a table; a
    flush error comes up here then, not at the next query), and a write drops `memo` as every
    write does (but on a bookkeeping table, `_BOOKKEEPING`)."""
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted:
        await session.flush()
    if not getattr(statement, "is_select", False) and _drops_memo(statement):
        sync.info.pop(MEMO, None)
    connection = await session.connection()
    return await connection.execute(statement, parameters)


async def one_snapshot(session: AsyncSession) -> None:
    """Begin the session's transaction so that all its reads see the database at one moment.

    PostgreSQL's default (READ COMMITTED) gives each statement its own moment: a reader of
    several queries (the scheduler's plan: phases, ballots, reminders) can load a row as it was
    before another transaction committed, then match it by its new values in a later query,
    and get the identity map's old object back (a phase "with a deadline" whose deadline is
    None). REPEATABLE READ reads one snapshot; a reader that writes nothing never fails by it.
    SQLite's transactions are one snapshot already (and take the write lock: storage/db.py's
    BEGIN IMMEDIATE). Call it before the session's first statement."""
    if session.in_transaction():
        raise RuntimeError("one_snapshot must begin the session's transaction")
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _checkpoint(raw: Any, timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Any:
    """`wal_checkpoint(TRUNCATE)` waiting up to `timeout_ms` for other connections' write
    transactions to end. It waits through SQLite's busy handler, not by failing, so the inline
    connections' timeout of 0 (storage/sqlite_inline.py) would make it give up at once; it runs
    on a worker thread, where waiting blocks nothing. (While it waits for readers, writers wait
    behind it: a retry waits briefly, `SCRUB_RETRY_TIMEOUT_MS`.)"""
    raw.execute(f"PRAGMA busy_timeout = {timeout_ms}").close()
    try:
        return raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.execute("PRAGMA busy_timeout = 0").close()


class Database:
    """Owns the engine and hands out sessions. Create one per process; ``dispose`` on exit."""

    def __init__(self, url: str, *, echo: bool = False, hide_parameters: bool = True) -> None:
        self.url = url
        self.is_sqlite = is_sqlite_url(url)
        options: dict[str, Any] = {
            "echo": echo,
            "hide_parameters": hide_parameters,
            "json_serializer": json_dumps,
        }
        if self.is_sqlite:
            path = sqlite_file_of(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            if make_url(url).get_driver_name() == "aiosqlite":
                options["module"] = sqlite_inline.dbapi()  # no thread hop per call (see there)
        else:
            # A server may drop idle connections (restarts, NAT timeouts); check before use.
            options["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.is_sqlite:
            install_sqlite_pragmas(self.engine.sync_engine)
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, class_=UpdateAsyncSession, expire_on_commit=False, sync_session_class=UpdateSession
        )

    def session(self) -> AsyncSession:
        """A new session: ``async with db.session() as s: ...; await s.commit()``.

        Leaving the block without committing rolls back. ``expire_on_commit`` is off so
        objects stay readable after commit without another (async) load.
        """
        return self.sessionmaker()

    async def scrub_write_history(self, waits: Sequence[float] = ()) -> bool:
        """Erase the order in which rows were written, as far as SQLite allows.

        Call after a ballot closes (see ``storage.models.ballot``). ``VACUUM`` rebuilds the
        file with every B-tree page in key order and no free pages; ``wal_checkpoint(TRUNCATE)``
        then empties the WAL. A checkpoint that could not finish is tried again after each of
        `waits` (seconds): it gives up at once, without SQLite's busy handler, when another
        connection is running a checkpoint of its own, and the first COMMIT after a VACUUM
        (which wrote the whole file to the WAL) starts one. Returns False when it still could
        not finish, and on non-SQLite backends, where this does nothing.
        """
        if not self.is_sqlite:
            return False
        async with self.engine.connect() as conn:
            # Straight to the driver: VACUUM cannot run inside the BEGIN IMMEDIATE that any
            # SQLAlchemy-level statement would start.
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, sqlite_inline.InlineConnection)
            # On a worker thread: both read and write the whole file.
            sqlite_inline.InlineConnection.commit_after_vacuum()  # an update's COMMIT may checkpoint it all
            await driver.run_in_thread(lambda: driver.raw.execute("VACUUM").close())
            row = await driver.run_in_thread(lambda: _checkpoint(driver.raw))
            for wait in waits:
                if row is not None and row[0] == 0:
                    break
                await asyncio.sleep(wait)
                row = await driver.run_in_thread(lambda: _checkpoint(driver.raw, SCRUB_RETRY_TIMEOUT_MS))
        if row is None or row[0] != 0:
            log.warning("the write-ahead log could not be emptied after a ballot closed (busy)")
            return False
        return True

    async def vacuum_ballot_tables(self) -> None:
        """PostgreSQL: `VACUUM` the paper tables, so the dead row versions a rewrite left behind
        (each with its transaction id) are gone from the heap, and the outbox, where an erased
        receipt's old version still holds its tracker. Nothing on SQLite (there,
        `scrub_write_history`)."""
        if self.is_sqlite:
            return
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ballot_marks, ballot_papers, outbox_messages"))

    async def ping(self) -> None:
        """Fail fast at start-up if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"


SCRUB_WAITS = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)  # s: a ballot's WAL checkpoint tried again, ~9 s in all
SCRUB_RETRY_TIMEOUT_MS = 250  # a retry's own wait for readers (writers queue behind a pending one)
AFTER_COMMIT = "after_commit"  # session.info: database work to run once the transaction committed


def after_commit(session: Any, work: Callable[[Database], Awaitable[Any]]) -> None:
    """Ask for `work(db)` once this session's transaction has committed (VACUUM cannot run
    inside a transaction; a count's files are built outside any); the update wrapper and the
    scheduler run it. Work that queued outbox rows returns True."""
    session.info.setdefault(AFTER_COMMIT, []).append(work)


async def run_after_commit(session: Any, db: Database) -> bool:
    """Run the work asked for; True when some of it queued outbox rows (wake the sender)."""
    queued = False
    for work in session.info.pop(AFTER_COMMIT, []):
        try:
            queued = bool(await work(db)) or queued
        except Exception:  # the commit stands; what it asked for has its own catch-up
            log.warning("after-commit work %r failed", work, exc_info=True)
    return queued


async def scrub_ballot_tables(db: Database) -> None:
    """After a ballot closed: no file keeps the order the papers were written in
    (storage/models/ballot.py, ARCHITECTURE.md)."""
    if db.is_sqlite:
        await db.scrub_write_history(SCRUB_WAITS)
    else:
        await db.vacuum_ballot_tables()


# What says "the database cannot be reached right now" rather than "this statement is wrong".
# PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03 (the server is shutting
# down, crashed, or not yet accepting connections), 53300 (too many connections).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite's result codes (stable, unlike its messages): locked past the busy timeout, the file
# not openable (its folder gone, a disk unmounted), an I/O error.
_UNAVAILABLE_SQLITE = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR})
_DRIVER_MODULES = ("sqlalchemy.", "asyncpg", "aiosqlite", "sqlite3", "storage.sqlite_inline")


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database was briefly out of reach, so the same work may
    succeed if tried again in a moment (handlers/retry.py does): a connection SQLAlchemy found
    broken, PostgreSQL refusing connections or going away, SQLite locked or not openable, or a
    socket error raised inside the driver (asyncpg's connect does not wrap those). A wrong
    statement, a constraint or a bug is not unavailability: that is reported, not retried."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            if current.connection_invalidated:
                return True
            orig = current.orig
            sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
            if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
                return True
            if isinstance(current, OperationalError) and isinstance(orig, sqlite3.Error):
                code = getattr(orig, "sqlite_errorcode", None)
                if code is not None and code & 0xFF in _UNAVAILABLE_SQLITE:  # extended codes too
                    return True
            current = orig if isinstance(orig, BaseException) else current.__cause__
            continue
        if isinstance(current, OSError) and _raised_in_driver(current):
            return True
        current = current.__cause__
    return False


def _raised_in_driver(exc: BaseException) -> bool:
    """An OSError that passed through the database driver or SQLAlchemy's pool (a refused or
    reset connection, a missing socket), not one from elsewhere in a handler."""
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(_DRIVER_MODULES):
            return True
        tb = tb.tb_next
    return False
