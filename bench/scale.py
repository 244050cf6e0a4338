"""`python -m bench.scale`: the whole `make firmware` on a config (e.g. one written by `python -m bench.bigdata`),
timed stage by stage, with the peak resident memory of the whole process tree sampled every 0.5 s. Results as
JSON: wall time and events/s of each stage, the events each rests on, the peak memory.

  python -m bench.scale --config /data/big/config.yaml --build /data/big/build --out bench/results/scale_13M.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants now."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_measured(cmd: list[str], log: Path, interval: float = 0.5) -> dict:
    """Run cmd, its output to log; peak summed RSS of its process tree, and wall time."""
    t0 = time.perf_counter()
    with open(log, "w") as f:
        # this checkout's code runs, whatever checkout the venv was installed from
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    ps = psutil.Process(proc.pid)
    peak = {"bytes": 0, "at_s": 0.0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                r = tree_rss(ps)
            except psutil.NoSuchProcess:
                break
            if r > peak["bytes"]:
                peak.update(bytes=r, at_s=round(time.perf_counter() - t0, 1))
            done.wait(interval)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = proc.wait()
    done.set()
    th.join()
    return {"returncode": rc, "wall_seconds": round(time.perf_counter() - t0, 1), "peak_rss_gib": round(peak["bytes"] / 2**30, 3),
            "peak_rss_at_seconds": peak["at_s"], "sampling_interval_s": interval}


def stage_events(build: Path) -> dict:
    """The events each stage went through, from its own reports."""
    rep = build / "reports"
    data = json.loads((rep / "data.json").read_text())
    phys = json.loads((rep / "physics.json").read_text())
    hist = json.loads((build / "model" / "history.json").read_text())
    bits = json.loads((rep / "bit_accuracy.json").read_text())
    sim = json.loads((rep / "sim.json").read_text()) if (rep / "sim.json").exists() else {}
    every = sum(d["events"] for d in data.values())
    signal_test = sum(s["events"] for s in phys["signals"].values())
    return {
        "data": every,  # every event of every file read and converted once
        # read: every file's events (one pass for train, one for val); trained on the sample
        "train": hist["events"]["train"],
        # every background event's test and val, every signal's test events scored by all models (one pass over every file)
        "evaluate": every,
        "compare": bits["events"],
        "sim": sim.get("events_simulated"),
        "detail": {"files": {k: v["events"] for k, v in data.items()}, "training_sample": hist["events"],
                   "training_sampled_from": hist.get("sampled_from"), "background_test": phys["background_test_events"],
                   "background_val": phys.get("background_val_events"), "signal_test": signal_test,
                   "compare_every_event_legs": ["emulator", "verilog"], "compare_sample_events": bits.get("sample_events")},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--build", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="JSON results")
    ap.add_argument("--label", default=None)
    args = ap.parse_args(argv)
    args.build.mkdir(parents=True, exist_ok=True)
    cmd = ["make", "firmware", f"CONFIG={args.config.resolve()}", f"BUILD={args.build.resolve()}"]
    m = run_measured(cmd, args.build / "bench_scale.log")
    result = {"label": args.label, "command": " ".join(cmd), "cpus": os.cpu_count(),
              "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), **m}
    if m["returncode"] == 0:
        timing = json.loads((args.build / "reports" / "timing.json").read_text())
        events = stage_events(args.build)
        result["stages"] = {k: {"seconds": v, "events": events.get(k),
                                "events_per_second": round(events[k] / v) if events.get(k) and v else None}
                            for k, v in timing.items()}
        result["events"] = events["detail"]
    from trigger.io_utils import write_json

    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "events"}, indent=1))
    return 0 if m["returncode"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
