"""`python -m bench.scan`: train the trigger for several settings and seeds, score it as its firmware does.

Each point trains the trigger alone (no baselines) into a scratch build, scores the test splits with its exact
integer score (vae_kl: sum(mu^2); ae_reco: the QKeras model's own reconstruction-error output) and reports AUC and
efficiency at the configured rates for every signal, next to the random trigger, and the training time. Results:
build/bench/model_scan.json. This is how the default was chosen.

    python -m bench.scan --seeds 7 8 9 --point base= --point nomask=training.mask_padding=false
    python -m bench.scan --seeds 7 8 9 --point vae_kl= --point ae_reco=model.family=ae_reco
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

import numpy as np


def with_overrides(cfg, overrides: dict):
    from trigger.config import Config

    raw = cfg.model_dump(mode="json")
    for key, value in overrides.items():
        node = raw
        *path, last = key.split(".")
        for k in path:
            node = node[k]
        node[last] = value
    return Config.model_validate(raw)


def parse_point(text: str) -> tuple[str, dict]:
    """'name=key=value,key=value' -> (name, {key: yaml value})."""
    import yaml

    name, _, rest = text.partition("=")
    out = {}
    for item in filter(None, re.split(r",(?![^\[]*\])", rest)):  # commas inside [..] belong to a list
        k, _, v = item.partition("=")
        out[k.strip()] = yaml.safe_load(v)
    return name, out


def evaluate_point(cfg, build: Path, samples: dict) -> dict:
    from trigger.model.families import keras_score_type
    from trigger.model.train import load_model, load_scaling
    from trigger.physics.evaluate import score_performance
    from trigger.physics.scoring import software_scores, threshold_for_fraction

    model, scaling = load_model(build), load_scaling(build)
    st = keras_score_type(cfg)
    scores = {n: software_scores(model, scaling.apply(s.words).astype(np.float32), cfg.model.mu.type, st)[1] for n, s in samples.items()}
    bkg = [n for n in cfg.data.background]
    bs = np.concatenate([scores[n] for n in bkg])
    bw = np.concatenate([samples[n].weights for n in bkg])
    stream, rates = cfg.evaluation.stream_rate_khz, cfg.firmware.rates_khz
    thresholds = [threshold_for_fraction(bs, bw, r / stream) for r in rates]
    out = {}
    for sig in cfg.data.signals:
        out[sig], _ = score_performance(bs, bw, scores[sig], rates, thresholds)
        for r in rates:
            out[sig]["efficiency"][f"{r:g}"]["random"] = r / stream
    return out


def passes(signals: dict) -> bool:
    """The issue's bar: AUC > 0.5 and efficiency above the random trigger at every rate, every signal."""
    return all(v["auc"] > 0.5 and all(e["efficiency"] > e["random"] for e in v["efficiency"].values()) for v in signals.values())


def summarize(results: dict) -> str:
    """Markdown: per point, each signal's AUC and lowest-rate efficiency over seeds (min-max), and how
    many seeds pass the bar."""
    points: dict[str, list] = {}
    for key, r in results.items():
        points.setdefault(key.split("/")[0], []).append(r)
    sigs = list(next(iter(results.values()))["signals"])
    low = min(next(iter(results.values()))["signals"][sigs[0]]["efficiency"], key=float)
    head = "| point | seeds passing | " + " | ".join(f"{s} AUC / eff@{low} kHz %" for s in sigs) + " |"
    rows = [head, "|" + "---|" * (2 + len(sigs))]
    for name, rs in points.items():
        cells = []
        for s in sigs:
            auc = [r["signals"][s]["auc"] for r in rs]
            eff = [100 * r["signals"][s]["efficiency"][low]["efficiency"] for r in rs]
            cells.append(f"{min(auc):.2f}-{max(auc):.2f} / {min(eff):.1f}-{max(eff):.1f}")
        rows.append(f"| {name} | {sum(passes(r['signals']) for r in rs)}/{len(rs)} | " + " | ".join(cells) + " |")
    rand = 100 * next(iter(results.values()))["signals"][sigs[0]]["efficiency"][low]["random"]
    return "\n".join(rows) + f"\n\nRandom trigger at {low} kHz: {rand:.1f} %.\n"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.scan")
    ap.add_argument("--config", default=None)
    ap.add_argument("--point", action="append", default=[], help="NAME=key=value,key=value (dotted config keys)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[7])
    ap.add_argument("--out", default="build/bench/model_scan.json")
    a = ap.parse_args(argv)
    from trigger.config import load_config
    from trigger.data.dataset import load_sample
    from trigger.io_utils import atomic_write_text, write_json
    from trigger.model.train import train

    base = load_config(a.config)
    points = [parse_point(p) for p in a.point] or [("default", {})]
    samples = {n: load_sample(base, n, "test") for n in list(base.data.background) + list(base.data.signals)}
    out_path = Path(a.out)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name, overrides in points:
        for seed in a.seeds:
            cfg = with_overrides(base, {**overrides, "training.seed": seed})
            with tempfile.TemporaryDirectory() as tmp:
                hist = train(cfg, tmp, baselines=False)
                r = evaluate_point(cfg, Path(tmp), samples)
            key = f"{name}/seed{seed}"
            trigger_hist = next(iter(hist["history"].values()))  # the family's own model
            results[key] = {"overrides": overrides, "seed": seed, "family": cfg.model.family, "epochs_run": trigger_hist["epochs_run"],
                            "training_seconds": hist["seconds"], "signals": r}
            line = "  ".join(
                f"{s} {v['auc']:.3f} " + "/".join(f"{e['efficiency'] * 100:.1f}" for e in v["efficiency"].values()) for s, v in r.items()
            )
            print(f"SCAN {key:28s} {line}", flush=True)
            write_json(out_path, results)
    table = summarize(results)
    atomic_write_text(out_path.with_suffix(".md"), table)
    print(table)


if __name__ == "__main__":
    main()
