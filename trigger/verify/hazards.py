"""Interval analysis over a design: every cast that can overflow (wrap, saturate or zero) for some input words.

Bounds propagate from each input word's full range through every cast in the design's order. They are
sound but may over-approximate (a box over the inputs ignores correlations), so a listed cast *may*
overflow; one not listed cannot. For a wrap in the score path (the squares and their sum) a bounded
search over extreme and random words looks for a concrete input that shows it (with the emulator: this module
sits beside the design, not in trigger/firmware, which must not import the emulator).
"""

from __future__ import annotations

import numpy as np

from trigger.design import Design
from trigger.design.fixed import FixedType, Overflow

def analyse(design: Design) -> list[dict]:
    """Every cast that may overflow, from the one interval analysis (trigger/design/intervals.py)."""
    from trigger.design.intervals import analyse as intervals

    return intervals(design).notes


def search_score_wrap(design: Design, tries: int = 200_000, seed: int = 11) -> dict:
    """Look for input words whose squares or score sum wrap (WRAP modes only): extremes, then random words."""
    from emulator import Emulator
    from emulator.fixed import cast, tree_sum
    from trigger.verify.edge_words import edge_cases

    if design.format != "trigger-design/1":
        return {"searched": False, "why": "the concrete search covers format-1 score paths (squares and their sum); "
                "graph designs get the interval bounds only"}
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
    score_nodes = [n.name for n in design.nodes[-2:]] if design.format == "trigger-design/1" else [design.score_node.name]
    score_path = [c for c in casts if c["effect"] == "wraps" and any(f"({s})" in c["cast"] for s in score_nodes)]
    return {"design": design.name, "design_sha256": design.sha256(),
            "method": "interval bounds from every input word's full range (sound, may over-approximate)",
            "casts_that_may_overflow": casts,
            "score_wrap_search": search_score_wrap(design) if score_path else {"searched": False, "why": "no cast in the score path can wrap"}}


def write_hazards(design: Design, build) -> dict:
    """reports/hazards.json of a build, and one line on the console."""
    from pathlib import Path

    from trigger.io_utils import write_json
    from trigger.progress import console

    hazards = hazard_report(design)
    out = Path(build) / "reports" / "hazards.json"
    write_json(out, hazards)
    found = hazards["score_wrap_search"]
    console.print(f"  hazards: {len(hazards['casts_that_may_overflow'])} casts may overflow (interval bounds); score-path wrap: "
                  + ("example found" if found.get("found") else f"none found in {found['events_tried']} events" if found.get("searched") else found["why"])
                  + f" -> {out}")
    return hazards
