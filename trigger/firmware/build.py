"""`trigger firmware`: build/design.yaml -> build/hls (hls4ml project + C-sim) and build/rtl (da4ml Verilog)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from trigger.config import Config
from trigger.io_utils import file_sha256, tree_sha256, write_json
from trigger.progress import console


class LatencyBudgetError(RuntimeError):
    """The pipeline needs more clocks than firmware.latency_budget_ns allows."""


# compiled objects, and hls4ml's zipped copy of the Keras model (zip entries carry timestamps)
EXCLUDE_FROM_HASH = (".so", ".o", ".keras")


def _hashes(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_sha256(root).items() if not k.endswith(EXCLUDE_FROM_HASH) and "__pycache__" not in k}


# long: the firmware stage's steps in order (RTL, lint, HLS, C-sim, report), each one call
def build_firmware(cfg: Config, build: str | Path = "build", resources: bool = False, verilator_lint: bool = True,
                   after_rtl: Callable[[], None] | None = None) -> dict:
    """design.yaml -> the RTL (da4ml, linted), then the HLS project and its C simulation; after_rtl is called once
    the RTL is written."""
    from trigger.design import load_design
    from trigger.firmware.hls import compile_csim, fix_stamp, write_hls
    from trigger.firmware.rtl import trace, write_rtl
    from trigger.firmware.verilator import rtl_sha256

    build = Path(build)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    design = load_design(build / "design.yaml")
    console.print(f"  design {design.name!r} ({design.format}): {design.summary()}; {len(design.thresholds)} thresholds")

    # the RTL first: `trigger run` starts yosys on it (after_rtl) while the C simulation compiles
    t = time.perf_counter()
    console.print("  da4ml: tracing the network (the first call in a fresh venv compiles for ~100 s)")
    _, comb = trace(design, cfg.firmware.square_in)
    ports = write_rtl(cfg, design, build / "rtl", comb)
    timings["rtl"] = time.perf_counter() - t
    console.print(f"  da4ml: {ports['latency_cycles']} cycles = {ports['latency_ns']:.1f} ns at {cfg.firmware.clock_mhz:g} MHz")

    rtl_hash = rtl_sha256(build / "rtl", ports)
    if ports["latency_ns"] > cfg.firmware.latency_budget_ns + 1e-9:
        raise LatencyBudgetError(f"latency {ports['latency_cycles']} cycles = {ports['latency_ns']:.2f} ns at {cfg.firmware.clock_mhz:g} MHz "
                                 f"exceeds the budget of {cfg.firmware.latency_budget_ns:g} ns (firmware.latency_cutoff "
                                 f"{ports['latency_cutoff']}: raise it or the budget)")
    old_res = build / "reports" / "resources.json"
    if old_res.exists() and json.loads(old_res.read_text()).get("rtl_sha256") != rtl_hash:
        old_res.unlink()  # it describes other RTL; kept when the RTL bytes did not change
    if after_rtl is not None:  # before the lint: a lint failure still fails this stage
        after_rtl()
    lint = None
    if verilator_lint:
        from trigger.firmware.verilator import lint_rtl

        lint = lint_rtl(build / "rtl", ports)

    t = time.perf_counter()
    console.print("  hls4ml: writing the HLS project")
    write_hls(cfg, design, build / "hls")
    console.print("  hls: compiling the C simulation (g++)")
    fix_stamp(build / "hls", design)
    compile_csim(build / "hls")
    timings["hls"] = time.perf_counter() - t
    res = None
    if resources:
        t = time.perf_counter()
        res = write_resources(build, cfg)
        timings["resources"] = time.perf_counter() - t
    hashes = {
        "design_sha256": design.sha256(),
        "rtl_sha256": rtl_hash,
        "design.yaml": file_sha256(build / "design.yaml"),
        "hls": _hashes(build / "hls"),
        "rtl": _hashes(build / "rtl"),
    }
    summary = {
        "latency_cycles": ports["latency_cycles"],
        "latency_ns": ports["latency_ns"],
        "clock_mhz": cfg.firmware.clock_mhz,
        "ii": ports["initiation_interval"],
        "da4ml_cost": ports["da4ml_cost"],
        "verilator_lint": lint,
        "resources": res,
        "hashes": hashes,
        "timings": timings,
        "seconds": time.perf_counter() - t0,
    }
    write_json(build / "reports" / "firmware.json", summary)
    return summary


def write_resources(build: Path, cfg: Config | None = None) -> dict:
    """yosys synth_xilinx on build/rtl -> build/reports/resources.json (LUT/FF/CARRY/DSP next to da4ml's estimate)."""
    from trigger.config import FirmwareConfig
    from trigger.firmware.resources import synth_all

    build = Path(build)
    fw = cfg.firmware if cfg is not None else FirmwareConfig()
    ports = json.loads((build / "rtl" / "ports.json").read_text())
    t = time.perf_counter()
    from trigger.firmware.verilator import rtl_sha256

    from trigger.firmware.timing import TimingEstimateError, timing_estimate

    res = synth_all(build / "rtl", ports, fw.synth_families, fw.square_in, fw.lut_mapper, fw.synth_timeout_s)
    res["clock_mhz"] = ports["clock_mhz"]
    res["rtl_sha256"] = rtl_sha256(build / "rtl", ports)
    res["timing_estimate"] = est = timing_estimate(res.pop("stage_depths"), ports, fw.synth_families[0], fw.lut_mapper)
    res["da4ml_cost_estimate"] = ports["da4ml_cost"]
    res["seconds"] = time.perf_counter() - t
    write_json(build / "reports" / "resources.json", res)
    d = est["deepest_stage"]
    if not est["fits_estimate"]:
        msg = (f"timing estimate: {d['stage']} has {d['lut_levels']} LUT levels + {d['carry_cells']} carry cells, about "
               f"{d['estimate_ns']:.2f} ns against a {est['clock_period_ns']:.3f} ns clock ({ports['latency_cycles']} cycles at "
               f"{ports['clock_mhz']:g} MHz, budget {fw.latency_budget_ns:g} ns): too deep for the clock (an estimate; "
               "firmware.depth_check: warn makes this a warning)")
        if fw.depth_check == "error":
            raise TimingEstimateError(msg)
        console.print(f"[yellow]warning: {msg}[/]")
    return res
