"""The dataset a run uses: one file per process, a fixed split rule, the background mix as weights."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigger.config import Config, DataConfig
from trigger.data.io import DataError, EventFile, read_events
from trigger.data.units import SaturationCount, to_words

SPLITS = ("train", "val", "test")


def process_file(data: DataConfig, name: str, root: Path | None = None) -> Path:
    base = Path(data.dir)
    if not base.is_absolute() and root is not None:
        base = root / base
    return base / f"{name}.h5"


def split_mask(n: int, data: DataConfig, split: str) -> np.ndarray:
    """Event i belongs to a split by i mod (train + val + test): the first `train` residues, then val, then test."""
    s = data.split
    r = np.arange(n) % (s.train + s.val + s.test)
    lo = {"train": 0, "val": s.train, "test": s.train + s.val}[split]
    hi = lo + getattr(s, split)
    return (r >= lo) & (r < hi)


@dataclass
class Sample:
    """Events of one process and split, as hardware words, with their weights."""

    name: str
    words: np.ndarray  # (N, 57) int64
    weights: np.ndarray  # (N,) float64, background: normalised so each process sums to its mix fraction
    saturation: SaturationCount
    lepton_filter: bool | None


def load_sample(cfg: Config, name: str, split: str, root: Path | None = None, path: Path | None = None) -> Sample:
    path = path or process_file(cfg.data, name, root)
    ef: EventFile = read_events(path)
    mask = split_mask(len(ef), cfg.data, split)
    if not mask.any():
        raise DataError(f"{path}: no events in split {split!r} ({len(ef)} events)")
    sat = SaturationCount()
    words = to_words(ef.particles[mask], cfg.units, sat)
    w = ef.weights[mask]
    if name in cfg.data.background:
        total = ef.weights.sum()
        if total <= 0:
            raise DataError(f"{path}: field 'weights' sums to zero")
        # the share of the split, scaled so the whole file carries the process's fraction of the mix
        w = w / total * cfg.data.background[name].fraction * len(ef) / mask.sum()
    lf = ef.attrs.get("lepton_filter")
    return Sample(name, words, w, sat, None if lf is None else bool(lf))


def load_background(cfg: Config, split: str, root: Path | None = None) -> Sample:
    parts = [load_sample(cfg, name, split, root) for name in cfg.data.background]
    sat = SaturationCount()
    for p in parts:
        for k, v in p.saturation.counts.items():
            sat.add(k, v)
    return Sample(
        "background",
        np.concatenate([p.words for p in parts]),
        np.concatenate([p.weights for p in parts]),
        sat,
        True,
    )


def build_default(cfg: Config, n_jobs: int | None = None, scheduler=None, only: list[str] | None = None, root: Path | None = None) -> list[dict]:
    """Generate every process of the config into data.dir (what ships as the default data)."""
    from trigger.data.generate import generate

    out = []
    for name, spec in cfg.data.processes().items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        info = generate(
            name,
            spec.events,
            cfg.data.seed,
            str(process_file(cfg.data, name, root)),
            custom_settings=spec.settings,
            lepton_filter=cfg.data.lepton_filter(name),
            chunk_size=cfg.data.chunk_size,
            n_jobs=n_jobs,
            scheduler=scheduler,
        )
        info["wall_seconds"] = time.perf_counter() - t0
        out.append(info)
    return out
