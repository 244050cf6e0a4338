"""The dataset a run uses: one file per process, a fixed split rule, the background mix as weights."""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigger.config import Config, DataConfig
from trigger.data.io import DataError
from trigger.data.stream import file_info, file_words
from trigger.data.units import SaturationCount

SPLITS = ("train", "val", "test")


def process_file(data: DataConfig, name: str, root: Path | None = None) -> Path:
    base = Path(data.dir)
    if not base.is_absolute() and root is not None:
        base = root / base
    return base / f"{name}.h5"


def split_mask(n: int, data: DataConfig, split: str) -> np.ndarray:
    """Event i belongs to a split by i mod (train + val + test): the first `train` residues, then val, then test."""
    return split_of(np.arange(n), data, split)


def split_of(index: np.ndarray, data: DataConfig, split: str) -> np.ndarray:
    """Whether each file index belongs to the split (split_mask for any index range, e.g. a chunk's)."""
    s = data.split
    r = np.asarray(index) % (s.train + s.val + s.test)
    lo = {"train": 0, "val": s.train, "test": s.train + s.val}[split]
    hi = lo + getattr(s, split)
    return (r >= lo) & (r < hi)


@dataclass
class Sample:
    """Events of one process and split, as hardware words, with their weights."""

    name: str
    words: np.ndarray  # (N, 57) int16 (int32 for wider units): convert per chunk, never the whole split
    weights: np.ndarray  # (N,) float64, background: normalised so each process sums to its mix fraction
    saturation: SaturationCount
    lepton_filter: bool | None
    sampled_from: int = 0  # events of the split this sample was drawn from (0: the whole split)


def sample_index(n: int, data: DataConfig, split: str, k: int, seed: int, name: str) -> np.ndarray:
    """k events of a split drawn uniformly without replacement, seeded per process; increasing file indices."""
    idx = np.flatnonzero(split_mask(n, data, split))
    if k >= len(idx):
        return idx
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return np.sort(rng.choice(idx, size=k, replace=False))


def load_sample(cfg: Config, name: str, split: str, root: Path | None = None, path: Path | None = None,
                max_events: int | None = None, seed: int = 0, progress: str | None | bool = None) -> Sample:
    """The split of the process's file (its words read once per process, see stream.file_words); with max_events,
    a uniform seeded sample of the split whose weights are scaled up so the process keeps its share of the mix.
    `saturation` counts the whole file's saturated words."""
    path = path or process_file(cfg.data, name, root)
    # every event of the file as words, read once per process; the split (or sample) is an index selection
    held = file_words(path, cfg.units, progress)
    n = held.total_events
    wanted = split_mask(n, cfg.data, split)
    in_split = int(wanted.sum())
    if max_events is not None and max_events < in_split:
        wanted = np.zeros(n, bool)
        wanted[sample_index(n, cfg.data, split, max_events, seed, name)] = True
    idx = np.flatnonzero(wanted)
    if not len(idx):
        raise DataError(f"{path}: no events in split {split!r} ({n} events)")
    words, w = held.words[idx], held.weights[idx]
    sat = held.saturation  # counted over the whole file
    if name in cfg.data.background:
        if held.total_weight <= 0:
            raise DataError(f"{path}: field 'weights' sums to zero")
        # the share of the split, scaled so the whole file carries the process's fraction of the mix; a sample
        # carries the split's share
        w = w / held.total_weight * cfg.data.background[name].fraction * n / len(idx)
    lf = held.attrs.get("lepton_filter")
    return Sample(name, words, w, sat, None if lf is None else bool(lf), in_split if len(idx) < in_split else 0)


def load_background(cfg: Config, split: str, root: Path | None = None, max_events: int | None = None, seed: int = 0) -> Sample:
    """Every background process's split; with max_events, that many in all, shared in proportion to each
    process's events in the split (each sampled uniformly, so the mix weights stay right)."""
    quota = {name: None for name in cfg.data.background}
    if max_events is not None:
        sizes = {name: int(split_mask(file_info(process_file(cfg.data, name, root)).events, cfg.data, split).sum())
                 for name in cfg.data.background}
        total = sum(sizes.values())
        if max_events < total:
            quota = {name: max(1, round(max_events * n / total)) for name, n in sizes.items()}
    parts = [load_sample(cfg, name, split, root, max_events=quota[name], seed=seed) for name in cfg.data.background]
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
        sum(p.sampled_from or len(p.words) for p in parts) if any(p.sampled_from for p in parts) else 0,
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
