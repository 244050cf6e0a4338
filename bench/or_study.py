"""`python -m bench.or_study`: two trained builds' triggers ORed at one total rate, offline.

Both models score the test split of every process (as `trigger evaluate` does); for each share of the rate given
to the first, both thresholds are lowered together until the OR's weighted background rate is the total; the
efficiency of the OR per signal, and of a normalised sum (each score over its own threshold at the total rate).
The rate is checked on the test background only. Results: build/bench/or_study.json.

    python -m bench.or_study --a configs/vae_kl.yaml BUILD_VAE --b configs/ae_reco.yaml BUILD_AE --total 1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def scores(cfg, build: Path, samples: dict) -> dict:
    from trigger.model.families import keras_score_type
    from trigger.model.train import load_model, load_scaling
    from trigger.physics.scoring import software_scores

    model, scaling = load_model(build), load_scaling(build)
    st = keras_score_type(cfg, build)
    return {n: software_scores(model, scaling.apply(s.words).astype(np.float32), cfg.model.mu.type, st)[1].astype(np.float64)
            for n, s in samples.items()}


def main(argv=None) -> None:
    from trigger.config import load_config
    from trigger.data.dataset import load_sample
    from trigger.io_utils import write_json
    from trigger.model.or_family import or_thresholds
    from trigger.physics.scoring import threshold_for_fraction

    ap = argparse.ArgumentParser(prog="python -m bench.or_study")
    ap.add_argument("--a", nargs=2, required=True, metavar=("CONFIG", "BUILD"))
    ap.add_argument("--b", nargs=2, required=True, metavar=("CONFIG", "BUILD"))
    ap.add_argument("--total", type=float, default=1.0, help="total rate in kHz")
    ap.add_argument("--out", type=Path, default=Path("build/bench/or_study.json"))
    a = ap.parse_args(argv)
    cfg_a, cfg_b = load_config(a.a[0]), load_config(a.b[0])
    samples = {n: load_sample(cfg_a, n, "test") for n in [*cfg_a.data.background, *cfg_a.data.signals]}
    sa, sb = scores(cfg_a, Path(a.a[1]), samples), scores(cfg_b, Path(a.b[1]), samples)
    bkg = list(cfg_a.data.background)
    w = np.concatenate([samples[n].weights for n in bkg])
    ba, bb = np.concatenate([sa[n] for n in bkg]), np.concatenate([sb[n] for n in bkg])
    stream = cfg_a.evaluation.stream_rate_khz
    frac = a.total / stream
    out = {"a": a.a, "b": a.b, "total_khz": a.total, "or": []}
    for share in np.round(np.linspace(0.1, 0.9, 17), 3):
        ta, tb = or_thresholds(ba, bb, w, float(share), frac)
        rate = w[(ba >= ta) | (bb >= tb)].sum() / w.sum() * stream
        eff = {s: float(((sa[s] >= ta) | (sb[s] >= tb)).mean()) for s in cfg_a.data.signals}
        out["or"].append({"share_a": float(share), "rate_khz": float(rate), "efficiency": eff})
        print(f"share {share:.2f}: rate {rate:.3f} kHz  " + "  ".join(f"{s} {100 * e:.1f} %" for s, e in eff.items()), flush=True)
    ta1, tb1 = threshold_for_fraction(ba, w, frac), threshold_for_fraction(bb, w, frac)
    t = threshold_for_fraction(ba / ta1 + bb / tb1, w, frac)
    out["normalised_sum"] = {s: float(((sa[s] / ta1 + sb[s] / tb1) >= t).mean()) for s in cfg_a.data.signals}
    print("normalised sum: " + "  ".join(f"{s} {100 * e:.1f} %" for s, e in out["normalised_sum"].items()))
    write_json(a.out, out)


if __name__ == "__main__":
    main()
