"""The program as an operator runs it: `python -m bot` in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SETTINGS_VARS = (
    "TELEGRAM_BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_URL", "BOT_TIMEZONE", "BOT_LOCALE", "LOG_LEVEL",
)


def run_bot(tmp_path: Path, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=timeout,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("BOT_TIMEZONE", "Mars/Olympus"), ("DATABASE_URL", "mysql://x"), ("TELEGRAM_BOT_TOKEN", "nope")],
)
def test_bad_setting_is_one_line_and_exit_code_2(tmp_path, name, value):
    result = run_bot(tmp_path, **{name: value})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and lines[0].startswith("thidua-bot: ")


def test_unreachable_api_server_is_a_clear_connection_error(tmp_path):
    result = run_bot(
        tmp_path, "run", TELEGRAM_API_URL="http://127.0.0.1:9/", TELEGRAM_BOT_TOKEN="1:x"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "không kết nối được tới Telegram Bot API tại http://127.0.0.1:9" in result.stderr


def test_run_without_a_token_says_how_to_get_one(tmp_path):
    result = run_bot(tmp_path, "run")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_no_token_plays_the_demo_on_the_default_sqlite_file_and_says_how_to_run_for_real(tmp_path):
    result = run_bot(tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Trò chuyện riêng: Trần Thị Bình" in out
    assert "Xin chào, Trần Thị Bình!" in out
    assert "── Cụm thi đua kinh tế ──" in out
    assert "Đã thêm 9 đơn vị" in out
    assert out.count("đã tham gia với vai trò đại diện đơn vị") == 9  # every unit onboarded
    assert "Cụm trưởng năm" in out and "Hội Mỹ nghệ Kim hoàn Đá quý Việt Nam" in out
    assert "📣 Giai đoạn Đăng ký thi đua đã mở" in out  # announced in the group
    assert "Đã gửi đăng ký thi đua: 0/9" in out  # /status
    assert "/setup@ThiDuaBot" in out
    assert "Language set: English" in out  # the /lang scene
    assert out.strip().splitlines()[-1].startswith("Để chạy bot thật")
    assert (tmp_path / "thidua.sqlite3").is_file()
    # The year ends with the count: the result in the group, the papers written where it says.
    assert "📊 Kết quả bình xét thi đua năm" in out and "➡️ Đề nghị: Liên minh Hợp tác xã Việt Nam." in out
    assert f"Hồ sơ của bản chạy thử nằm trong thư mục {tmp_path / 'demo-papers'}:" in out
    papers = sorted(p.name for p in (tmp_path / "demo-papers").iterdir())
    assert any(n.endswith(".png") for n in papers) and any(n.endswith(".xlsx") for n in papers), papers
    assert all(f"  {name}" in out for name in papers)
    # Next year's registration under a running clock: reminders to the late units, the digest
    # when something changed (the first morning, unchanged, brings none), the deadline.
    secretary = out[out.index("── Trò chuyện riêng: Lưu Thị Thư ──"):out.index("── Cụm thi đua kinh tế ──")]
    # /digest, the morning after the third pledge, and (some Monday) the weekly summary; which
    # mornings are skipped depends on the weekday the demo runs, so only the least is asserted.
    digests = secretary.count("📋 Bản tin — Cụm thi đua kinh tế") + secretary.count("🗞 Tổng hợp tuần")
    assert 2 <= digests <= 4 and "🔔 Bản tin: chuyển giai đoạn" in secretary, secretary
    assert "Đã gửi đăng ký thi đua: 3/9" in secretary
    assert out.count("⏰ Nhắc việc — Đăng ký thi đua") >= 3
    assert "Nhắc việc" not in out[out.index("── Trò chuyện riêng: Nguyễn Văn An ──"):out.index("── Trò chuyện riêng: Lê Văn Cường ──")]
    again = run_bot(tmp_path, "demo")  # the same database a second time
    assert again.returncode == 0, again.stderr


def test_migrate_creates_the_schema(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    result = run_bot(tmp_path, "migrate", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "Cơ sở dữ liệu đã được cập nhật" in result.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "m.sqlite3") as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
    assert {"clusters", "units", "people", "alembic_version"} <= tables
