"""`make bench`: throughput and latency of named cases against the running stack, with wrk."""
