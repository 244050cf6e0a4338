"""A timing *estimate* per pipeline stage: logic depth after yosys synthesis, not a timing analysis.

The resource count's own synthesis (synth_xilinx, flattened) is written as a JSON netlist; here its longest
register-to-register paths are found cell by cell, split into LUT levels and carry cells, and attributed to the
pipeline stage whose input register launches them. A simple delay model per family turns that into nanoseconds.
No open tool has a timing model of Xilinx parts: the real number needs Vivado (`rtl/timing_ooc.tcl`). Never read
this as timing closure.
"""

from __future__ import annotations

import re
from collections import defaultdict

# ns per LUT level (cell + typical route), per carry cell, and the register overhead (clock-to-out + setup):
# rules of thumb for -2 speed grades, an estimate only
DELAY_MODEL = {"xcup": (0.45, 0.06, 0.3), "xcu": (0.5, 0.07, 0.35), "xc7": (0.7, 0.1, 0.5)}
_STAGE = re.compile(r"stage(\d+)\.")


class TimingEstimateError(RuntimeError):
    """The estimate says a pipeline stage is too deep for the clock (firmware.depth_check: error)."""


def _kind(cell_type: str) -> str:
    if re.fullmatch(r"LUT\d|INV", cell_type):  # an INV left by the mapper is a LUT1 on the device
        return "lut"
    if cell_type.startswith("CARRY"):
        return "carry"
    if cell_type.startswith(("FD", "SRL")):
        return "reg"
    if cell_type == "$scopeinfo":
        return "none"
    return "other"  # buffers, MUXF7/8, DSP blocks: on the path, no delay in this model


def _stage_of(bit: int, names: dict[int, list[str]], core: str) -> str:
    for n in names.get(bit, ()):
        m = _STAGE.search(n)
        if m:
            return f"{core}_stage{m.group(1)}"
    return "wrapper"


def netlist_depths(netlist: dict, top: str, core: str, family: str) -> list[dict]:
    """Per launching stage, the path with the largest estimated delay (LUT levels and carry cells counted)."""
    mod = netlist["modules"][top]
    per_lut, per_carry, overhead = DELAY_MODEL[family]
    names: dict[int, list[str]] = defaultdict(list)
    for n, info in mod["netnames"].items():
        for b in info["bits"]:
            if isinstance(b, int):
                names[b].append(n)
    comb, driver = {}, {}
    for name, c in mod["cells"].items():
        kind = _kind(c["type"])
        if kind in ("reg", "none"):
            continue
        ins = [b for p, bits in c["connections"].items() if c["port_directions"].get(p) == "input" for b in bits if isinstance(b, int)]
        outs = [b for p, bits in c["connections"].items() if c["port_directions"].get(p) == "output" for b in bits if isinstance(b, int)]
        comb[name] = (kind, ins, outs)
        for b in outs:
            driver[b] = name
    # Kahn's order over the combinational cells; a bit no such cell drives starts a path (a register, an input)
    users = defaultdict(list)
    pending = {}
    for name, (_, ins, _) in comb.items():
        deps = {driver[b] for b in ins if b in driver}
        pending[name] = len(deps)
        for d in deps:
            users[d].append(name)
    ready = [n for n, k in pending.items() if k == 0]
    arrival: dict[int, tuple] = {}  # bit -> (delay, luts, carries, cells, stage)
    done = 0
    while ready:
        name = ready.pop()
        done += 1
        kind, ins, outs = comb[name]
        starts = [arrival.get(b) or (0.0, 0, 0, 0, _stage_of(b, names, core)) for b in ins] or [(0.0, 0, 0, 0, "wrapper")]
        d, luts, carries, cells, stage = max(starts, key=lambda a: a[0])
        step = {"lut": (per_lut, 1, 0), "carry": (per_carry, 0, 1)}.get(kind, (0.0, 0, 0))
        here = (d + step[0], luts + step[1], carries + step[2], cells + 1, stage)
        for b in outs:
            arrival[b] = here
        for u in users[name]:
            pending[u] -= 1
            if pending[u] == 0:
                ready.append(u)
    if done != len(comb):
        raise RuntimeError(f"the synthesized netlist of {top} has a combinational loop: no depth estimate")
    deepest: dict[str, tuple] = {}
    for a in arrival.values():
        if a[4] not in deepest or a[0] > deepest[a[4]][0]:
            deepest[a[4]] = a
    order = sorted(deepest, key=lambda s: (s == "wrapper", int(s.rsplit("stage", 1)[1]) if s != "wrapper" else 0))
    return [{"stage": s, "lut_levels": deepest[s][1], "carry_cells": deepest[s][2], "path_cells": deepest[s][3],
             "estimate_ns": round(overhead + per_lut * deepest[s][1] + per_carry * deepest[s][2], 3)} for s in order]


def timing_estimate(stages: list[dict], ports: dict, family: str, lut_mapper: str) -> dict:
    period = ports["clock_period_ns"]
    deepest = max(stages, key=lambda s: s["estimate_ns"]) if stages else None
    per_lut, per_carry, overhead = DELAY_MODEL[family]
    return {
        "label": "ESTIMATE from logic depth, not a timing analysis; run rtl/timing_ooc.tcl in Vivado for the real number",
        "family": family,
        "lut_mapper": lut_mapper,
        "method": "longest register-to-register paths of the resource count's flattened synthesis, per launching stage",
        "delay_model_ns": {"per_lut_level": per_lut, "per_carry_cell": per_carry, "register_overhead": overhead},
        "clock_period_ns": period,
        "lut_levels_one_clock_allows": int((period - overhead) // per_lut),
        "stages": stages,
        "deepest_stage": deepest,
        "fits_estimate": bool(deepest is None or deepest["estimate_ns"] <= period),
        "da4ml_latency_cutoff": ports.get("latency_cutoff"),
        "da4ml_note": "da4ml's own delay model placed the registers so that no stage exceeds latency_cutoff (its units)",
    }
