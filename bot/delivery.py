"""What the sender does after Telegram refused a message: the retry policy, as a pure rule.

Telegram's answers fall into a few kinds, and each has one right reaction:

| failure | meaning | reaction |
|---|---|---|
| network error, timeout | nothing arrived, or we don't know | retry with exponential backoff |
| 429 Too Many Requests | flood limit; Telegram says how long to wait | retry after `retry_after` |
| 403 Forbidden | blocked by the user, bot removed from the group | mark the recipient unreachable |
| 400 Bad Request | this message can never be delivered as it is | park it with Telegram's reason |
| anything else | a bug or an outage we don't understand | retry with backoff |

After `max_attempts` tries a row is parked where the administrator sees it (a count in
`/status`, the list in a command); it is never retried on its own again. No clock is read and
nothing random is drawn here: the backoff's jitter comes from the row's id, so a test can
compute the exact time of the next try.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Failure(StrEnum):
    NETWORK = "network"
    TIMEOUT = "timeout"
    RETRY_AFTER = "retry_after"
    FORBIDDEN = "forbidden"
    BAD_REQUEST = "bad_request"
    OTHER = "other"


class Reaction(StrEnum):
    RETRY = "retry"  # try again at `at`
    PARK = "park"  # stop trying; show it to the administrator
    UNREACHABLE = "unreachable"  # the recipient cannot be reached; tell the administrator once


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 8
    first_delay: dt.timedelta = dt.timedelta(seconds=2)
    max_delay: dt.timedelta = dt.timedelta(minutes=10)
    # 429s are Telegram telling us to slow down, not a sign the message is bad: allow more.
    max_flood_waits: int = 20


@dataclass(frozen=True)
class Decision:
    reaction: Reaction
    at: dt.datetime | None = None
    reason: str = ""


def after_failure(
    failure: Failure,
    attempts: int,
    now: dt.datetime,
    *,
    retry_after: float | None = None,
    reason: str = "",
    row_id: int = 0,
    policy: Policy = Policy(),
) -> Decision:
    """What to do after the `attempts`-th failed try (1 for the first failure)."""
    if failure is Failure.FORBIDDEN:
        return Decision(Reaction.UNREACHABLE, reason=reason)
    if failure is Failure.BAD_REQUEST:
        return Decision(Reaction.PARK, reason=reason)
    if failure is Failure.RETRY_AFTER:
        if attempts >= policy.max_flood_waits:
            return Decision(Reaction.PARK, reason=reason)
        wait = dt.timedelta(seconds=max(float(retry_after or 1), 1.0))
        return Decision(Reaction.RETRY, at=now + wait, reason=reason)
    if attempts >= policy.max_attempts:
        return Decision(Reaction.PARK, reason=reason)
    return Decision(Reaction.RETRY, at=now + backoff(attempts, row_id, policy), reason=reason)


def backoff(attempts: int, row_id: int = 0, policy: Policy = Policy()) -> dt.timedelta:
    """2 s, 4 s, 8 s … capped at `max_delay`, plus up to 25 % jitter fixed by the row's id (so
    rows that failed together don't all come back in the same second)."""
    exponent = min(max(attempts, 1) - 1, 30)
    delay = min(policy.first_delay * (2**exponent), policy.max_delay)
    jitter = (row_id * 2654435761 % 1000) / 4000  # 0 … 0.25, deterministic per row
    return delay + delay * jitter
