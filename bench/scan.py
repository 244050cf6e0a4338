"""`python -m bench.scan`: train the trigger for several settings and seeds, score it as its firmware does.

Each point trains the trigger alone (no baselines) into a scratch build, scores the test splits with its exact
integer score (vae_kl: sum(mu^2); ae_reco: the QKeras model's own reconstruction-error output) and reports AUC and
efficiency at the configured rates for every signal, next to the random trigger, the thresholds' rates on the
independent validation split, da4ml's LUT estimate of the point's design and the training time, with the data they
were measured on (`context`: physics.json's `families` section shows only runs on its own build's data). Results:
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


def evaluate_point(cfg, build: Path, samples: dict, val: dict) -> tuple[dict, dict, float]:
    """Per signal AUC and efficiencies at the test background's thresholds; those thresholds' rates on the
    independent validation split [kHz]; da4ml's LUT estimate of the point's design (its RTL cost model)."""
    from trigger.model.families import keras_score_type
    from trigger.model.train import load_model, load_scaling
    from trigger.physics.evaluate import score_performance
    from trigger.physics.scoring import software_scores, threshold_for_fraction, weighted_pass_fraction

    model, scaling = load_model(build), load_scaling(build)
    st = keras_score_type(cfg, build)

    def score(s):
        return software_scores(model, scaling.apply(s.words).astype(np.float32), cfg.model.mu.type, st)[1]

    scores = {n: score(s) for n, s in samples.items()}
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
    vs = np.concatenate([score(val[n]) for n in bkg])
    vw = np.concatenate([val[n].weights for n in bkg])
    independent = {f"{r:g}": weighted_pass_fraction(vs, vw, t) * stream for r, t in zip(rates, thresholds)}
    return out, independent, design_cost(cfg, build, rates, thresholds)


def design_cost(cfg, build: Path, rates, thresholds) -> float:
    """da4ml's cost estimate (about one LUT per adder bit) of the point's design, traced as `trigger firmware`
    traces it with `square_in: lut` (no DSP anywhere, as the deployed firmware's LUT count is compared): no
    synthesis, so a scan can compare the size of many points."""
    from trigger.firmware.rtl import trace
    from trigger.model.to_design import trained_design

    ths = [{"rate_khz": float(r), "threshold_int": int(t)} for r, t in zip(rates, thresholds)]
    _, comb = trace(trained_design(cfg, build, ths), "lut")
    return float(comb.cost)


def passes(signals: dict) -> bool:
    """The issue's bar: AUC > 0.5 and efficiency above the random trigger at every rate, every signal."""
    return all(v["auc"] > 0.5 and all(e["efficiency"] > e["random"] for e in v["efficiency"].values()) for v in signals.values())


def summarize(results: dict) -> str:
    """Markdown: per point, each signal's AUC and lowest-rate efficiency over seeds (min-max), the independent-split
    rate and da4ml's LUT estimate, and how many seeds pass the bar."""
    from trigger.physics.families import by_point, point_summary

    sigs = list(next(iter(results.values()))["signals"])
    low = min(next(iter(results.values()))["signals"][sigs[0]]["efficiency"], key=float)
    head = "| point | seeds passing | " + " | ".join(f"{s} AUC / eff@{low} kHz %" for s in sigs) + f" | val rate @{low} kHz | da4ml LUT est. |"
    rows = [head, "|" + "---|" * (4 + len(sigs))]
    for name, rs in by_point(results).items():
        p = point_summary(rs)
        cells = [f"{p['auc'][s][0]:.2f}-{p['auc'][s][1]:.2f} / {100 * p['efficiency'][low][s][0]:.1f}-{100 * p['efficiency'][low][s][1]:.1f}"
                 for s in sigs]
        val, cost = p.get("independent_rate_khz", {}).get(low), p.get("da4ml_lut_estimate")
        cells.append(f"{val[0]:.2f}-{val[1]:.2f}" if val else "not measured")
        cells.append(f"{cost[0]:.0f}-{cost[1]:.0f}" if cost else "not measured")
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
    from trigger.physics.families import scan_context

    base = load_config(a.config)
    points = [parse_point(p) for p in a.point] or [("default", {})]
    samples = {n: load_sample(base, n, "test") for n in list(base.data.background) + list(base.data.signals)}
    val = {n: load_sample(base, n, "val") for n in base.data.background}
    out_path = Path(a.out)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name, overrides in points:
        for seed in a.seeds:
            cfg = with_overrides(base, {**overrides, "training.seed": seed})
            with tempfile.TemporaryDirectory() as tmp:
                hist = train(cfg, tmp, baselines=False)
                r, independent, cost = evaluate_point(cfg, Path(tmp), samples, val)
            key = f"{name}/seed{seed}"
            h = hist["history"]
            epochs = ({f: next(iter(ph.values()))["epochs_run"] for f, ph in h["parts"].items()} if "parts" in h  # the or family's
                      else next(iter(h.values()))["epochs_run"])  # the family's own model
            results[key] = {"overrides": overrides, "seed": seed, "family": cfg.model.family, "epochs_run": epochs,
                            "training_seconds": hist["seconds"], "signals": r, "context": scan_context(cfg),
                            "independent_rate_khz": independent, "da4ml_cost": cost}
            line = "  ".join(
                f"{s} {v['auc']:.3f} " + "/".join(f"{e['efficiency'] * 100:.1f}" for e in v["efficiency"].values()) for s, v in r.items()
            )
            print(f"SCAN {key:28s} {line}  val kHz {'/'.join(f'{v:.2f}' for v in independent.values())}  cost {cost:.0f}", flush=True)
            write_json(out_path, results)
    table = summarize(results)
    atomic_write_text(out_path.with_suffix(".md"), table)
    print(table)


if __name__ == "__main__":
    main()
