"""Events as raw input words, from any file a command accepts: a words file (HDF5 dataset `words` or .npy,
shape (N, n_inputs)), the region images (`Regions`) of a generated file for a 252-input (calorimeter-image) design,
or the ADC2021 layout (`Particles`), converted with the configured L1 units."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from trigger.data.io import DataError


def is_words_file(path: str | os.PathLike) -> bool:
    path = Path(path)
    if path.suffix == ".npy":
        return True
    try:
        with h5py.File(path, "r") as f:
            return "words" in f
    except OSError:
        return False


def has_regions(path: str | os.PathLike) -> bool:
    try:
        with h5py.File(path, "r") as f:
            return "Regions" in f
    except OSError:
        return False


def reads_regions(path: str | os.PathLike, n_inputs: int | None) -> bool:
    """A calorimeter-image design (252 inputs) reads a generated file's region images, not its objects."""
    from trigger.data.regions import N_REGIONS

    return n_inputs == N_REGIONS and not is_words_file(path) and has_regions(path)


def reads_particles(path: str | os.PathLike, n_inputs: int | None) -> bool:
    """The file's words come from its ADC2021 objects through the L1 units."""
    return not is_words_file(path) and not reads_regions(path, n_inputs)


def read_words(path: str | os.PathLike, units=None, n_inputs: int | None = None) -> tuple[np.ndarray, None]:
    """(words (N, n) in the file's integer type (int16/int32 from an ADC2021 file, read chunk by chunk), None).
    Widen to int64 chunk by chunk where needed: a whole file as int64 can outgrow memory."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if is_words_file(path):
        if path.suffix == ".npy":
            try:
                w = np.load(path, allow_pickle=False)
            except ValueError as exc:
                raise DataError(f"{path}: not a readable .npy array: {exc}") from None
        else:
            with h5py.File(path, "r") as f:
                w = f["words"][()]
        if w.ndim != 2 or (n_inputs is not None and w.shape[1] != n_inputs):
            raise DataError(f"{path}: words of shape {w.shape}, expected (N, {n_inputs if n_inputs else 'n_inputs'})")
        if not np.issubdtype(w.dtype, np.integer):
            raise DataError(f"{path}: words must be integers, got {w.dtype}")
        return w, None
    if reads_regions(path, n_inputs):
        from trigger.data.io import read_regions
        from trigger.data.regions import as_words

        return as_words(read_regions(path)), None
    if units is None:
        raise DataError(f"{path}: an ADC2021-layout file needs the configuration's L1 units to become words")
    from trigger.data.stream import read_selected

    return read_selected(path, units, progress=f"reading {path.name}").words, None
