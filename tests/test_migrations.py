"""Migrations: from empty to head, idempotent, reversible, and in step with the models.

Runs on a SQLite file, or on PostgreSQL when THIDUA_TEST_DATABASE_URL is set.
"""

import asyncio
import configparser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.migrate import (
    MIGRATIONS_DIR,
    check_models_match,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
    upgrade_async,
)
from storage.models import Base
from storage.testing import external_test_url, throwaway_database_url

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_TABLES = set(Base.metadata.tables)


async def _schema_async(url: str) -> dict[str, Any]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:

            def read(sync_conn: Any) -> dict[str, Any]:
                inspector = inspect(sync_conn)
                return {
                    table: (
                        sorted(c["name"] for c in inspector.get_columns(table)),
                        sorted(str(i["name"]) for i in inspector.get_indexes(table)),
                    )
                    for table in inspector.get_table_names()
                }

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def schema(url: str) -> dict[str, Any]:
    """Tables with their columns and indexes, as the database reports them."""
    return asyncio.run(_schema_async(url))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return throwaway_database_url(tmp_path)


def test_upgrade_from_empty_creates_every_table_at_head(url: str) -> None:
    assert current_revision(url) is None
    upgrade(url)
    tables = set(schema(url))
    assert tables == MODEL_TABLES | {"alembic_version"}
    assert current_revision(url) == head_revision() == "0008"


def test_upgrading_twice_is_a_no_op(url: str) -> None:
    upgrade(url)
    before = schema(url)
    upgrade(url)
    assert schema(url) == before
    assert current_revision(url) == head_revision()


def test_models_match_the_migrations(url: str) -> None:
    upgrade(url)
    assert check_models_match(url) == []


def test_check_models_match_notices_a_missing_table(url: str) -> None:
    upgrade(url)
    downgrade(url, "base")
    upgrade(url, "head")
    assert check_models_match(url) == []
    downgrade(url, "base")
    differences = check_models_match(url)
    added = {diff[1].name for diff in differences if diff[0] == "add_table"}
    assert added == MODEL_TABLES


async def test_upgrade_async_inside_a_running_loop(url: str) -> None:
    asyncio.get_running_loop()  # we are inside the test's loop
    await upgrade_async(url)
    await upgrade_async(url)
    # The sync helpers also work here (on a helper thread), blocking this loop briefly.
    assert current_revision(url) == head_revision()
    assert check_models_match(url) == []


async def test_sync_upgrade_inside_a_running_loop_still_works(url: str) -> None:
    upgrade(url)
    assert current_revision(url) == head_revision()


def test_downgrade_to_base_then_upgrade_again(url: str) -> None:
    upgrade(url)
    downgrade(url, "base")
    assert set(schema(url)) <= {"alembic_version"}
    assert current_revision(url) is None
    upgrade(url)
    assert set(schema(url)) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(url) == head_revision()


def test_migrations_need_no_ini_and_no_particular_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if external_test_url() is not None:
        pytest.skip("checks the SQLite file location")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    target = tmp_path / "new" / "dir" / "bot.sqlite3"
    url = f"sqlite+aiosqlite:///{target}"
    upgrade(url)
    assert target.exists()
    assert current_revision(url) == head_revision()
    assert not (elsewhere / "alembic.ini").exists()


def test_packaged_migrations_are_where_the_package_data_says() -> None:
    assert MIGRATIONS_DIR == REPO_ROOT / "storage" / "migrations"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


def test_initial_migration_spells_out_checks_and_without_rowid() -> None:
    source = (MIGRATIONS_DIR / "versions" / "0001_initial.py").read_text(encoding="utf-8")
    assert source.count("sqlite_with_rowid=False") == 2
    for check in (
        "ck_ballots_ballot_kind",
        "ck_phases_phase_kind",
        "ck_pledges_pledge_status",
        "ck_role_assignments_representative_has_unit",
        "ck_adjustments_reason_required",
        "ck_criteria_max_points_not_negative",
    ):
        assert check in source
    assert "sa.Column('kind', sa.Enum" not in source  # VARCHAR + CHECK, see its docstring


def test_developer_alembic_ini_points_at_the_package() -> None:
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "alembic.ini", encoding="utf-8")
    location = parser.get("alembic", "script_location", vars={"here": str(REPO_ROOT)})
    assert Path(location).resolve() == MIGRATIONS_DIR
