"""The bot's commands: one table used for `/help` and for Telegram's command menus.

Each later capability adds its rows here, so the menu, the help text and the handlers cannot
drift apart. `roles` is who the command is for (None: everybody); `/help` shows a person the
commands of their roles only. Roles are the strings of `bot.roles`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import N_

PRIVATE = "private"
GROUP = "group"


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str  # English msgid, translated at render time
    where: frozenset[str]
    roles: frozenset[str] | None = None

    def visible_to(self, roles: Iterable[str], where: str) -> bool:
        if where not in self.where:
            return False
        return self.roles is None or bool(self.roles & set(roles))


def _spec(name: str, description: str, where: Iterable[str], roles: Iterable[str] | None = None):
    return CommandSpec(name, description, frozenset(where), None if roles is None else frozenset(roles))


COMMANDS: tuple[CommandSpec, ...] = (
    _spec("start", N_("Start; see your clusters and roles"), [PRIVATE]),
    _spec("help", N_("What you can do here"), [PRIVATE, GROUP]),
    _spec("lang", N_("Choose the language (Tiếng Việt / English)"), [PRIVATE, GROUP]),
)


def commands_for(roles: Iterable[str], where: str) -> list[CommandSpec]:
    roles = set(roles)
    return [c for c in COMMANDS if c.visible_to(roles, where)]


def menu(where: str) -> list[CommandSpec]:
    """Telegram's command menu cannot depend on roles: list every command of that chat kind."""
    return [c for c in COMMANDS if where in c.where]
