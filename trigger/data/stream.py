"""Event files read chunk by chunk into L1 words: memory holds one chunk of float particles plus the words kept
(int16 where every field fits), never the whole file as floats. A split or a sample is an index selection
made during the one pass over the file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import h5py
import numpy as np

from trigger.data.io import DataError, validate
from trigger.data.layout import N_FEATURES, N_OBJECTS
from trigger.data.units import SaturationCount, to_words

READ_CHUNK = 262_144  # events per read: 19 x 4 float64 = 160 MB at most in flight


def word_dtype(units) -> np.dtype:
    """int16 when every word of the units fits (the default L1 widths do), else int32."""
    from trigger.data.units import field_ranges

    r = field_ranges(units)
    return np.dtype(np.int16) if r.min() >= -(2**15) and r.max() < 2**15 else np.dtype(np.int32)


@dataclass
class FileInfo:
    path: Path
    events: int
    has_weights: bool
    attrs: dict = field(default_factory=dict)


def file_info(path: str | os.PathLike) -> FileInfo:
    """Shape and attributes of an ADC2021-layout file, checked, without reading its events."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {exc}") from None
    with f:
        if "Particles" not in f:
            raise DataError(f"{path}: no dataset 'Particles' (keys: {sorted(f.keys())})")
        ds = f["Particles"]
        if ds.ndim != 3 or ds.shape[1:] != (N_OBJECTS, 4):
            raise DataError(f"{path}: field 'Particles' has shape {ds.shape}, expected (N, {N_OBJECTS}, 4)")
        if ds.shape[0] == 0:
            raise DataError(f"{path}: field 'Particles' holds no events")
        if "weights" in f and f["weights"].shape != (ds.shape[0],):
            raise DataError(f"{path}: field 'weights' has shape {f['weights'].shape}, expected ({ds.shape[0]},)")
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        return FileInfo(path, int(ds.shape[0]), "weights" in f, attrs)


def iter_chunks(path: str | os.PathLike, start: int = 0, stop: int | None = None,
                chunk: int = READ_CHUNK) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first event index, particles (n, 19, 4) float64, weights (n,)) per chunk, each validated."""
    info = file_info(path)
    stop = info.events if stop is None else min(stop, info.events)
    with h5py.File(info.path, "r") as f:
        ds = f["Particles"]
        for lo in range(start, stop, chunk):
            hi = min(lo + chunk, stop)
            try:
                p = np.asarray(ds[lo:hi], dtype=np.float64)
                w = np.asarray(f["weights"][lo:hi], dtype=np.float64) if info.has_weights else np.ones(hi - lo)
            except (OSError, RuntimeError) as exc:
                raise DataError(f"{path}: cannot read 'Particles' events {lo}..{hi} (truncated file?): {exc}") from None
            validate(p, w, str(path), first_event=lo)
            yield lo, p, w


def read_weights(path: str | os.PathLike) -> np.ndarray:
    info = file_info(path)
    if not info.has_weights:
        return np.ones(info.events)
    with h5py.File(info.path, "r") as f:
        w = np.asarray(f["weights"][()], dtype=np.float64)
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise DataError(f"{path}: field 'weights' has NaN, inf or negative values")
    return w


@dataclass
class Selected:
    """The selected events of one file as words, with their indices in the file and their weights."""

    index: np.ndarray  # (n,) int64, increasing
    words: np.ndarray  # (n, 57) int16 or int32
    weights: np.ndarray  # (n,) float64, as in the file
    total_events: int
    total_weight: float  # over every event of the file
    saturation: SaturationCount
    attrs: dict


def read_selected(path: str | os.PathLike, units, select: Callable[[np.ndarray], np.ndarray] | None = None,
                  chunk: int = READ_CHUNK, progress: str | None = None) -> Selected:
    """One pass over the file: every chunk becomes words at once and only the selected events are kept.
    select(indices) -> bool mask; None keeps every event, written in place into arrays of the file's size (joining
    chunks would hold the words twice at the end: 3 GB for a 13.45M-event file)."""
    from trigger.progress import bar

    info = file_info(path)
    dtype = word_dtype(units)
    sat = SaturationCount()
    if select is None:
        all_words, all_weights = np.empty((info.events, N_FEATURES), dtype), np.empty(info.events)
    idx, words, weights, total = [], [], [], 0.0
    with bar(progress or f"reading {info.path.name}", info.events, enabled=progress is not False) as advance:
        for lo, p, w in iter_chunks(path, chunk=chunk):
            total += float(w.sum())
            if select is None:
                all_words[lo : lo + len(p)] = to_words(p, units, sat).astype(dtype)
                all_weights[lo : lo + len(p)] = w
            else:
                i = np.arange(lo, lo + len(p))
                keep = select(i)
                if keep.any():
                    words.append(to_words(p[keep], units, sat).astype(dtype))
                    idx.append(i[keep])
                    weights.append(w[keep])
            advance(len(p))
    if select is None:
        return Selected(np.arange(info.events), all_words, all_weights, info.events, total, sat, info.attrs)
    if not words:
        return Selected(np.zeros(0, np.int64), np.zeros((0, N_FEATURES), dtype), np.zeros(0), info.events, total, sat, info.attrs)
    return Selected(np.concatenate(idx), np.concatenate(words), np.concatenate(weights), info.events, total, sat, info.attrs)


_WORDS: dict = {}


def file_words(path: str | os.PathLike, units, progress: str | None | bool = None) -> Selected:
    """Every event of a file as words, read once per process and kept (int16: 114 bytes an event, 1.5 GB for
    ADC2021's 13.45M background); splits and samples are index selections of it. Keyed by the file's size and
    modification time and the units, so a changed file is read again."""
    path = Path(path)
    st = path.stat() if path.is_file() else None
    if st is None:
        file_info(path)  # raises, naming the file
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, units.model_dump_json())
    if key not in _WORDS:
        for k in [k for k in _WORDS if k[0] == key[0]]:  # an older version of the same file
            del _WORDS[k]
        _WORDS[key] = read_selected(path, units, progress=progress if progress is not None else f"reading {path.name}")
    return _WORDS[key]


def clear_words() -> None:
    _WORDS.clear()


def read_word_range(path: str | os.PathLike, units, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, SaturationCount]:
    """Events start..stop of a file as words (a Dask task's input), with their weights."""
    sat = SaturationCount()
    out_w, out_wt = [], []
    for _, p, w in iter_chunks(path, start, stop):
        out_w.append(to_words(p, units, sat).astype(word_dtype(units)))
        out_wt.append(w)
    if not out_w:
        return np.zeros((0, N_FEATURES), word_dtype(units)), np.zeros(0), sat
    return np.concatenate(out_w), np.concatenate(out_wt), sat


def ranges(n: int, chunk: int = READ_CHUNK) -> list[tuple[int, int]]:
    """The fixed chunk boundaries every pass uses (in one process or on a cluster): results do not depend on where
    a chunk ran."""
    return [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]


def read_particles_at(path: str | os.PathLike, index: np.ndarray, chunk: int = READ_CHUNK) -> np.ndarray:
    """The particles (float64) of the given increasing event indices, in one pass."""
    index = np.asarray(index, dtype=np.int64)
    out = np.zeros((len(index), N_OBJECTS, 4))
    for lo, p, _ in iter_chunks(path, chunk=chunk):
        a, b = np.searchsorted(index, [lo, lo + len(p)])
        if b > a:
            out[a:b] = p[index[a:b] - lo]
    return out
