"""Use cases: plain async functions over a database session, one module per area.

They check who may act (through `Actor.require`, i.e. the permission table), call the pure
rules, and read and write through `storage/`. They know nothing of Telegram: the handlers parse
updates into arguments and render what comes back. A refusal is a `bot.errors.Refusal`.
"""
