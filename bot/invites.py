"""Invite links: one-time, expiring, revocable tokens that make a person a representative
(or a secretariat member) after they confirm.

The raw token exists only in the link (`https://t.me/<bot>?start=<token>`); storage keeps its
SHA-256, so a leaked backup cannot be replayed into roles. 24 random bytes are unguessable;
the token is URL-safe and fits Telegram's 64-character `start` parameter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from bot.errors import Refusal
from bot.i18n import _

PREFIX = "inv-"
DEFAULT_VALID_DAYS = 7
DEFAULT_MAX_REPRESENTATIVES = 2
_TOKEN = re.compile(r"^inv-[A-Za-z0-9_-]{32}$")


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def looks_like_token(payload: str) -> bool:
    return bool(_TOKEN.match(payload))


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


@dataclass(frozen=True)
class InviteState:
    """What a stored invite says, for the pure check below."""

    expires_at: dt.datetime
    used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    unit_active: bool | None  # None: the invite is not for a unit


def check_usable(invite: InviteState | None, now: dt.datetime) -> None:
    """Refuse an unknown, used, revoked or expired invite, or one for a deactivated unit."""
    if invite is None:
        raise Refusal(
            _("This invite link is not valid. Ask your cluster's administrator for a new one.")
        )
    if invite.used_at is not None:
        raise Refusal(
            _("This invite link has already been used. Each link works once; ask your "
              "cluster's administrator for a new one.")
        )
    if invite.revoked_at is not None:
        raise Refusal(
            _("This invite link was withdrawn by the administrator. Ask for a new one.")
        )
    if invite.expires_at <= now:
        raise Refusal(
            _("This invite link has expired. Ask your cluster's administrator for a new one.")
        )
    if invite.unit_active is False:
        raise Refusal(
            _("The unit of this invite is no longer active in the cluster, so the link "
              "cannot be used.")
        )
