"""The sender's reaction to each kind of refusal: table-driven, with a fixed clock."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.delivery import Decision, Failure, Policy, Reaction, after_failure, backoff

NOW = dt.datetime(2027, 1, 1, 10, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("failure", "attempts", "retry_after", "expected"),
    [
        (Failure.NETWORK, 1, None, Decision(Reaction.RETRY, NOW + 2 * S)),
        (Failure.TIMEOUT, 2, None, Decision(Reaction.RETRY, NOW + 4 * S)),
        (Failure.OTHER, 3, None, Decision(Reaction.RETRY, NOW + 8 * S)),
        (Failure.NETWORK, 8, None, Decision(Reaction.PARK)),  # bounded: parked, not lost
        (Failure.RETRY_AFTER, 1, 17, Decision(Reaction.RETRY, NOW + 17 * S)),
        (Failure.RETRY_AFTER, 3, 0, Decision(Reaction.RETRY, NOW + 1 * S)),  # never at once
        (Failure.RETRY_AFTER, 8, 5, Decision(Reaction.RETRY, NOW + 5 * S)),  # floods allow more
        (Failure.RETRY_AFTER, 20, 5, Decision(Reaction.PARK)),
        (Failure.FORBIDDEN, 1, None, Decision(Reaction.UNREACHABLE)),
        (Failure.BAD_REQUEST, 1, None, Decision(Reaction.PARK)),  # retrying cannot help
    ],
)
def test_each_failure_has_its_reaction(failure, attempts, retry_after, expected):
    assert after_failure(failure, attempts, NOW, retry_after=retry_after) == expected


def test_the_reason_is_kept_for_the_administrator():
    decision = after_failure(Failure.BAD_REQUEST, 1, NOW, reason="chat not found")
    assert decision.reason == "chat not found"


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 2), (2, 4), (5, 32), (9, 512), (10, 600), (50, 600)])
def test_backoff_doubles_and_is_capped(attempts, seconds):
    assert backoff(attempts) == dt.timedelta(seconds=seconds)


def test_jitter_spreads_rows_by_at_most_a_quarter_and_is_repeatable():
    delays = {backoff(3, row_id) for row_id in range(1, 200)}
    assert len(delays) > 50
    assert all(8 * S <= d <= 10 * S for d in delays)
    assert backoff(3, 42) == backoff(3, 42)


def test_a_stricter_policy_parks_sooner():
    assert after_failure(Failure.NETWORK, 2, NOW, policy=Policy(max_attempts=2)).reaction is Reaction.PARK
