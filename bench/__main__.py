"""`python -m bench`: emulator vs C-sim vs QKeras (same run, same events), RTL simulation, generator, flow stages."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path

import numpy as np

from bench import rate


def bench_implementations(cfg, build: Path, n: int) -> dict:
    """Events/s of the emulator (one core), the C simulation and QKeras predict on the same events."""
    from da4ml.cmvm.types import CombLogic

    from emulator import Emulator
    from trigger.firmware.hls import CSim
    from trigger.model.train import load_model, load_scaling

    emu = Emulator.load(build)
    rng = np.random.default_rng(0)
    words = rng.integers(emu.word_min, emu.word_max + 1, size=(n, emu.n_inputs))
    csim = CSim(build / "hls", emu.n_inputs, emu.latent, len(emu.thresholds))
    model, scaling = load_model(build), load_scaling(build)
    x = scaling.apply(words[:200_000]).astype(np.float32)
    comb = CombLogic.load(build / "rtl" / "model" / "comb.json")
    out = {
        "events": n,
        "emulator_events_per_s_one_core": rate(emu.run, words, repeat=5),
        "emulator_path": "full" if emu.fast is None else f"fast ({np.dtype(emu.fast.dtype).name})",
        "emulator_full_path_events_per_s_one_core": rate(emu.run_full, words[:200_000]),
        "csim_events_per_s": rate(csim.run, words[:200_000]),
        "qkeras_predict_events_per_s": rate(lambda a: model.predict(a, batch_size=8192, verbose=0), x, repeat=1),
        "da4ml_interpreter_events_per_s_one_thread": rate(lambda a: comb.predict(a.astype(np.float64), n_threads=1), words[:200_000], repeat=1),
        "target_emulator_events_per_s": 1_000_000,
    }
    out["emulator_over_csim"] = out["emulator_events_per_s_one_core"] / out["csim_events_per_s"]
    out["emulator_over_qkeras"] = out["emulator_events_per_s_one_core"] / out["qkeras_predict_events_per_s"]
    out["emulator_meets_target"] = out["emulator_events_per_s_one_core"] >= out["target_emulator_events_per_s"]
    return out


def bench_binder(cfg, build: Path, n: int) -> dict:
    """da4ml's Verilator binder on the generated core: events/s and agreement with the emulator.

    Builds in a scratch copy (a Verilator compile of the whole core: minutes), never in build/rtl.
    """
    import tempfile

    from da4ml.cmvm.types import CombLogic
    from da4ml.codegen import VerilogModel

    from emulator import Emulator
    from trigger.verify.compare import _ir_width, rtl_outputs
    from trigger.firmware.rtl import TOP, choose_cutoff
    from trigger.firmware.verilator import verilator_env

    emu = Emulator.load(build)
    comb = CombLogic.load(build / "rtl" / "model" / "comb.json")
    words = np.random.default_rng(1).integers(emu.word_min, emu.word_max + 1, size=(n, emu.n_inputs))
    fw = cfg.firmware
    with tempfile.TemporaryDirectory() as tmp:
        model = VerilogModel(comb, TOP, Path(tmp) / "rtl", latency_cutoff=choose_cutoff(comb, cfg), clock_period=fw.clock_period_ns,
                             print_latency=False, part_name=fw.part)
        t = time.perf_counter()
        with _environ(verilator_env()):  # da4ml's public compile() takes no environment (upstream gap)
            model.compile(nproc=os.cpu_count())
        build_s = time.perf_counter() - t
        per_s = rate(lambda a: model.predict(a.astype(np.float64), n_threads=1), words, repeat=2)
        o = model.predict(words * np.array([i.type.lsb for i in emu.design.inputs]), n_threads=1)
    out = {"da4ml_verilator_binder_events_per_s_one_thread": per_s, "binder_build_seconds": build_s}
    if _ir_width(comb) > 32:  # as compare: da4ml 0.5.2's binder and C++ interpreter are not exact past 32 bits
        return out | {"binder_events_checked": 0, "binder_note": f"a value of {_ir_width(comb)} bits: the binder's outputs are "
                      "not compared (compare's Verilog leg, our own Verilator harness, checks this RTL)"}
    got = rtl_outputs(o, emu)
    mu, score, bits = emu.run(words)
    differ = (got.mu != mu).any(axis=1) | (got.score != score) | (got.bits != bits).any(axis=1)
    return out | {"binder_events_checked": n, "binder_vs_emulator_mismatching_events": int(differ.sum())}


@contextlib.contextmanager
def _environ(env: dict):
    old = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(old)


def bench_generator(events: int) -> dict:
    from trigger.data.generate import plan_chunks, run_chunk
    from trigger.data.processes import BUILTIN

    out = {}
    for name in BUILTIN:
        n = max(events // 10, 20) if name == "QCD" else events
        job = plan_chunks(name, BUILTIN[name], n, 99, n, name in ("W", "Z", "ttbar", "QCD", "Ato4l", "LQ"))[0]
        r = run_chunk(job)
        out[name] = {"accepted": len(r.particles), "generated": r.trials, "seconds": r.seconds,
                     "accepted_events_per_s_per_core": len(r.particles) / r.seconds,
                     "generated_events_per_s_per_core": r.trials / r.seconds}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--config", default=None)
    ap.add_argument("--build", default="build")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--gen-events", type=int, default=300)
    ap.add_argument("--no-binder", dest="binder", action="store_false", help="skip the Verilator binder (a build of minutes)")
    a = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from trigger.config import load_config
    from trigger.io_utils import write_json

    cfg = load_config(a.config)
    build = Path(a.build)
    out = build / "bench"
    if not (build / "rtl" / "ports.json").exists():
        raise SystemExit(f"{build}/rtl/ports.json not found: run `make firmware` first")
    impl = bench_implementations(cfg, build, a.events)
    write_json(out / "implementations.json", impl)
    print(json.dumps(impl, indent=1))
    sim = build / "reports" / "sim.json"
    rtl = {"da4ml_interpreter_events_per_s_one_thread": impl["da4ml_interpreter_events_per_s_one_thread"]}
    if sim.exists():
        s = json.loads(sim.read_text())
        rtl["cocotb_verilator_events_per_s"] = s.get("sim_events_per_second")
    else:
        rtl["cocotb_verilator_events_per_s"] = None
        rtl["note"] = "run `make sim` for the cocotb number"
    if a.binder:
        rtl.update(bench_binder(cfg, build, 200_000))
    write_json(out / "rtl_sim.json", rtl)
    print(json.dumps(rtl, indent=1))
    gen = bench_generator(a.gen_events)
    write_json(out / "generator.json", gen)
    print(json.dumps(gen, indent=1))
    timing = build / "reports" / "timing.json"
    write_json(out / "flow_stages.json", json.loads(timing.read_text()) if timing.exists() else {"note": "run `make firmware` first"})


if __name__ == "__main__":
    main()
