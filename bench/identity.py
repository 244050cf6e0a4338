"""`python -m bench.identity OLD_BUILD NEW_BUILD --out RESULT.json`: are two builds' numbers the same? For the
streaming check: the same config and events through the code before streaming and the code after.

Compares the trained weights, design.yaml, the thresholds and every number of physics.json (keys only one side
has are listed, not compared), and for each differing number how far apart it is.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import numpy as np

MODELS = ("trigger_model", "vae_encoder", "vae_decoder", "ae_encoder", "ae_decoder", "axol1tl_v1_encoder")
SKIP = {"seconds"}


def diff_numbers(a, b, path="") -> tuple[list[dict], list[str]]:
    """(differing leaves with their values, keys present on one side only)."""
    diffs, only = [], []
    if isinstance(a, dict):
        for k in a.keys() | b.keys():
            if k in SKIP:
                continue
            if k not in a or k not in b:
                only.append(f"{path}/{k} only in {'new' if k in b else 'old'}")
                continue
            d, o = diff_numbers(a[k], b[k], f"{path}/{k}")
            diffs += d
            only += o
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d, o = diff_numbers(x, y, f"{path}[{i}]")
            diffs += d
            only += o
    elif a != b:
        entry = {"key": path, "old": a, "new": b}
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            entry["abs_diff"] = abs(a - b)
        diffs.append(entry)
    return diffs, only


def same_weights(a: Path, b: Path) -> bool:
    with h5py.File(a) as fa, h5py.File(b) as fb:
        names = []
        fa["model_weights"].visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        return bool(names) and all(n in fb["model_weights"] and np.array_equal(fa["model_weights"][n][()], fb["model_weights"][n][()])
                                   for n in names)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    phys = [json.loads((b / "reports" / "physics.json").read_text()) for b in (args.old, args.new)]
    diffs, only = diff_numbers(*phys)
    trig = [d for d in diffs if "/encoder_mu2/" in d["key"] or d["key"].startswith("/thresholds")]
    result = {
        "old": str(args.old), "new": str(args.new),
        "model_weights_identical": {m: same_weights(args.old / "model" / f"{m}.h5", args.new / "model" / f"{m}.h5")
                                    for m in MODELS if (args.old / "model" / f"{m}.h5").exists()},
        "design_yaml_identical": (args.old / "design.yaml").read_bytes() == (args.new / "design.yaml").read_bytes(),
        "physics_numbers_differing": len(diffs),
        "trigger_numbers_differing": len(trig),
        "max_abs_diff": max((d.get("abs_diff", 0) for d in diffs), default=0),
        "differences": diffs,
        "keys_on_one_side": sorted(only),
    }
    from trigger.io_utils import write_json

    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "differences"}, indent=1))


if __name__ == "__main__":
    main()
