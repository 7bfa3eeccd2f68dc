"""Telegram glue: parse the update, call the rule layer, render, reply.

`register_all` is the table of contents of what the bot understands; the fallback comes last
so it sees only what nothing else took.
"""

from telegram.ext import Application


def register_all(app: Application) -> None:
    from handlers import awaiting, clusters, errors, fallback, group, lang, setup, start

    for module in (start, lang, group, setup, clusters, awaiting, errors, fallback):
        module.register(app)
