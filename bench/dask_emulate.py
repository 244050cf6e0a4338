"""`python -m bench.dask_emulate`: `trigger emulate` in one process and on a Dask LocalCluster over the same
file; compares every output dataset element by element and writes the timings as JSON.

  python -m bench.dask_emulate --build build --input /data/big/background.h5 --out bench/results/dask_emulate.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import h5py
import numpy as np

DATASETS = ("words", "mu", "score", "trigger_bits")


def same_outputs(a: Path, b: Path, chunk: int = 1_000_000) -> dict:
    """Per dataset: equal shape and every element equal (read chunk by chunk)."""
    out = {}
    with h5py.File(a) as fa, h5py.File(b) as fb:
        for k in DATASETS:
            da, db = fa[k], fb[k]
            equal = da.shape == db.shape and all(np.array_equal(da[i : i + chunk], db[i : i + chunk]) for i in range(0, da.shape[0], chunk))
            out[k] = {"shape": list(da.shape), "identical": bool(equal)}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, required=True)
    ap.add_argument("--input", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scratch", type=Path, default=None, help="where the two output files go (default: beside --out)")
    args = ap.parse_args(argv)

    from dask.distributed import Client, LocalCluster

    from trigger.config import load_config
    from trigger.verify.emulate import emulate_file
    from trigger.io_utils import write_json

    cfg = load_config(args.build / "config.yaml")
    scratch = args.scratch or args.out.parent
    scratch.mkdir(parents=True, exist_ok=True)
    one, dist = scratch / "emulate_one.h5", scratch / "emulate_dask.h5"
    t = time.perf_counter()
    n = emulate_file(args.build, args.input, one, cfg.units)
    t_one = time.perf_counter() - t
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as lc, Client(lc) as client:
        t = time.perf_counter()
        n2 = emulate_file(args.build, args.input, dist, cfg.units, scheduler=client)
        t_dask = time.perf_counter() - t
    cmp = same_outputs(one, dist)
    result = {"input": str(args.input), "events": n, "events_dask": n2, "single_process_seconds": round(t_one, 1),
              "dask_local_cluster_seconds": round(t_dask, 1), "dask_workers": args.workers, "datasets": cmp,
              "identical": n == n2 and all(d["identical"] for d in cmp.values())}
    write_json(args.out, result)
    print(json.dumps(result, indent=1))
    one.unlink()
    dist.unlink()
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
