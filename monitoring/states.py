"""The state machine: up, degraded or down, from consecutive check outcomes."""

from __future__ import annotations

from dataclasses import dataclass, replace

UNKNOWN, UP, DEGRADED, DOWN = "unknown", "up", "degraded", "down"
STATES = (UNKNOWN, UP, DEGRADED, DOWN)


@dataclass(frozen=True)
class TargetState:
    """What the worker knows of a target between two checks."""

    state: str = UNKNOWN
    failures: int = 0  # consecutive
    successes: int = 0  # consecutive


@dataclass(frozen=True)
class Outcome:
    ok: bool
    latency_ms: float
    degraded: bool = False  # a success that is not whole (a copy of the service is silent)


def advance(
    current: TargetState,
    outcome: Outcome,
    *,
    down_after: int,
    up_after: int,
    latency_threshold_ms: float,
) -> TargetState:
    """The state after one more check.

    Down after `down_after` consecutive failures; a down target is up again only after `up_after`
    consecutive successes, and a single failure before that does not make it down twice. A success
    slower than the threshold, or one that is not whole, is degraded (still available). A failure
    short of `down_after` leaves the state as it was: one lost probe is not an outage.
    """
    if outcome.ok:
        successes = current.successes + 1
        slow = outcome.latency_ms > latency_threshold_ms
        healthy = DEGRADED if slow or outcome.degraded else UP
        if current.state == DOWN and successes < up_after:
            return replace(current, failures=0, successes=successes)
        return TargetState(healthy, failures=0, successes=successes)
    failures = current.failures + 1
    state = DOWN if failures >= down_after else current.state
    return TargetState(state, failures=failures, successes=0)
