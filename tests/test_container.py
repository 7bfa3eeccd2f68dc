"""The Dockerfile and compose.yaml, read as text (no Docker daemon here; PyYAML is not a
dependency): what they promise in the README's Deploy section holds in the files."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def instructions(text: str) -> list[tuple[str, str]]:
    """Dockerfile instructions as (KEYWORD, arguments), continuation lines joined, comments out."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        part = stripped.removesuffix("\\").strip()
        pending = f"{pending} {part}" if pending else part
        if not stripped.endswith("\\"):
            keyword, _, args = pending.partition(" ")
            result.append((keyword.upper(), args.strip()))
            pending = ""
    assert not pending, f"unterminated instruction: {pending}"
    return result


def block_yaml(text: str) -> dict[str, Any]:
    """The block-style YAML subset compose.yaml is written in: nested mappings, lists of
    scalars, flow lists of strings, comments. Anything else fails the test (keep it simple)."""
    lines = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        assert "\t" not in raw, "tabs in YAML"
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip()))

    def scalar(value: str) -> Any:
        value = value.split(" #", 1)[0].strip()
        if value.startswith("[") and value.endswith("]"):
            return [scalar(v) for v in re.findall(r'"[^"]*"|[^,\s][^,]*', value[1:-1])]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            return value[1:-1]
        return value

    def parse(at: int, indent: int) -> tuple[Any, int]:
        if lines[at][1].startswith("- "):
            items = []
            while at < len(lines) and lines[at][0] == indent and lines[at][1].startswith("- "):
                items.append(scalar(lines[at][1][2:]))
                at += 1
            return items, at
        mapping: dict[str, Any] = {}
        while at < len(lines) and lines[at][0] == indent:
            key, colon, rest = lines[at][1].partition(":")
            assert colon, f"not a mapping entry: {lines[at][1]!r}"
            at += 1
            if rest.strip():
                mapping[key] = scalar(rest)
            elif at < len(lines) and lines[at][0] > indent:
                mapping[key], at = parse(at, lines[at][0])
            else:
                mapping[key] = None
        return mapping, at

    document, end = parse(0, 0)
    assert end == len(lines), f"could not read compose.yaml from line {lines[end]!r}"
    return document


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))
COMPOSE = block_yaml((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def the(keyword: str) -> list[str]:
    return [args for kw, args in DOCKERFILE if kw == keyword]


def test_the_image_is_python_311_slim_and_runs_the_bot() -> None:
    assert DOCKERFILE[0] == ("FROM", "python:3.11-slim")
    assert the("ENTRYPOINT") == ['["python", "-m", "bot"]']
    assert the("CMD") == ['["run"]']


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    users = the("USER")
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    last_user = max(i for i, (kw, _) in enumerate(DOCKERFILE) if kw == "USER")
    assert all(kw != "RUN" for kw, _ in DOCKERFILE[last_user:]), "nothing is installed as the bot's user"


def test_the_image_installs_the_postgres_extra_from_the_lock() -> None:
    installs = [shlex.split(args) for args in the("RUN") if "pip install" in args]
    assert len(installs) == 1
    words = installs[0]
    at = words.index("install")
    assert words[at + 1 : at + 3] == ["-c", "requirements/lock.txt"]
    assert ".[postgres]" in words


def test_the_image_copies_every_package_it_installs_and_the_lock() -> None:
    copied = {source for args in the("COPY") for source in shlex.split(args)[:-1]}
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied, packages - copied
    assert {"pyproject.toml", "requirements/lock.txt", project["project"]["readme"]} <= copied


def test_the_health_check_asks_the_bot_itself() -> None:
    [check] = the("HEALTHCHECK")
    assert '"python", "-m", "bot", "health"' in check
    assert re.search(r"--start-period=\d+s", check)


def test_compose_runs_the_bot_after_a_healthy_postgresql_with_a_named_volume() -> None:
    services = COMPOSE["services"]
    db, bot = services["db"], services["bot"]
    assert re.fullmatch(r"postgres:1[56](\.\d+)*(-\w+)?", db["image"]), db["image"]
    assert db["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume, _, mount = db["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data" and volume in COMPOSE["volumes"]
    assert bot["build"] == "."
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["env_file"] == ".env"
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://") and url.endswith("@db/thidua")
    assert db["environment"]["POSTGRES_DB"] == "thidua"


def test_the_example_env_names_only_settings_the_bot_or_compose_reads() -> None:
    settings = (ROOT / "bot" / "settings.py").read_text(encoding="utf-8")
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M)
    assert "TELEGRAM_WEBHOOK_SECRET" in names and "TELEGRAM_BOT_TOKEN" in names
    for name in names:
        assert f'"{name}"' in settings or name == "POSTGRES_PASSWORD", name
