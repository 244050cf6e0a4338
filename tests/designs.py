"""Small hand-written designs for tests of the firmware side (no training needed)."""

from __future__ import annotations

import itertools

import numpy as np

from trigger.design.fixed import Overflow, Rounding

MODES = list(itertools.product(Rounding, Overflow))


def _t(rng, signed=None, wmax=12, mode=None):
    w = int(rng.integers(4, wmax + 1))
    i = int(rng.integers(1, w))
    r, o = mode if mode is not None else MODES[int(rng.integers(len(MODES)))]
    return f"ap_{'' if (signed if signed is not None else rng.integers(2)) else 'u'}fixed<{w},{i},AP_{r},AP_{o}>"


def _on_grid(rng, shape, frac: int, lim: int):
    return (rng.integers(-lim, lim + 1, size=shape) * 2.0**-frac).tolist()


def random_graph(seed: int) -> dict:
    """A small graph with a skip connection, a merge, linear hidden layers and a dot or sum score; every type
    random, the modes drawn so that the seeds together cover all 28 rounding x overflow pairs."""
    rng = np.random.default_rng(seed)
    mode = lambda k: MODES[(seed * 7 + k) % len(MODES)]  # noqa: E731
    n = 6
    merge = ["add", "subtract", "multiply"][seed % 3]
    nodes = [
        {"name": "d1", "op": "dense", "input": "input", "weight": _on_grid(rng, (n, 5), 3, 12), "bias": _on_grid(rng, 5, 2, 6),
         "weight_type": "ap_fixed<6,3>", "bias_type": "ap_fixed<6,4>", "accum_type": _t(rng, True, 14, mode(0)), "result_type": _t(rng, True, 12, mode(1))},
        {"name": "r1", "op": "relu", "input": "d1", "type": _t(rng, None, 10, mode(2))},
        {"name": "d2", "op": "dense", "input": "r1", "weight": _on_grid(rng, (5, 4), 2, 6), "bias": _on_grid(rng, 4, 2, 5),
         "weight_type": "ap_fixed<5,3>", "bias_type": "ap_fixed<5,3>", "accum_type": _t(rng, True, 14, mode(3)), "result_type": _t(rng, True, 12, mode(4))},
        {"name": "lin", "op": "linear", "input": "d2", "type": _t(rng, True, 10, mode(5))},
        {"name": "skip", "op": "dense", "input": "input", "weight": _on_grid(rng, (n, 4), 3, 8), "bias": _on_grid(rng, 4, 2, 4),
         "weight_type": "ap_fixed<6,3>", "bias_type": "ap_fixed<5,3>", "accum_type": _t(rng, True, 14, mode(6)), "result_type": _t(rng, True, 10, mode(7))},
        {"name": "merge", "op": merge, "inputs": ["lin", "skip"], "type": _t(rng, True, 12, mode(8))},
    ]
    if seed % 2:
        nodes.append({"name": "score", "op": "dot", "inputs": ["merge", "lin"], "accum_type": _t(rng, True, 16, mode(9)), "type": _t(rng, True, 12, mode(10))})
    else:
        nodes += [{"name": "sq", "op": "square", "input": "merge", "type": _t(rng, False, 12, mode(9))},
                  {"name": "score", "op": "sum", "input": "sq", "type": _t(rng, False, 10, mode(10))}]
    return {
        "format": "trigger-design/2", "name": f"graph{seed}",
        "inputs": [{"name": f"w{i}", "type": "ap_uint<7>" if i % 2 else "ap_int<6>"} for i in range(n)],
        "scaling": {"offset": [3, -2, 0, 5, 1, 0], "offset_type": "ap_int<8>", "shift": [2, 1, 0, 3, -1, 2],
                    "intermediate": "ap_fixed<14,10>", "output": _t(rng, True, 10, mode(11))},
        "nodes": nodes, "score": "score",
        "thresholds": [{"name": "low", "raw": -3}, {"name": "mid", "raw": 5}, {"name": "high", "raw": 40}],
    }
