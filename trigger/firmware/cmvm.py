"""A constant-matrix-vector multiply as da4ml's `x @ w` builds it, without compiling da4ml's parallel `solve`.

`FixedVariableArray @ matrix` calls `da4ml.cmvm.api.solve`, a numba function with `parallel=True` that runs
`jit_solve` at every decomposition depth and keeps the cheapest. Compiling it in a fresh environment costs ~150 s of
CPU at NUMBA_OPT=1, of which `jit_solve` alone is ~100 s: the parallel loop's compilation is the other ~50 s, spent
once per environment (every fresh clone's `make firmware`). Here the same search runs in Python over `jit_solve`,
with solve's arguments, so the logic (and the Verilog) is the same; `tests/firmware/test_cmvm.py` checks it against
`solve` itself (JIT off), and the Verilog of seven designs is byte-identical either way (docs/implementations.md).
"""

from __future__ import annotations

from math import ceil, log2

import numpy as np

# what FixedVariableArray passes to solve by default (its solver_options: solve's defaults, adder and carry size -1)
_METHOD0, _METHOD1, _HARD_DC = "wmc", "auto", int(1e9)  # solve turns hard_dc -1 into 1e9 before calling jit_solve


def _inputs(xs: list):
    from da4ml.cmvm.types import QInterval
    from numba.typed import List

    qint = List([QInterval(float(v.low), float(v.high), float(v.step)) for v in xs])
    lat = List([float(v.latency) for v in xs])
    return qint, lat


def search(kernel: np.ndarray, qint, lat):
    """solve()'s search over jit_solve: the cheapest over every decomposition depth, the first on a tie (argmin)."""
    from da4ml.cmvm.api import jit_solve

    best, best_cost = None, None
    for dc in range(-1, min(_HARD_DC, ceil(log2(kernel.shape[0]))) + 1):
        sol = jit_solve(kernel, _METHOD0, _METHOD1, _HARD_DC, dc, qint, lat, -1, -1)
        cost = float(sum([sum([op.cost for op in s.ops]) for s in sol.solutions]))
        if best_cost is None or cost < best_cost:
            best, best_cost = sol, cost
    return best


def solution(xs: list, w: np.ndarray):
    """da4ml's Pipeline for xs @ w, from the inputs' intervals and latencies as cmvm() hands them to solve."""
    kernel = np.ascontiguousarray(np.asarray(w).astype(np.float32))  # cmvm() hands solve a float32 kernel
    return search(kernel, *_inputs(xs))


def matmul(xs: list, w: np.ndarray) -> list:
    """xs (da4ml FixedVariables, not all constant) times a constant matrix: one list of FixedVariables per column."""
    return list(solution(xs, w)(np.array(xs, dtype=object)))
