"""`python -m bench.train_memory --config C`: the peak memory of the training stages' set-up on a config (e.g. the
13.45M-event one `python -m bench.bigdata` writes): the samples and everything fitted before the first fit, then the
baselines' inputs, as in the train and baselines stages, without fitting (minutes instead of hours). Prints the
kernel's high-water mark (VmHWM) and the resident size after each step; `--out` writes them as JSON."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _mem() -> dict:
    """The peak as memory.json counts a stage's (the kernel's VmHWM), and the resident size now."""
    import psutil

    from trigger.flow.isolated import own_peak_rss_mib

    return {"peak_gib": round(own_peak_rss_mib() / 1024, 2), "resident_gib": round(psutil.Process().memory_info().rss / 2**30, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    from trigger.config import load_config
    from trigger.model import train as T

    cfg = load_config(args.config)
    t0 = time.perf_counter()
    T._tf_setup()
    steps = {}
    p = T.prepare(cfg, Path.cwd())
    steps["prepared"] = {**_mem(), "seconds": round(time.perf_counter() - t0, 1)}
    print("prepared", steps["prepared"], flush=True)
    with tempfile.TemporaryDirectory() as out:
        T._baselines(cfg, p, Path(out), parallel=False)  # inputs made; the fits would run at result()
    steps["baselines_set_up"] = {**_mem(), "seconds": round(time.perf_counter() - t0, 1)}
    print("baselines set up", steps["baselines_set_up"], flush=True)
    if args.out:
        from trigger.io_utils import write_json

        write_json(args.out, {"config": str(args.config), "train_events": len(p.tr.words), "val_events": len(p.va.words), "steps": steps})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
