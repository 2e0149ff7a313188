"""Latency histograms with fixed buckets: they add up across rollups, so p50/p95 come from any
window without keeping the samples."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

# Upper bounds in milliseconds; a last, open bucket holds anything slower.
BOUNDS_MS: tuple[float, ...] = (
    5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
    20000, 30000,
)  # fmt: skip
SIZE = len(BOUNDS_MS) + 1


def bucket_of(latency_ms: float) -> int:
    """The index of the bucket `latency_ms` falls in (upper bounds inclusive)."""
    return bisect.bisect_left(BOUNDS_MS, latency_ms)


def one(latency_ms: float) -> list[int]:
    counts = [0] * SIZE
    counts[bucket_of(latency_ms)] = 1
    return counts


def merge(histograms: Iterable[Sequence[int]]) -> list[int]:
    total = [0] * SIZE
    for counts in histograms:
        for index, count in enumerate(counts):
            total[index] += count
    return total


def percentile(counts: Sequence[int], q: float, max_ms: float | None = None) -> float | None:
    """The q-quantile (0 < q <= 1), interpolated linearly inside its bucket, as Prometheus'
    histogram_quantile does. The open last bucket answers its lower bound, or `max_ms` (the
    slowest sample seen) when that is known. None for an empty histogram."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            lower = BOUNDS_MS[index - 1] if index else 0.0
            if index == len(BOUNDS_MS):
                return max(lower, max_ms) if max_ms is not None else lower
            upper = BOUNDS_MS[index]
            if max_ms is not None:
                upper = min(upper, max(max_ms, lower))
            return round(lower + (upper - lower) * (rank - seen) / count, 2)
        seen += count
    return None
