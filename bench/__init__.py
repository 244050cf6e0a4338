"""Benchmarks: speed targets live here, not in timed unit tests. `make bench` -> build/bench/*.json."""
