"""Who may do what: the one permission table of the rule layer.

Handlers never decide permissions themselves; they ask `require(roles, action)`, which raises a
`Refusal` naming who may do it instead. Roles are the person's roles in one cluster; `chair` and
`vice_chair` are derived: the representatives of the year's chair (vice-chair) unit act for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from bot.errors import Refusal
from bot.i18n import N_, _


class Role(StrEnum):
    ADMIN = "admin"
    SECRETARIAT = "secretariat"
    REPRESENTATIVE = "representative"
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"


ROLE_NAMES = {
    Role.ADMIN: N_("cluster administrator"),
    Role.SECRETARIAT: N_("secretariat"),
    Role.REPRESENTATIVE: N_("unit representative"),
    Role.CHAIR: N_("chair unit (Cụm trưởng)"),
    Role.VICE_CHAIR: N_("vice-chair unit (Cụm phó)"),
}


class Action(StrEnum):
    SET_GROUP_LANGUAGE = "set_group_language"
    CONFIGURE_CLUSTER = "configure_cluster"  # kind, name, cluster settings
    MANAGE_UNITS = "manage_units"  # add, rename, deactivate units
    VIEW_UNITS = "view_units"
    INVITE = "invite"  # invite links for representatives and secretariat
    VIEW_MEMBERS = "view_members"
    ASSIGN_CHAIR = "assign_chair"  # chair / vice-chair units of the year
    MANAGE_PHASES = "manage_phases"  # open, close, set deadlines
    STEP_BACK_PHASE = "step_back_phase"  # undo the opening of the latest phase
    VIEW_TABLE = "view_table"  # see and download the scoring table
    MANAGE_TABLE = "manage_table"  # replace the scoring table
    VIEW_STATUS_DETAILS = "view_status_details"  # names of units not done yet
    REMIND_LATE = "remind_late"  # "remind now": the units not done with the open phase's step
    MANAGE_DELIVERY = "manage_delivery"  # messages the bot could not deliver: list, send again
    MANAGE_BALLOTS = "manage_ballots"  # open and close secret ballots, remind the units not voted
    VOTE = "vote"  # cast the own unit's paper in a secret ballot
    TALLY = "tally"  # count the year (/tally), open a runoff it asks for, start next year with the elected
    # Pledges (issue 4)
    EDIT_PLEDGE = "edit_pledge"  # draft, submit, fix a returned pledge, sign, amend: own unit
    REVIEW_PLEDGE = "review_pledge"  # accept or return a submitted pledge
    VIEW_PLEDGES = "view_pledges"  # the list of units and their pledge states, the document
    # Scoring and verification (issue 5)
    EDIT_SCORES = "edit_scores"  # the own unit's self-assessment, evidence, explanations
    REOPEN_SHEET = "reopen_sheet"  # unlock a submitted sheet before the deadline
    VERIFY_AS_CHAIR = "verify_as_chair"  # verify any sheet (the chair-verifies mode)
    DECIDE_DISPUTE = "decide_dispute"  # the final value after an explanation
    VIEW_ALL_SCORES = "view_all_scores"  # the cluster's table of scores
    # Digests (issue 12)
    VIEW_DIGEST = "view_digest"  # /digest: one now, in private
    RECEIVE_DIGEST = "receive_digest"  # the daily digest in private, and naming a deputy for it
    CONFIGURE_DIGEST = "configure_digest"  # the cluster's digest time, days, off
    REGISTER_SECRETARIAT_CHAT = "register_secretariat_chat"  # /secretariat in the secretariat's own chat


_EVERYONE_IN_CLUSTER = frozenset(
    {Role.ADMIN, Role.SECRETARIAT, Role.REPRESENTATIVE, Role.CHAIR, Role.VICE_CHAIR}
)

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.SET_GROUP_LANGUAGE: frozenset({Role.ADMIN, Role.CHAIR}),
    Action.CONFIGURE_CLUSTER: frozenset({Role.ADMIN}),
    Action.MANAGE_UNITS: frozenset({Role.ADMIN, Role.SECRETARIAT}),
    Action.VIEW_UNITS: _EVERYONE_IN_CLUSTER,
    Action.INVITE: frozenset({Role.ADMIN}),
    Action.VIEW_MEMBERS: frozenset({Role.ADMIN, Role.CHAIR, Role.SECRETARIAT}),
    Action.ASSIGN_CHAIR: frozenset({Role.ADMIN}),
    Action.MANAGE_PHASES: frozenset({Role.ADMIN, Role.CHAIR}),
    Action.STEP_BACK_PHASE: frozenset({Role.ADMIN}),
    Action.EDIT_PLEDGE: frozenset({Role.REPRESENTATIVE}),
    Action.REVIEW_PLEDGE: frozenset({Role.CHAIR, Role.ADMIN}),
    Action.VIEW_PLEDGES: _EVERYONE_IN_CLUSTER,
    Action.EDIT_SCORES: frozenset({Role.REPRESENTATIVE}),
    Action.REOPEN_SHEET: frozenset({Role.CHAIR, Role.ADMIN}),
    Action.VERIFY_AS_CHAIR: frozenset({Role.CHAIR}),
    Action.DECIDE_DISPUTE: frozenset({Role.CHAIR}),
    Action.VIEW_ALL_SCORES: frozenset({Role.CHAIR, Role.SECRETARIAT, Role.ADMIN}),
    Action.VIEW_TABLE: _EVERYONE_IN_CLUSTER,
    Action.MANAGE_TABLE: frozenset({Role.ADMIN, Role.SECRETARIAT}),
    Action.VIEW_STATUS_DETAILS: frozenset({Role.ADMIN, Role.CHAIR, Role.SECRETARIAT}),
    # Who chases submissions: those who see the names of the late units in /status.
    Action.REMIND_LATE: frozenset({Role.ADMIN, Role.CHAIR, Role.SECRETARIAT}),
    Action.MANAGE_DELIVERY: frozenset({Role.ADMIN, Role.SECRETARIAT}),
    Action.MANAGE_BALLOTS: frozenset({Role.CHAIR, Role.ADMIN}),
    Action.VOTE: frozenset({Role.REPRESENTATIVE}),
    # The vice-chair stands in for the chair (the bot cannot know who sits at the meeting).
    Action.TALLY: frozenset({Role.CHAIR, Role.VICE_CHAIR}),
    Action.VIEW_DIGEST: frozenset({Role.SECRETARIAT, Role.ADMIN}),
    Action.RECEIVE_DIGEST: frozenset({Role.SECRETARIAT}),
    Action.CONFIGURE_DIGEST: frozenset({Role.ADMIN}),
    Action.REGISTER_SECRETARIAT_CHAT: frozenset({Role.ADMIN, Role.SECRETARIAT}),
}


def can(roles: Iterable[str], action: Action) -> bool:
    return bool(PERMISSIONS[action] & {Role(r) for r in roles})


def role_name(role: str) -> str:
    return _(ROLE_NAMES[Role(role)])


def require(roles: Iterable[str], action: Action) -> None:
    """Raise a `Refusal` that says who may do this, unless one of `roles` may."""
    if can(roles, action):
        return
    if PERMISSIONS[action] == _EVERYONE_IN_CLUSTER:
        raise Refusal(_("Only people with a role in this cluster can do this."))
    allowed = sorted(PERMISSIONS[action], key=list(Role).index)
    raise Refusal(
        _("Only the {roles} can do this.").format(roles=_(" or ").join(role_name(r) for r in allowed))
    )


def cluster_roles(views: Iterable, cluster_id: int) -> set[str]:
    """A person's roles in one cluster, from `storage.people.RoleView` rows, chair derived."""
    roles: set[str] = set()
    for view in views:
        if view.cluster_id != cluster_id:
            continue
        roles.add(view.role)
        if view.role == Role.REPRESENTATIVE and view.is_chair_unit:
            roles.add(Role.CHAIR)
        if view.role == Role.REPRESENTATIVE and view.is_vice_chair_unit:
            roles.add(Role.VICE_CHAIR)
    return roles
