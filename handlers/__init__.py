"""Telegram glue: parse the update, call the rule layer, render, reply.

`register_all` is the table of contents of what the bot understands; the fallback comes last
so it sees only what nothing else took.
"""

from telegram.ext import Application


def register_all(app: Application) -> None:
    from handlers import (
        awaiting,
        ballot,
        chair,
        clusters,
        digest,
        errors,
        fallback,
        group,
        invites,
        lang,
        members,
        phase,
        pledge,
        pledge_list,
        pledge_review,
        pledge_signing,
        reminders,
        score,
        scores,
        setup,
        start,
        status,
        table,
        tally,
        undelivered,
        units,
        verify,
    )

    for module in (
        start, lang, group, setup, clusters, units, invites, members, chair,
        table, phase, status, undelivered, score, verify, scores, pledge, pledge_review, pledge_signing,
        pledge_list, ballot, tally, digest, reminders, awaiting, errors, fallback,
    ):  # fmt: skip
        module.register(app)
