"""Text the bot shows, one module per area, shared by handlers (replies) and services (the
outbox's notices, scheduled announcements): pure functions of plain data and the current
language, no database, no sending. A notice and the reply that mirrors it cannot drift apart."""
