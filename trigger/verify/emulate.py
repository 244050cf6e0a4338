"""`trigger emulate`: the emulator on a words file or an ADC2021-layout file, chunk by chunk (here or on a Dask
cluster), the results streamed into an HDF5 file that appears only when complete."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from emulator import Emulator
from trigger.data.io import DataError
from trigger.data.stream import READ_CHUNK, file_info, ranges, read_word_range
from trigger.data.words import is_words_file, reads_regions
from trigger.io_utils import atomic_path

_EMULATORS: dict = {}


def _emulator(build: str) -> Emulator:
    """One Emulator per design and process (a Dask worker keeps it between chunks)."""
    path = Path(build) / "design.yaml"
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _EMULATORS:
        _EMULATORS.clear()
        _EMULATORS[key] = Emulator.load(build)
    return _EMULATORS[key]


def input_events(path: str | Path, n_inputs: int) -> int:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if not is_words_file(path):  # an ADC2021-layout file: its objects or, for a 252-input design, its region images
        return file_info(path).events
    shape = np.load(path, mmap_mode="r").shape if path.suffix == ".npy" else h5py.File(path, "r")["words"].shape
    if len(shape) != 2 or shape[1] != n_inputs:
        raise DataError(f"{path}: words of shape {shape}, expected (N, {n_inputs})")
    return shape[0]


def read_range(path: str | Path, units, start: int, stop: int, n_inputs: int | None = None) -> np.ndarray:
    """Events start..stop of a words file or an ADC2021-layout file (its objects, or for a calorimeter-image design
    its region images), as words."""
    path = Path(path)
    if reads_regions(path, n_inputs):
        from trigger.data.io import read_regions
        from trigger.data.regions import as_words

        return as_words(read_regions(path, start, stop))
    if not is_words_file(path):
        return read_word_range(path, units, start, stop)[0]
    if path.suffix == ".npy":
        w = np.asarray(np.load(path, mmap_mode="r")[start:stop])
    else:
        with h5py.File(path, "r") as f:
            w = f["words"][start:stop]
    if not np.issubdtype(w.dtype, np.integer):
        raise DataError(f"{path}: words must be integers, got {w.dtype}")
    return w


def emulate_range(build: str, path: str, units, start: int, stop: int):
    """The unit of work in one process and on a cluster alike: (words, mu, score, bits) of events start..stop."""
    emu = _emulator(build)
    words = read_range(path, units, start, stop, emu.n_inputs)
    try:
        mu, score, bits = emu.run(words)
    except Exception as exc:  # the emulator names the word; say which event of the file
        raise DataError(f"{path}, events {start}..{stop}: {exc}") from None
    return words.astype(np.int32), mu, score, bits.astype(np.int8)


def emulate_file(build, input_file, out, units, scheduler=None, chunk: int = READ_CHUNK):
    """Emulate every event of input_file into out (HDF5: words, mu, score, trigger_bits); with `scheduler` (a Dask
    address or Client) the chunks run on that cluster, which must see input_file and the build at the same paths.
    Returns the number of events."""
    from trigger.progress import bar

    build, input_file = str(Path(build).resolve()), str(Path(input_file).resolve())
    emu = _emulator(build)
    n = input_events(input_file, emu.n_inputs)
    chunks = ranges(n, chunk)
    if scheduler is not None:
        from dask.distributed import Client

        client = Client(scheduler) if isinstance(scheduler, str) else scheduler
        futures = client.map(emulate_range, [build] * len(chunks), [input_file] * len(chunks), [units] * len(chunks),
                             [lo for lo, _ in chunks], [hi for _, hi in chunks], pure=False)
        results = (f.result() for f in futures)
    else:
        results = (emulate_range(build, input_file, units, lo, hi) for lo, hi in chunks)
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            opts = dict(compression="gzip", chunks=True)
            ds = {
                "words": f.create_dataset("words", (n, emu.n_inputs), np.int32, **opts),
                "mu": f.create_dataset("mu", (n, emu.latent), np.int64, **opts),
                "score": f.create_dataset("score", (n,), np.int64, **opts),
                "trigger_bits": f.create_dataset("trigger_bits", (n, len(emu.thresholds)), np.int8, **opts),
            }
            with bar("emulating", n) as advance:
                for (lo, hi), parts in zip(chunks, results):
                    for d, v in zip(ds.values(), parts):
                        d[lo:hi] = v
                    advance(hi - lo)
            f.attrs["thresholds"] = emu.threshold_names
            f.attrs["threshold_raw"] = emu.thresholds
            f.attrs["score_type"] = emu.score_type.hls()
            f.attrs["mu_type"] = emu.mu_type.hls()
            f.attrs["design_sha256"] = emu.design.sha256()
            f.attrs["source"] = input_file
            f.attrs["events"] = n
    return n
