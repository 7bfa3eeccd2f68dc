"""The bot's commands: one table used for `/help` and for Telegram's command menus.

Each later capability adds its rows here, so the menu, the help text and the handlers cannot
drift apart. `roles` is who the command is for (None: everybody); `/help` shows a person the
commands of their roles only. Roles are the strings of `bot.roles`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import N_

ADMIN, SECRETARIAT, CHAIR = "admin", "secretariat", "chair"
VICE_CHAIR = "vice_chair"
REPRESENTATIVE = "representative"
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
    _spec("cancel", N_("Stop what you are typing; saved work is kept"), [PRIVATE]),
    _spec("cluster", N_("Switch to another of your clusters"), [PRIVATE]),
    _spec("setup", N_("Bind this group to a cluster (group administrators)"), [GROUP]),
    _spec("status", N_("The phase, its deadline and who is done"), [PRIVATE, GROUP]),
    _spec("units", N_("Member units: list, add, rename, deactivate"), [PRIVATE, GROUP]),
    _spec("invite", N_("Invite links for representatives and secretariat"), [PRIVATE], [ADMIN]),
    _spec("members", N_("Who represents which unit"), [PRIVATE], [ADMIN, CHAIR, SECRETARIAT]),
    _spec("chair", N_("Set the chair and vice-chair units of the year"), [PRIVATE], [ADMIN]),
    _spec("phase", N_("Open and close the year's phases, set deadlines"), [PRIVATE, GROUP], [ADMIN, CHAIR]),
    _spec("table", N_("The scoring table: view, export, replace"), [PRIVATE]),
    _spec("pledge", N_("Your unit's pledge: write, submit, sign, amend"), [PRIVATE], [REPRESENTATIVE]),
    _spec("pledges", N_("Every unit's pledge and its state; the signed document"), [PRIVATE, GROUP]),
    _spec("score", N_("Self-scoring: score your unit, attach evidence, submit"), [PRIVATE], [REPRESENTATIVE]),
    _spec("verify", N_("Verify the score sheets assigned to your unit; explanations to decide"), [PRIVATE],
          [REPRESENTATIVE, ADMIN]),
    _spec("scores", N_("The scores: the cluster's table, or your unit's sheet"), [PRIVATE],
          [REPRESENTATIVE, ADMIN, CHAIR, SECRETARIAT]),
    _spec("ballot", N_("Secret ballots: vote for your unit; the chair opens and closes them"), [PRIVATE, GROUP],
          [REPRESENTATIVE, ADMIN, CHAIR]),
    _spec("tally", N_("Count the year: the result, the runoffs it needs, the official papers"), [GROUP],
          [CHAIR, VICE_CHAIR]),
    _spec("result", N_("The year's counted result"), [PRIVATE, GROUP]),
    _spec("digest", N_("The secretariat's digest now: who is not done; its settings"), [PRIVATE],
          [ADMIN, SECRETARIAT]),
    _spec("deputy", N_("Name who receives your digests while you are on leave"), [PRIVATE], [SECRETARIAT]),
    _spec("secretariat", N_("Make this chat the secretariat's: the digests come here too"), [GROUP],
          [ADMIN, SECRETARIAT]),
    _spec("reminders", N_("Reminders to the late units: when, and the quiet hours"), [PRIVATE, GROUP],
          [ADMIN, CHAIR, SECRETARIAT, REPRESENTATIVE]),
    _spec("undelivered", N_("Messages the bot could not deliver; send them again"), [PRIVATE],
          [ADMIN, SECRETARIAT]),
)


def commands_for(roles: Iterable[str], where: str) -> list[CommandSpec]:
    roles = set(roles)
    return [c for c in COMMANDS if c.visible_to(roles, where)]


def menu(where: str) -> list[CommandSpec]:
    """Telegram's command menu cannot depend on roles: list every command of that chat kind."""
    return [c for c in COMMANDS if where in c.where]
