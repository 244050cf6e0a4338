"""Interval analysis over a design: every cast that can overflow (wrap, saturate or zero) for some input words.

Bounds propagate from each input word's full range through every cast in the design's order. They are
sound but may over-approximate (a box over the inputs ignores correlations), so a listed cast *may*
overflow; one not listed cannot. For a wrap in the score path (the squares and their sum) a bounded
search over extreme and random words looks for a concrete input that shows it.
"""

from __future__ import annotations

import numpy as np

from trigger.design import Design
from trigger.fixed import FixedType, Overflow

EFFECT = {Overflow.WRAP: "wraps", Overflow.SAT: "saturates", Overflow.SAT_ZERO: "becomes 0", Overflow.SAT_SYM: "saturates (symmetric)"}


def _after_cast(lo, hi, t: FixedType):
    """Bounds after casting values in [lo, hi] to t (rounding moves a bound by at most one LSB)."""
    lo2, hi2 = np.floor(lo / t.lsb) * t.lsb, np.ceil(hi / t.lsb) * t.lsb
    over = (hi2 > t.max_value) | (lo2 < t.min_value)
    if t.overflow is Overflow.WRAP:
        lo2, hi2 = np.where(over, t.min_value, lo2), np.where(over, t.max_value, hi2)
    else:
        lo2, hi2 = np.clip(lo2, t.min_value, t.max_value), np.clip(hi2, t.min_value, t.max_value)
        if t.overflow is Overflow.SAT_ZERO:
            lo2, hi2 = np.where(over, np.minimum(lo2, 0), lo2), np.where(over, np.maximum(hi2, 0), hi2)
    return lo2, hi2, over


def _note(out, where, lo, hi, t, over):
    for k in np.flatnonzero(np.atleast_1d(over)):
        out.append({"cast": f"{where}[{k}]" if np.ndim(over) else where, "reachable": [float(np.atleast_1d(lo)[k]), float(np.atleast_1d(hi)[k])],
                    "type": t.hls(), "type_range": [t.min_value, t.max_value], "effect": EFFECT[t.overflow]})


def analyse(design: Design) -> list[dict]:
    out: list[dict] = []
    s = design.scaling
    lo = np.array([i.type.min_value for i in design.inputs]) - s.offset * s.offset_type.lsb
    hi = np.array([i.type.max_value for i in design.inputs]) - s.offset * s.offset_type.lsb
    lo, hi, over = _after_cast(lo, hi, s.intermediate)
    _note(out, "scaling.intermediate (word - offset)", lo, hi, s.intermediate, over)
    sh = np.exp2(-s.shift.astype(np.float64))
    lo, hi = lo * sh, hi * sh
    wrap = s.intermediate.with_modes()
    lo, hi, over = _after_cast(lo, hi, wrap)
    _note(out, "scaling.shift (left shift inside the intermediate)", lo * 1.0, hi * 1.0, wrap, over & (s.shift < 0))
    lo, hi, over = _after_cast(lo, hi, s.output)
    _note(out, "scaling.output", lo, hi, s.output, over)
    for k, L in enumerate(design.layers):
        p = f"layers[{k}] ({L.name})"
        w, b = L.weight * L.weight_type.lsb, L.bias * L.bias_type.lsb
        p_lo = np.minimum(lo[:, None] * w, hi[:, None] * w)
        p_hi = np.maximum(lo[:, None] * w, hi[:, None] * w)
        acc = L.accum_type
        _, _, p_over = _after_cast(p_lo, p_hi, acc)
        if p_over.any():
            i, j = np.argwhere(p_over)[0]
            out.append({"cast": f"{p}.accum_type (products, e.g. input {i} x output {j})", "reachable": [float(p_lo.min()), float(p_hi.max())],
                        "type": acc.hls(), "type_range": [acc.min_value, acc.max_value], "effect": EFFECT[acc.overflow],
                        "count": int(p_over.sum())})
        # partial sums in hls4ml's order: the bias, then every product, each sum cast to accum_t
        s_lo = b + np.minimum(p_lo, 0).sum(axis=0)
        s_hi = b + np.maximum(p_hi, 0).sum(axis=0)
        a_lo, a_hi, over = _after_cast(s_lo, s_hi, acc)
        _note(out, f"{p}.accum_type (partial sums)", s_lo, s_hi, acc, over)
        box_lo, box_hi = b + p_lo.sum(axis=0), b + p_hi.sum(axis=0)
        lo, hi = np.where(over, a_lo, np.clip(box_lo, a_lo, a_hi)), np.where(over, a_hi, np.clip(box_hi, a_lo, a_hi))
        lo, hi, over = _after_cast(lo, hi, L.result_type)
        _note(out, f"{p}.result_type", lo, hi, L.result_type, over)
        if L.activation == "relu":
            lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
        lo2, hi2, over = _after_cast(lo, hi, L.activation_type)
        _note(out, f"{p}.activation_type", lo, hi, L.activation_type, over)
        lo, hi = lo2, hi2
    sq_t, sum_t = design.score.square_type, design.score.sum_type
    q_lo = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(lo * lo, hi * hi))
    q_hi = np.maximum(lo * lo, hi * hi)
    q_lo, q_hi, over = _after_cast(q_lo, q_hi, sq_t)
    _note(out, "score.square_type (mu_i^2)", q_lo, q_hi, sq_t, over)
    t_lo, t_hi, over = _after_cast(q_lo, q_hi, sum_t)
    _note(out, "score.sum_type (each square)", q_lo, q_hi, sum_t, over)
    total_lo, total_hi = float(t_lo.sum()), float(t_hi.sum())
    if total_hi > sum_t.max_value or total_lo < sum_t.min_value:
        out.append({"cast": "score.sum_type (the tree's additions)", "reachable": [total_lo, total_hi], "type": sum_t.hls(),
                    "type_range": [sum_t.min_value, sum_t.max_value], "effect": EFFECT[sum_t.overflow]})
    return out


