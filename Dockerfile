# ThiĐua Bot: one image for long polling or webhooks (TELEGRAM_WEBHOOK_URL set). See README, "Deploy".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Inside a container loopback is useless: the webhook server listens on every interface
    # (publish the port only to the reverse proxy that terminates TLS).
    WEBHOOK_LISTEN=0.0.0.0 \
    WEBHOOK_PORT=8443

# The project and its exact pins; `[postgres]` adds asyncpg. Installed as root, owned by root:
# the bot's user cannot change its own code. The catalogs are compiled here, once.
WORKDIR /opt/thidua-bot
COPY pyproject.toml README.md ./
COPY requirements/lock.txt requirements/lock.txt
COPY bot bot
COPY handlers handlers
COPY storage storage
COPY locales locales
RUN pip install -c requirements/lock.txt '.[postgres]' \
    && cd / && python -c "from bot.i18n import compile_all; compile_all()"

# A non-root user; its home is the working directory, where .env is read from and the SQLite
# file lives when DATABASE_URL is not set (mount a volume there, or use PostgreSQL).
RUN useradd --system --uid 10001 --home-dir /var/lib/thidua --create-home thidua
USER thidua
WORKDIR /var/lib/thidua

EXPOSE 8443
# `python -m bot health`: the database is reachable and migrated, and in webhook mode the
# webhook port answers. The start period covers the migrations run at start.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
