"""Build the RTL with Verilator (cached while the RTL is unchanged) and run the cocotb tests; writes sim.json."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from trigger.config import Config
from trigger.firmware.verilator import apply_verilator_env, rtl_sha256
from trigger.io_utils import write_json

REPO = Path(__file__).resolve().parent.parent


def prepare_events(cfg: Config, build: Path, events: int, root: Path | None = None, input_file: str | None = None) -> Path:
    """Mixed background + signal events, background alone (with weights), and the edge-case vectors. With an
    input file, every event of it stands for both (unit weights); an imported design with none gets random words."""
    from emulator import Emulator
    from trigger.verify.compare import has_model
    from trigger.verify.edge_words import edge_cases
    from trigger.data.dataset import load_background, load_sample
    from trigger.data.words import read_words

    emu = Emulator.load(build)
    rng = np.random.default_rng(7)
    if input_file:
        words = emu.check_words(read_words(input_file, cfg.units, emu.n_inputs)[0])
        mixed = background = words
        weights = np.ones(len(words))
    elif has_model(build):
        from trigger.data.stream import clear_words

        bkg = load_background(cfg, "test", root)
        clear_words()  # each file's words dropped once its split is taken
        sigs = []
        for s in cfg.data.signals:
            sigs.append(load_sample(cfg, s, "test", root).words)
            clear_words()
        pool = np.concatenate([bkg.words, *sigs])
        del sigs
        mixed = pool[rng.permutation(len(pool))[:events]]
        take = rng.permutation(len(bkg.words))[:events]
        background, weights = bkg.words[take], bkg.weights[take]
    else:
        mixed = background = rng.integers(emu.word_min, emu.word_max + 1, size=(events, emu.n_inputs))
        weights = np.ones(events)
    edges = edge_cases(emu, pool=np.concatenate([mixed, background]))
    edge = np.concatenate([v if k != "random_full_range" else v[:2000] for k, v in edges.items()])
    path = build / "sim" / "events.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, mixed=mixed, background=background, background_weights=weights, edges=edge)
    return path


def build_simulator(build: Path, rtl: Path, ports: dict) -> Path:
    """The Verilated simulator cocotb runs: cocotb's Verilator main linked against the RTL's shared model
    (trigger/firmware/verilator.py: compare's harness links the same one; the top level's ports public, not every
    internal net as cocotb's runner would make them)."""
    import cocotb_tools.config as cocotb_config

    from trigger.firmware.verilator import link_main, verilated_model

    model = verilated_model(rtl, ports, build / "sim" / "verilator")
    libs = cocotb_config.libs_dir
    main = Path(cocotb_config.share_dir) / "lib" / "verilator" / "verilator.cpp"
    return link_main(model, main, model / ports["top"], ("-Wl,-rpath," + str(libs), f"-L{libs}", "-lcocotbvpi_verilator"))


def run_sim(cfg: Config, build: str | Path = "build", events: int = 10000, root: Path | None = None, input_file: str | None = None) -> dict:
    from cocotb_tools.runner import get_runner

    build = Path(build).resolve()
    ports = json.loads((build / "rtl" / "ports.json").read_text())
    apply_verilator_env()
    t0 = time.perf_counter()
    sim_build = build_simulator(build, build / "rtl", ports).parent
    build_s = time.perf_counter() - t0
    ev_path = prepare_events(cfg, build, events, root, input_file)
    results = build / "sim" / "results"
    shutil.rmtree(results, ignore_errors=True)
    t1 = time.perf_counter()
    runner = get_runner("verilator")
    xml = runner.test(test_module="cocotb_tests.test_trigger", hdl_toplevel=ports["top"], hdl_toplevel_lang="verilog", build_dir=sim_build,
                      test_dir=build / "sim", results_xml=str(build / "sim" / "results.xml"),
                      extra_env={"TRIGGER_BUILD": str(build), "TRIGGER_SIM_EVENTS": str(ev_path), "TRIGGER_SIM_RESULTS": str(results),
                                 "TRIGGER_STREAM_KHZ": str(cfg.evaluation.stream_rate_khz),
                                 "TRIGGER_LATENCY_BUDGET_NS": str(cfg.firmware.latency_budget_ns),
                                 "PYTHONPATH": str(REPO)})
    test_s = time.perf_counter() - t1
    parts = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    failed = _failures(Path(xml))
    lat = parts.get("latency", {})
    out = {
        "rtl_sha256": rtl_sha256(build / "rtl", ports),
        "input": str(input_file) if input_file else None,
        "passed": not failed and len(parts) == 5,
        "failed_tests": failed,
        "tests_reporting": sorted(parts),
        "latency_cycles": lat.get("latency_cycles"),
        "clock_mhz": cfg.firmware.clock_mhz,
        "latency_ns": lat.get("latency_ns"),
        "latency_budget_ns": cfg.firmware.latency_budget_ns,
        "initiation_interval": lat.get("initiation_interval"),
        "bx_spacing_cycles": parts.get("bx_spacing", {}).get("spacing_cycles"),
        "events_simulated": sum(p.get("compared", 0) for p in parts.values()),
        "mismatches": sum(p.get("mismatches", 0) for p in parts.values()),
        "rates": parts.get("rates", {}).get("rates"),
        "sim_events_per_second": lat.get("sim_events_per_second"),
        "verilator_build_seconds": build_s,
        "test_seconds": test_s,
        "details": parts,
    }
    write_json(build / "reports" / "sim.json", out)
    return out


def _failures(xml: Path) -> list[str]:
    import xml.etree.ElementTree as ET

    if not xml.exists():
        return ["<no results.xml>"]
    failed = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name"))
    return failed
