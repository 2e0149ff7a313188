"""up, degraded and down: down after N consecutive failures, up again after M successes."""

from monitoring.states import DEGRADED, DOWN, UNKNOWN, UP, Outcome, TargetState, advance


def run(outcomes, start=TargetState(), down_after=3, up_after=2, threshold=100.0):
    state, seen = start, []
    for ok, latency in outcomes:
        state = advance(
            state,
            Outcome(ok, latency),
            down_after=down_after,
            up_after=up_after,
            latency_threshold_ms=threshold,
        )
        seen.append(state.state)
    return seen


OK, SLOW, FAIL = (True, 10.0), (True, 500.0), (False, 0.0)


def test_a_target_is_unknown_until_its_first_success():
    assert run([FAIL, OK]) == [UNKNOWN, UP]


def test_down_only_after_n_consecutive_failures():
    assert run([OK, FAIL, FAIL, FAIL]) == [UP, UP, UP, DOWN]


def test_a_success_between_failures_starts_the_count_again():
    assert run([OK, FAIL, FAIL, OK, FAIL, FAIL]) == [UP, UP, UP, UP, UP, UP]


def test_up_again_only_after_m_consecutive_successes():
    assert run([FAIL, FAIL, FAIL, OK, FAIL, OK, OK]) == [
        UNKNOWN, UNKNOWN, DOWN, DOWN, DOWN, DOWN, UP,
    ]  # fmt: skip


def test_a_success_slower_than_the_threshold_is_degraded_and_recovers_when_fast():
    assert run([OK, SLOW, SLOW, OK]) == [UP, DEGRADED, DEGRADED, UP]


def test_a_down_target_that_recovers_slowly_comes_back_degraded():
    assert run([FAIL, FAIL, FAIL, SLOW, SLOW]) == [UNKNOWN, UNKNOWN, DOWN, DOWN, DEGRADED]


def test_thresholds_of_one_react_at_once():
    assert run([OK, FAIL, OK], down_after=1, up_after=1) == [UP, DOWN, UP]


def test_the_counters_are_kept():
    state = TargetState(UP)
    state = advance(state, Outcome(False, 0), down_after=2, up_after=2, latency_threshold_ms=1)
    assert (state.failures, state.successes) == (1, 0)
