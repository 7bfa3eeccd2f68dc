"""Storage layer: the models, the one session factory (``storage.db.Database``), migrations
(``storage.migrate``) and small typed queries grouped by area (``storage.people``, ...).

Nothing outside this package builds engines or writes SQL DDL; handlers and the rule layer
get an ``AsyncSession`` per update and call the query modules.
"""
