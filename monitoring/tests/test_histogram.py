"""p50/p95 from fixed-bucket histograms that add up across rollups."""

import pytest

from monitoring import histogram
from monitoring.histogram import BOUNDS_MS, bucket_of, merge, one, percentile


def counts_of(latencies):
    return merge(one(latency) for latency in latencies)


def test_a_latency_falls_in_the_bucket_whose_upper_bound_it_does_not_pass():
    assert bucket_of(0.3) == 0
    assert bucket_of(5) == 0
    assert bucket_of(5.01) == 1
    assert bucket_of(10**6) == len(BOUNDS_MS)


def test_an_empty_histogram_has_no_percentile():
    assert percentile([0] * histogram.SIZE, 0.5) is None


def test_percentiles_interpolate_inside_the_bucket():
    # 100 samples in (100, 150]: the median is half-way through that bucket.
    counts = counts_of([120] * 100)
    assert percentile(counts, 0.5) == pytest.approx(125)
    assert percentile(counts, 0.95) == pytest.approx(147.5)


def test_the_slowest_sample_bounds_the_answer():
    counts = counts_of([120] * 100)
    assert percentile(counts, 0.95, max_ms=121) == pytest.approx(100 + 21 * 0.95)


def test_p95_of_a_mixed_distribution_lands_in_the_slow_tail():
    # 90 fast (<= 5 ms), 10 slow in (750, 1000]: p50 is fast, p95 in the slow bucket.
    counts = counts_of([3] * 90 + [800] * 10)
    assert percentile(counts, 0.5) <= 5
    assert 750 < percentile(counts, 0.95) <= 1000


def test_histograms_of_parts_add_up_to_the_histogram_of_the_whole():
    first, second = [4, 12, 40, 40, 900], [3, 260, 2900]
    assert merge([counts_of(first), counts_of(second)]) == counts_of(first + second)
    whole = counts_of(first + second)
    assert percentile(merge([counts_of(first), counts_of(second)]), 0.95) == percentile(whole, 0.95)


def test_the_open_last_bucket_answers_its_lower_bound_or_the_slowest_sample():
    counts = counts_of([45_000])
    assert percentile(counts, 0.5) == BOUNDS_MS[-1]
    assert percentile(counts, 0.5, max_ms=45_000) == 45_000
