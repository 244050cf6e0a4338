"""Words physics rarely makes, on which every implementation must still agree: field extremes, empty events,
single objects, random full-range words, drives that saturate the first layers, and events whose scores sit at each
threshold's edges. Reads only the emulator's view of the design (word ranges, nodes, scores)."""

from __future__ import annotations

import numpy as np


def edge_cases(emu, pool: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Inputs physics rarely makes: field maxima, empty, single objects, random words, saturating drives; with a
    pool of events, also those whose scores sit at each threshold T-1, T, T+1 and at the highest score."""
    lo, hi = emu.word_min, emu.word_max
    n = emu.n_inputs
    rng = np.random.default_rng(12345)
    cases = {
        "all_max": hi[None, :].copy(),
        "all_min": lo[None, :].copy(),
        "all_zero": np.zeros((1, n), np.int64),
    }
    single = []
    for obj in range(n // 3):
        for value in (hi, lo, rng.integers(lo, hi + 1)):
            e = np.zeros(n, np.int64)
            e[3 * obj : 3 * obj + 3] = value[3 * obj : 3 * obj + 3]
            single.append(e)
    cases["single_object"] = np.array(single, dtype=np.int64).reshape(-1, n)  # none for a design of < 3 inputs
    cases["random_full_range"] = rng.integers(lo, hi + 1, size=(20000, n))
    # drive each unit of the first dense node on the input (and the units after it, through the dense nodes that
    # follow in a chain) to its extremes: every word at the end of its range that pushes the unit's sum up (or
    # down), so accumulators and the score saturate or wrap
    dense = [x for x in emu.design.nodes if x.op == "dense"]
    drives = [np.where(w > 0, hi, lo) for w in (np.ones(n), -np.ones(n))]
    if dense and dense[0].inputs[0] == "input":
        w0 = dense[0].weight
        for j in range(w0.shape[1]):
            for sign in (1, -1):
                drives.append(np.where(sign * w0[:, j] > 0, hi, lo))
        chain = w0  # ReLUs ignored: a direction that drives the later units hard
        for layer in dense[1:]:
            if layer.weight.shape[0] != chain.shape[1]:
                break
            chain = chain @ layer.weight
        for j in range(chain.shape[1]):
            for sign in (1, -1):
                drives.append(np.where(sign * chain[:, j] > 0, hi, lo))
    cases["saturating_drive"] = np.array(drives)
    if pool is not None:
        cases["threshold_edges"] = threshold_edges(emu, np.concatenate([pool, *cases.values()]))[0]
    return cases


def threshold_edges(emu, pool: np.ndarray, score: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Events of `pool` whose score sits exactly at T-1, T and T+1 of every threshold, the events on either side
    of it (the highest score below T, the lowest at or above: the decision's boundary, whether or not T itself is
    a score), and the highest score reached; also which of T-1, T, T+1 some event reaches (not all need be
    reachable). score: the pool's emulator scores when already known."""
    if isinstance(pool, list):  # several arrays, taken as one without copying them all
        rows = _Rows(pool)
    else:
        rows = pool
    if score is None:
        _, score, _ = emu.run(pool)
    picks, found = [int(np.argmax(score))], {}
    for name, t in zip(emu.threshold_names, emu.thresholds):
        for d in (-1, 0, 1):
            hit = np.flatnonzero(score == t + d)
            found[f"{name} {'T' if d == 0 else f'T{d:+d}'}"] = bool(len(hit))
            if len(hit):
                picks.append(int(hit[0]))
        below, above = np.flatnonzero(score < t), np.flatnonzero(score >= t)
        if len(below):
            picks.append(int(below[np.argmax(score[below])]))
        if len(above):
            picks.append(int(above[np.argmin(score[above])]))
    return rows[sorted(set(picks))], found


class _Rows:
    """Rows of several arrays by index into their concatenation."""

    def __init__(self, arrays):
        self.arrays, self.starts = arrays, np.cumsum([0] + [len(a) for a in arrays])

    def __getitem__(self, idx):
        idx = np.asarray(idx, dtype=np.int64)
        k = np.searchsorted(self.starts, idx, side="right") - 1
        return np.array([self.arrays[j][i - self.starts[j]] for i, j in zip(idx, k)]).reshape(len(idx), -1)
