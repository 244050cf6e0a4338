"""`python -m bench.scale`: the whole `make firmware` on a config (e.g. one written by `python -m bench.bigdata`),
timed stage by stage, with the peak memory of the whole process tree (summed RSS and summed PSS) sampled every
0.5 s. Results as
JSON: wall time and events/s of each stage, the events each rests on, the peak memory.

  python -m bench.scale --config /data/big/config.yaml --build /data/big/build --out bench/results/scale_13M.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def tree_memory(proc: psutil.Process) -> list[dict]:
    """Each process of the tree now: pid, what it runs, resident (RSS) and proportional (PSS) bytes.

    Summed RSS counts pages that processes share (a forked worker, shared libraries) once per process: an
    upper bound. Summed PSS splits each shared page among its sharers: what the tree really holds."""
    rows = []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            cmd = " ".join(p.cmdline())[:160]
            try:
                full = p.memory_full_info()
                rss, pss = full.rss, getattr(full, "pss", None)
            except psutil.AccessDenied:
                rss, pss = p.memory_info().rss, None
        except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
            continue
        rows.append({"pid": p.pid, "cmd": cmd, "rss": rss, "pss": pss})
    return rows


def _gib(b) -> float | None:
    return None if b is None else round(b / 2**30, 3)


def run_measured(cmd: list[str], log: Path, interval: float = 0.5, timeline_every: float = 5.0) -> dict:
    """Run cmd, its output to log; wall time, the peaks of the tree's summed RSS and summed PSS, the processes
    at the RSS peak, and a timeline of both sums."""
    t0 = time.perf_counter()
    with open(log, "w") as f:
        # this checkout's code runs, whatever checkout the venv was installed from
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    ps = psutil.Process(proc.pid)
    peak = {"rss": 0, "rss_at_s": 0.0, "pss": 0, "pss_at_s": 0.0, "processes": []}
    timeline: list[list[float]] = []
    done = threading.Event()

    def sample():
        last = -timeline_every
        while not done.is_set():
            try:
                rows = tree_memory(ps)
            except psutil.NoSuchProcess:
                break
            t = round(time.perf_counter() - t0, 1)
            rss = sum(r["rss"] for r in rows)
            pss = sum(r["pss"] for r in rows) if rows and all(r["pss"] is not None for r in rows) else None
            if rss > peak["rss"]:
                top = sorted(rows, key=lambda r: -r["rss"])[:6]
                peak.update(rss=rss, rss_at_s=t, processes=[{"cmd": r["cmd"], "rss_gib": _gib(r["rss"]),
                                                             "pss_gib": _gib(r["pss"])} for r in top])
            if pss is not None and pss > peak["pss"]:
                peak.update(pss=pss, pss_at_s=t)
            if t - last >= timeline_every:
                timeline.append([t, _gib(rss), _gib(pss)])
                last = t
            done.wait(interval)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = proc.wait()
    done.set()
    th.join()
    return {"returncode": rc, "wall_seconds": round(time.perf_counter() - t0, 1),
            "peak_rss_gib": _gib(peak["rss"]), "peak_rss_at_seconds": peak["rss_at_s"],
            "peak_pss_gib": _gib(peak["pss"]) if peak["pss"] else None, "peak_pss_at_seconds": peak["pss_at_s"],
            "memory_note": "rss: resident bytes summed over the process tree (shared pages counted once per process, "
                           "an upper bound); pss: proportional set size summed (shared pages split among sharers)",
            "processes_at_rss_peak": peak["processes"], "sampling_interval_s": interval,
            "timeline_s_rss_pss_gib": timeline}


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
    ap.add_argument("--command", default=None,
                    help="measure this command instead of make firmware (e.g. one stage: 'trigger compare --build B')")
    args = ap.parse_args(argv)
    args.build.mkdir(parents=True, exist_ok=True)
    cmd = ["make", "firmware", f"CONFIG={args.config.resolve()}", f"BUILD={args.build.resolve()}"]
    if args.command:
        cmd = shlex.split(args.command)
    m = run_measured(cmd, args.build / "bench_scale.log")
    result = {"label": args.label, "command": " ".join(cmd), "cpus": os.cpu_count(),
              "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), **m}
    if m["returncode"] == 0 and not args.command:
        timing = json.loads((args.build / "reports" / "timing.json").read_text())
        events = stage_events(args.build)
        result["stages"] = {k: {"seconds": v, "events": events.get(k),
                                "events_per_second": round(events[k] / v) if events.get(k) and v else None}
                            for k, v in timing.items()}
        result["events"] = events["detail"]
        # each stage's own peak and CPU as the kernel counted them (memory.json), beside the sampled sums above
        result["kernel_memory"] = json.loads((args.build / "reports" / "memory.json").read_text())
    from trigger.io_utils import write_json

    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("events", "timeline_s_rss_pss_gib")}, indent=1))
    return 0 if m["returncode"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
