"""`python -m bench.emulator_speed DESIGN.yaml ...`: the emulator's events/s on one core, per design file.

Random words over each input's full range; the float path (`Emulator.run`, best of --repeat runs) and the
int64 reference (`run_full`, once, on a tenth of the events). Writes one JSON (default
bench/results/emulator_speed.json). Set OMP_NUM_THREADS=1 (done here) so BLAS stays on one core.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy loads BLAS: one core
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from bench import rate  # noqa: E402

TARGET = 1_000_000  # events/s per core on AXOL1TL v5 (the graph-design issue)


def measure(path: Path, events: int, repeat: int) -> dict:
    from emulator import Emulator
    from trigger.design import load_design

    d = load_design(path)
    emu = Emulator(d)
    words = np.random.default_rng(0).integers(emu.word_min, emu.word_max + 1, size=(events, emu.n_inputs))
    emu.run(words[:10_000])  # first-call costs (tables, BLAS start-up) out of the timing
    fast = rate(emu.run, words, repeat)
    full = rate(emu.run_full, words[: max(events // 10, 1000)], 1)
    runner = getattr(emu, "fast", None)
    ops = {n.name: getattr(runner.node_ops[n.name], "name", "?") for n in d.nodes} if hasattr(runner, "node_ops") else {}
    return {"design": str(path), "format": getattr(d, "format", "trigger-design/1"), "nodes": len(getattr(d, "nodes", ())), "events": events,
            "events_per_s_one_core": round(fast), "int64_reference_events_per_s_one_core": round(full),
            "scaling_table": getattr(emu, "_table", None) is not None, "arithmetic_per_node": ops}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.emulator_speed")
    ap.add_argument("designs", nargs="+", type=Path)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("bench/results/emulator_speed.json"))
    a = ap.parse_args(argv)
    from trigger.io_utils import write_json

    rows = []
    for p in a.designs:
        r = measure(p, a.events, a.repeat)
        print(f"{p}: {r['events_per_s_one_core']:,} events/s (int64 reference {r['int64_reference_events_per_s_one_core']:,})")
        rows.append(r)
    write_json(a.out, {"machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                       "target_events_per_s_one_core_v5": TARGET, "results": rows})


if __name__ == "__main__":
    main()
