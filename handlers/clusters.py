"""Which cluster a command is about.

In a group it is the cluster bound to that group. In a private chat it is the person's only
cluster, or the one they picked last (`/cluster`); a person in several clusters who has not
picked one is shown the choice, and the command runs again once they pick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks
from bot.errors import Refusal
from bot.i18n import _
from bot.services.actors import Actor, actor_in
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from storage.conversation import get_state, set_state
from storage.models import Cluster
from storage.people import roles_of

CLUSTER_FLOW = "cluster"
# Commands that can be re-run after a pick: name -> the undecorated handler body.
_RERUN: dict[str, Callable[[Update, BotContext, Turn], Awaitable[None]]] = {}


def rerunnable(name: str):
    def register(func):
        _RERUN[name] = func
        return func

    return register


async def cluster_for(turn: Turn, command: str) -> Cluster | None:
    """The cluster for this command, or None after showing the picker (the command stops)."""
    if not turn.private:
        if turn.cluster is None:
            raise Refusal(not_set_up_text(turn))
        return turn.cluster
    assert turn.person is not None
    ids = list(dict.fromkeys(v.cluster_id for v in await roles_of(turn.session, turn.person.id)))
    if not ids:
        raise Refusal(
            _(
                "You have no role in any cluster yet. Ask your cluster's administrator for an "
                "invite link and open it here."
            )
        )
    if len(ids) == 1:
        return await turn.session.get(Cluster, ids[0])
    chat_id = turn.update.effective_chat.id
    state = await get_state(turn.session, turn.person.id, chat_id, CLUSTER_FLOW)
    if state is not None and state.data.get("cluster_id") in ids:
        return await turn.session.get(Cluster, state.data["cluster_id"])
    await show_picker(turn, ids, command)
    return None


async def acting_in(turn: Turn, command: str) -> tuple[Cluster, Actor] | None:
    """The cluster of a command and the person acting in it; None after showing the picker."""
    cluster = await cluster_for(turn, command)
    if cluster is None:
        return None
    return cluster, await actor_in(turn.session, turn.person.id, cluster.id)


async def acting_from_button(turn: Turn, cluster_id: int) -> tuple[Cluster, Actor]:
    """The cluster a button names and the person pressing it (refused when it is gone)."""
    cluster = await turn.session.get(Cluster, cluster_id)
    if cluster is None or turn.person is None:
        raise stale()
    return cluster, await actor_in(turn.session, turn.person.id, cluster.id)


def not_set_up_text(turn: Turn) -> str:
    return _(
        "This group is not set up yet. An administrator of the group sends /setup@{bot} here."
    ).format(bot=turn.update.get_bot().username)


async def show_picker(turn: Turn, ids: list[int], command: str) -> None:
    rows = []
    for cluster_id in ids:
        cluster = await turn.session.get(Cluster, cluster_id)
        rows.append(
            [InlineKeyboardButton(cluster.name[:60], callback_data=callbacks.ClusterPick(cluster_id, command).pack())]
        )
    turn.reply(_("You work in several clusters. Which one?"), InlineKeyboardMarkup(rows))


async def pick(update: Update, context: BotContext, turn: Turn, press: callbacks.ClusterPick) -> None:
    if turn.person is None:
        raise stale()
    cluster_id, command = press.cluster_id, press.command
    ids = {v.cluster_id for v in await roles_of(turn.session, turn.person.id)}
    if cluster_id not in ids:
        raise Refusal(_("You no longer have a role in that cluster."))
    await set_state(turn.session, turn.person.id, update.effective_chat.id, CLUSTER_FLOW, "chosen", {"cluster_id": cluster_id})
    cluster = await turn.session.get(Cluster, cluster_id)
    turn.edit(_("Working in: <b>{cluster}</b>. Switch with /cluster.").format(cluster=escape(cluster.name)))
    if command in _RERUN:
        await _RERUN[command](update, context, turn)


@handler
async def cluster_command(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Use /cluster in a private chat with me."))
    ids = list(dict.fromkeys(v.cluster_id for v in await roles_of(turn.session, turn.person.id)))
    if not ids:
        await cluster_for(turn, "cluster")  # raises the explanation
        return
    await show_picker(turn, ids, "-")


def register(app: Application) -> None:
    app.add_handler(CommandHandler("cluster", cluster_command))
    app.add_handler(dispatch(callbacks.CLUSTER, {callbacks.ClusterPick: pick}))
