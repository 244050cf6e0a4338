"""Benchmarks: speed targets live here, not in timed unit tests. `make bench` -> build/bench/*.json."""

import time


def rate(fn, arg, repeat: int = 3) -> float:
    """Events/s of the best of `repeat` runs of fn(arg) (the shared VM's timings vary by +-30%)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t)
    return len(arg) / best
