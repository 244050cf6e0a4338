"""`python -m bench.bigdata`: ADC2021-layout files of any size, resampled from the shipped data, for the scale
benchmark (so anyone can reproduce it without the public files).

The background file is unweighted, like ADC2021's: each event is drawn from the shipped background processes
with probability proportional to its mix weight. Every drawn event is smeared (pT by a seeded Gaussian of
relative width --smear, eta and phi by --smear x 0.1 absolute, within the detector's reach) so that the file
is not a handful of repeated events. Written chunk by chunk, atomically; a config pointing at the files is
written beside them.

  python -m bench.bigdata --out /data/big --background-events 13451915 --signal-events 400000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import h5py
import numpy as np

from trigger.data.layout import CLASS_NAMES, N_OBJECTS, PARTICLE_NAMES

CHUNK = 262_144
ETA_REACH = {"met": 0.0, "egamma": 3.0, "muon": 2.4, "jet": 5.0}


def _pool(paths: dict[str, Path], fractions: dict[str, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Every event of the given files (float32) and each one's probability of being drawn."""
    from trigger.data.stream import iter_chunks

    parts, probs = [], []
    for name, path in paths.items():
        chunks = [(c.astype(np.float32), w) for _, c, w in iter_chunks(path)]
        p, w = np.concatenate([c for c, _ in chunks]), np.concatenate([w for _, w in chunks])
        parts.append(p)
        probs.append(w / w.sum() * (fractions[name] if fractions else 1.0 / len(paths)))
    prob = np.concatenate(probs)
    return np.concatenate(parts), prob / prob.sum()


def smear(p: np.ndarray, rng: np.random.Generator, width: float) -> np.ndarray:
    """pT x (1 + width N(0,1)) (>= 0), eta and phi + 0.1 width N(0,1); empty slots stay empty, MET has no eta."""
    from trigger.data.layout import SLOTS

    out = p.copy()
    present = out[:, :, 0] > 0
    out[:, :, 0] *= np.maximum(1 + width * rng.standard_normal(present.shape), 0).astype(np.float32)
    for name, sl in SLOTS.items():
        eta = out[:, sl, 1] + np.float32(0.1 * width) * rng.standard_normal(out[:, sl, 1].shape).astype(np.float32)
        out[:, sl, 1] = np.clip(eta, -ETA_REACH[name], ETA_REACH[name])
    phi = out[:, :, 2] + np.float32(0.1 * width) * rng.standard_normal(present.shape).astype(np.float32)
    out[:, :, 2] = (phi + np.pi) % (2 * np.pi) - np.pi
    out[:, :, :3] *= present[:, :, None]
    return out


def write_resampled(out: Path, pool: np.ndarray, prob: np.ndarray, n: int, seed: int, width: float, **attrs) -> None:
    """n events drawn with replacement from pool by prob, smeared, written chunk by chunk (atomically)."""
    from trigger.io_utils import atomic_path
    from trigger.progress import bar

    rng = np.random.default_rng(seed)
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            ds = f.create_dataset("Particles", (n, N_OBJECTS, 4), np.float32, chunks=(max(1, min(n, 4096)), N_OBJECTS, 4))
            f.create_dataset("Particles_Names", data=np.array(PARTICLE_NAMES))
            f.create_dataset("Particles_Classes", data=np.array(CLASS_NAMES))
            with bar(f"writing {out.name}", n) as advance:
                for lo in range(0, n, CHUNK):
                    hi = min(lo + CHUNK, n)
                    ds[lo:hi] = smear(pool[rng.choice(len(pool), size=hi - lo, p=prob)], rng, width)
                    advance(hi - lo)
            for k, v in attrs.items():
                f.attrs[k] = v


def main(argv=None):
    from trigger.config import load_config, save_config

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="directory for background.h5, the signals and config.yaml")
    ap.add_argument("--background-events", type=int, default=13_451_915, help="ADC2021's background has 13,451,915")
    ap.add_argument("--signal-events", type=int, nargs="+", default=[100_000, 340_000, 690_000, 700_000],
                    help="events of each signal, in the config's order (one value: the same for all)")
    ap.add_argument("--config", type=Path, default=None, help="the config whose data it resamples (default configs/default.yaml)")
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--smear", type=float, default=0.02)
    ap.add_argument("--max-training-events", type=int, default=300_000, help="training.max_events of the written config")
    args = ap.parse_args(argv)

    from trigger.data.dataset import process_file
    from trigger.flow.pipeline import ROOT

    base = load_config(args.config)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bkg = {n: process_file(base.data, n, ROOT) for n in base.data.background}
    pool, prob = _pool(bkg, {n: p.fraction for n, p in base.data.background.items()})
    write_resampled(args.out / "background.h5", pool, prob, args.background_events, args.seed, args.smear,
                    source="bench.bigdata: shipped background resampled by mix weight, smeared", lepton_filter=True)
    del pool, prob
    sig_events = args.signal_events * len(base.data.signals) if len(args.signal_events) == 1 else args.signal_events
    if len(sig_events) != len(base.data.signals):
        ap.error(f"--signal-events: give 1 or {len(base.data.signals)} values")
    signals = {}
    for k, (name, spec) in enumerate(base.data.signals.items()):
        pool, prob = _pool({name: process_file(base.data, name, ROOT)}, None)
        write_resampled(args.out / f"{name}.h5", pool, prob, sig_events[k], args.seed + 1 + k, args.smear,
                        source=f"bench.bigdata: shipped {name} resampled, smeared", lepton_filter=base.data.lepton_filter(name))
        signals[name] = {"events": sig_events[k], "lepton_filter": base.data.lepton_filter(name)}
    raw = base.model_dump(mode="json")
    raw["data"]["dir"] = str(args.out.resolve())
    raw["data"]["background"] = {"background": {"fraction": 1.0, "events": args.background_events}}
    raw["data"]["signals"] = signals
    raw["training"]["max_events"] = args.max_training_events
    # the benchmark measures the flow at scale: a stage too deep for the clock by the logic-depth estimate is
    # reported (resources.json, a warning) instead of stopping the run
    raw["firmware"]["depth_check"] = "warn"
    from trigger.config import Config

    save_config(Config.model_validate(raw), args.out / "config.yaml")
    print(f"wrote {args.background_events} background and {sum(sig_events)} signal events to {args.out} "
          f"in {time.perf_counter() - t0:.0f} s; config: {args.out / 'config.yaml'}")


if __name__ == "__main__":
    main()
