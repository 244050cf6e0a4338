"""HDF5 files in the ADC2021 layout: read (public files unchanged), validate, write atomically."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import h5py
import numpy as np

from trigger.data.layout import CLASS_NAMES, N_OBJECTS, PARTICLE_NAMES


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and the field."""


@dataclass
class EventFile:
    particles: np.ndarray  # (N, 19, 4): pT, eta, phi, class
    weights: np.ndarray  # (N,)
    attrs: dict = field(default_factory=dict)
    path: str = ""

    def __len__(self) -> int:
        return len(self.particles)


def read_events(path: str | os.PathLike, max_events: int | None = None) -> EventFile:
    """The whole file (or its first max_events) as float64 particles: for small files; large ones stream
    (trigger.data.stream)."""
    from trigger.data.stream import file_info

    info = file_info(path)  # checks the file, its datasets and their shapes, naming what is wrong
    sl = slice(0, max_events)
    with h5py.File(info.path, "r") as f:
        try:
            particles = np.asarray(f["Particles"][sl], dtype=np.float64)
            weights = np.asarray(f["weights"][sl], dtype=np.float64) if info.has_weights else np.ones(len(particles))
        except (OSError, RuntimeError) as exc:
            raise DataError(f"{path}: cannot read 'Particles' (truncated file?): {exc}") from None
    validate(particles, weights, str(path))
    return EventFile(particles, weights, info.attrs, str(path))


def validate(particles: np.ndarray, weights: np.ndarray, source: str, first_event: int = 0) -> None:
    """first_event: the file index of particles[0] (a chunk's offset), so messages name the event in the file."""
    bad = ~np.isfinite(particles)
    if bad.any():
        ev, obj, col = np.argwhere(bad)[0]
        name = PARTICLE_NAMES[col].decode()
        raise DataError(f"{source}: field 'Particles' has {bad.sum()} NaN/inf values (first: event {first_event + ev}, object {obj}, {name})")
    neg = particles[:, :, 0] < 0
    if neg.any():
        ev, obj = np.argwhere(neg)[0]
        raise DataError(f"{source}: field 'Particles' has {neg.sum()} negative pT values (first: event {first_event + ev}, object {obj})")
    if weights.shape != (len(particles),):
        raise DataError(f"{source}: field 'weights' has shape {weights.shape}, expected ({len(particles)},)")
    if not np.all(np.isfinite(weights)) or (weights < 0).any():
        raise DataError(f"{source}: field 'weights' has NaN, inf or negative values")


def write_events(path: str | os.PathLike, particles: np.ndarray, weights: np.ndarray | None = None,
                 regions: np.ndarray | None = None, **attrs) -> None:
    """Write the ADC2021 layout (float32 Particles; the values are hardware-quantised, so nothing is lost), and
    beside it, where given, the calorimeter region images (`Regions`, (N, 18, 14) uint16, trigger.data.regions)."""
    from trigger.data.regions import N_ETA, N_PHI
    from trigger.io_utils import atomic_path

    particles = np.asarray(particles)
    validate(particles, np.ones(len(particles)) if weights is None else np.asarray(weights), str(path))
    if regions is not None and np.shape(regions) != (len(particles), N_PHI, N_ETA):
        raise DataError(f"{path}: region images of shape {np.shape(regions)}, expected ({len(particles)}, {N_PHI}, {N_ETA})")
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            opts = dict(compression="gzip", compression_opts=9, shuffle=True)
            f.create_dataset("Particles", data=particles.astype(np.float32), chunks=(min(len(particles), 4096) or 1, N_OBJECTS, 4), **opts)
            f.create_dataset("Particles_Names", data=np.array(PARTICLE_NAMES))
            f.create_dataset("Particles_Classes", data=np.array(CLASS_NAMES))
            if weights is not None:
                f.create_dataset("weights", data=np.asarray(weights, dtype=np.float64), **opts)
            if regions is not None:
                f.create_dataset("Regions", data=np.asarray(regions, dtype=np.uint16),
                                 chunks=(min(len(particles), 4096) or 1, N_PHI, N_ETA), **opts)
            for k, v in attrs.items():
                f.attrs[k] = v if isinstance(v, (str, int, float, bool, np.number)) else json.dumps(v)


def read_regions(path: str | os.PathLike, start: int = 0, stop: int | None = None) -> np.ndarray:
    """The file's calorimeter region images (events start..stop), (N, 18, 14) uint16; a clear error where the file
    has none."""
    from trigger.data.regions import ET_MAX, N_ETA, N_PHI

    with h5py.File(path, "r") as f:
        if "Regions" not in f:
            raise DataError(f"{path}: no dataset 'Regions' (region images are written by `trigger data generate`; "
                            f"keys: {sorted(f.keys())})")
        ds = f["Regions"]
        if ds.shape[1:] != (N_PHI, N_ETA) or not np.issubdtype(ds.dtype, np.integer):
            raise DataError(f"{path}: field 'Regions' is {ds.dtype} {ds.shape}, expected integers (N, {N_PHI}, {N_ETA})")
        r = ds[start:stop]
    if r.size and (r.min() < 0 or r.max() > ET_MAX):
        raise DataError(f"{path}: field 'Regions' has values outside 0..{ET_MAX}")
    return r
