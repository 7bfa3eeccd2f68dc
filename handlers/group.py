"""The bot's own membership in groups: greet when added, so the group knows how to set up."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.ext import Application, ChatMemberHandler

from bot import render
from bot.services import undelivered
from handlers.base import BotContext, Turn, handler

_OUTSIDE = {ChatMember.LEFT, ChatMember.BANNED}
_INSIDE = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED}


@handler
async def bot_membership(update: Update, context: BotContext, turn: Turn) -> None:
    change = update.my_chat_member
    joined = (
        change.old_chat_member.status in _OUTSIDE and change.new_chat_member.status in _INSIDE
    )
    if joined:  # a group added the bot (back), a person unblocked it: it is reachable again
        await undelivered.reachable_again(turn.session, change.chat.id)
    if change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    if joined:
        turn.reply(render.group_greeting(context.bot.username))


def register(app: Application) -> None:
    app.add_handler(ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
