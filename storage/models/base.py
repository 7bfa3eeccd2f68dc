"""Declarative base and the column types every model shares.

Why these exist rather than plain SQLAlchemy types:

- **Naming convention.** Alembic can only drop or alter a constraint it can name, and SQLite
  "batch" migrations rebuild whole tables, silently losing unnamed constraints. Every index,
  unique, check, foreign and primary key therefore gets a deterministic name.
- **UTCDateTime.** SQLite has no time zone type; SQLAlchemy stores a naive string there and
  drops any offset. We store UTC and always hand back an aware UTC datetime, on SQLite and on
  PostgreSQL alike. Naive datetimes are refused: whether a naive 08:00 meant UTC or Hanoi time
  is exactly the bug a deadline must not have. Because every stored value is UTC in the same
  text format, comparing them as strings on SQLite orders them correctly.
- **ExactDecimal / Points.** All scores are exact decimals with two places
  (``Numeric(8, 2)``, the default for ``Mapped[Decimal]``). PostgreSQL keeps them exact;
  SQLite stores a REAL, which holds any value of up to ~15 significant digits closely enough to
  come back identical after quantising to the column's scale. Values the column would round
  (``8.555``) or floats (already inexact) are refused, so the two backends can never disagree
  about a stored score. Do sums in Python with ``Decimal``, not in
  SQL: on SQLite ``SUM`` works on floats.
- **str_enum.** Enumerations are short strings plus a CHECK constraint, never native
  PostgreSQL ENUM types: both backends then behave the same, and adding a value later is a
  CHECK change in a migration instead of an ``ALTER TYPE``.

Relationships exist only for composition (a year's phases, a table's criteria, a pledge's
items, a sheet's entries with their evidence and adjustments, a ballot's candidates, a
paper's marks) and load eagerly with ``selectin``, because under asyncio an implicit lazy
load cannot happen: it raises ``MissingGreenlet``. The few others are ``raise_on_sql``: load
them with ``selectinload(...)`` or ``await obj.awaitable_attrs.<name>``. Everything else is
referenced by id. On an object you create, give its collections before the first flush
(``ScoreSheet(entries=[...])``); a collection never touched before the flush counts as not
loaded afterwards.
"""

import enum
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

POINTS_PRECISION = 8
POINTS_SCALE = 2


class Clock:
    """Where the bot reads the time: the system clock, or a moved one (the harness and the
    demo travel forward to a deadline instead of waiting for it). One per process; every
    `utcnow()` reads it, so rules, services, the sender and the scheduler agree on "now"."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC) + self.offset

    def travel(self, delta: timedelta) -> None:
        """Move time forward (or back) by `delta`, keeping it running."""
        if self.fixed is not None:
            self.fixed += delta
        else:
            self.offset += delta

    def reset(self) -> None:
        self.offset, self.fixed = timedelta(0), None


CLOCK = Clock()


def utcnow() -> datetime:
    """The current time, aware, in UTC: the only kind of datetime the database stores."""
    return CLOCK.now()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is stored in UTC and always read back aware (see module docstring)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: attach a time zone (e.g. datetime.now(UTC))")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite's DATETIME would drop the offset anyway; drop it ourselves, after converting.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """``Numeric(p, s)`` that refuses floats and values the column would round or overflow."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = POINTS_PRECISION, scale: int = POINTS_SCALE) -> None:
        super().__init__(precision=precision, scale=scale)
        # Kept as attributes: SQLAlchemy builds the statement-cache key from them.
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)
        self._limit = Decimal(10) ** (precision - scale)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"expected Decimal or int, got {type(value).__name__}")
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"expected a finite number, got {value}")
        if value.quantize(self._quantum) != value:
            raise ValueError(f"at most {self.scale} decimal places allowed, got {value}")
        if abs(value) >= self._limit:
            raise ValueError(f"out of range for Numeric({self.precision}, {self.scale}): {value}")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).quantize(self._quantum)


def Points() -> ExactDecimal:
    """The type of every score: ``Numeric(8, 2)``."""
    return ExactDecimal(POINTS_PRECISION, POINTS_SCALE)


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A VARCHAR + CHECK column for a Python enum, storing the member *values*.

    ``name`` names the CHECK constraint (``ck_<table>_<name>``). The column is a little longer
    than today's longest value so that adding a value rarely needs a column change.
    """
    values = [str(member.value) for member in enum_cls]
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        values_callable=lambda cls: [str(member.value) for member in cls],
        length=max(16, *(len(v) for v in values)),
        validate_strings=True,
    )


def json_dict() -> MutableDict:
    """A JSON object column whose in-place edits (``obj.settings["quota"] = 2``) are saved."""
    return MutableDict.as_mutable(JSON())


class Base(AsyncAttrs, DeclarativeBase):
    """Base of every model. ``AsyncAttrs`` gives ``await obj.awaitable_attrs.<relationship>``
    for the rare relationship that was not eagerly loaded."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Points(),
        dict[str, Any]: JSON(),
    }