def search_score_wrap(design: Design, tries: int = 200_000, seed: int = 11) -> dict:
    """Look for input words whose squares or score sum wrap (WRAP modes only): extremes, then random words."""
    from emulator import Emulator
    from emulator.fixed import cast, tree_sum
    from trigger.compare import edge_cases

    sq_t, sum_t = design.score.square_type, design.score.sum_type
    wraps = [t for t in (sq_t, sum_t) if t.overflow is Overflow.WRAP]
    if not wraps:
        return {"searched": False, "why": "the score path saturates (no WRAP mode), it cannot wrap"}
    emu = Emulator(design)
    rng = np.random.default_rng(seed)
    words = np.concatenate(list(edge_cases(emu).values()) + [rng.integers(emu.word_min, emu.word_max + 1, size=(tries, emu.n_inputs))])
    mu = emu.mu(words)
    exact_sq = mu * mu  # at 2 * mu frac: what the square would be without its cast
    sq = cast(exact_sq, 2 * design.mu_type.frac, sq_t)
    wide = FixedType(62, 62 - sum_t.frac, True)  # the same LSB, no overflow: the tree without wrapping
    terms = cast(sq, sq_t.frac, sum_t)
    unwrapped = tree_sum([cast(sq[:, j], sq_t.frac, wide) for j in range(sq.shape[1])], wide)
    wrapped = tree_sum([terms[:, j] for j in range(terms.shape[1])], sum_t)
    sq_wrap = (cast(exact_sq, 2 * design.mu_type.frac, sq_t.with_modes(sq_t.rounding, Overflow.SAT)) != sq).any(axis=1) if sq_t.overflow is Overflow.WRAP else np.zeros(len(words), bool)
    sum_wrap = unwrapped != cast(wrapped, sum_t.frac, wide) if sum_t.overflow is Overflow.WRAP else np.zeros(len(words), bool)
    hit = np.flatnonzero(sq_wrap | sum_wrap)
    res = {"searched": True, "events_tried": int(len(words)), "found": bool(len(hit))}
    if len(hit):
        i = int(hit[0])
        res["example"] = {"words": words[i].tolist(), "mu": mu[i].tolist(), "score_raw": int(wrapped[i]),
                          "score_raw_without_wrap": int(unwrapped[i]), "square_wrapped": bool(sq_wrap[i])}
    return res


def hazard_report(design: Design) -> dict:
    casts = analyse(design)
    score_path = [c for c in casts if c["cast"].startswith("score") and c["effect"] == "wraps"]
    return {"design": design.name, "design_sha256": design.sha256(),
            "method": "interval bounds from every input word's full range (sound, may over-approximate)",
            "casts_that_may_overflow": casts,
            "score_wrap_search": search_score_wrap(design) if score_path else {"searched": False, "why": "no cast in the score path can wrap"}}
