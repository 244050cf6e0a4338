"""Event generation in independent seeded chunks: local processes or a Dask cluster, same bytes either way."""

from __future__ import annotations

import logging
import os
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from trigger.data.objects import build_objects, lepton_filter
from trigger.data.processes import COMMON, ProcessError, settings_for

log = logging.getLogger(__name__)
BATCH = 200  # events per pythia.nextBatch call
MAX_TRIALS_PER_EVENT = 20_000  # give up if the filter passes less than 1 in this many


@dataclass(frozen=True)
class ChunkJob:
    process: str
    settings: tuple[str, ...]
    seed: int
    events: int
    lepton_filter: bool


@dataclass
class ChunkResult:
    particles: np.ndarray
    weights: np.ndarray
    regions: np.ndarray  # (N, 18, 14) uint16, trigger.data.regions
    trials: int
    seconds: float


def chunk_seed(base_seed: int, process: str, chunk: int) -> int:
    """Pythia seeds must lie in [1, 900000000]; each (seed, process, chunk) gets its own."""
    return (base_seed * 1_000_003 + (zlib.crc32(process.encode()) % 100_003) * 1009 + chunk) % 899_999_999 + 1


def make_pythia(settings, seed: int):
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for s in [*COMMON, *settings, "Random:setSeed = on", f"Random:seed = {seed}"]:
        if not pythia.readString(s):
            raise ProcessError(f"Pythia rejected the setting {s!r}")
    if not pythia.init():
        raise ProcessError(f"Pythia failed to initialise with settings {list(settings)} (see its messages above)")
    return pythia


def check_settings(settings) -> None:
    """Fail fast, before any chunk runs, if Pythia rejects a setting."""
    make_pythia(settings, 1)


def run_chunk(job: ChunkJob) -> ChunkResult:
    t0 = time.perf_counter()
    pythia = make_pythia(job.settings, job.seed)
    rng = np.random.default_rng(job.seed)
    parts, weights, regions, trials = [], [], [], 0
    have = 0
    while have < job.events:
        if trials > MAX_TRIALS_PER_EVENT * max(job.events, 1):
            raise ProcessError(f"{job.process}: fewer than 1 in {MAX_TRIALS_PER_EVENT} events pass the lepton filter")
        batch = pythia.nextBatch(BATCH)
        trials += BATCH
        obj, reg = build_objects(batch, rng)
        w = np.asarray([x[0] if len(x) else 1.0 for x in batch.info.weights.tolist()], dtype=np.float64)
        keep = lepton_filter(obj) if job.lepton_filter else np.ones(len(obj), bool)
        parts.append(obj[keep])
        weights.append(w[keep])
        regions.append(reg[keep])
        have += int(keep.sum())
    particles = np.concatenate(parts)[: job.events]
    return ChunkResult(particles, np.concatenate(weights)[: job.events], np.concatenate(regions)[: job.events], trials,
                       time.perf_counter() - t0)


def plan_chunks(process: str, settings, events: int, seed: int, chunk_size: int, lepton_filter: bool) -> list[ChunkJob]:
    n_chunks = -(-events // chunk_size)
    return [
        ChunkJob(process, tuple(settings), chunk_seed(seed, process, i), min(chunk_size, events - i * chunk_size), lepton_filter)
        for i in range(n_chunks)
    ]


def run_chunks(jobs: list[ChunkJob], n_jobs: int | None = None, scheduler: str | None = None, progress=None):
    """Run chunks in order-preserving parallel; yields ChunkResults in chunk order."""
    for res in _results(jobs, n_jobs, scheduler):
        if progress:
            progress(len(res.particles))
        yield res


def _results(jobs, n_jobs, scheduler):
    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler) if isinstance(scheduler, str) else scheduler
        yield from (fut.result() for fut in client.map(run_chunk, jobs, pure=False))
        return
    n_jobs = n_jobs or os.cpu_count() or 1
    if n_jobs == 1 or len(jobs) == 1:
        yield from map(run_chunk, jobs)
        return
    with ProcessPoolExecutor(max_workers=n_jobs) as pool:
        yield from pool.map(run_chunk, jobs)


def generate(
    process: str,
    events: int,
    seed: int,
    out: str,
    custom_settings: list[str] | None = None,
    lepton_filter: bool = True,
    chunk_size: int = 2000,
    n_jobs: int | None = None,
    scheduler=None,
    show_progress: bool = True,
) -> dict:
    """Generate `events` filtered events of one process into an ADC2021-layout HDF5 file."""
    from trigger import versions
    from trigger.data.io import write_events
    from trigger.progress import bar

    if events < 1:
        raise ProcessError(f"{process}: number of events must be >= 1, got {events}")
    settings = settings_for(process, custom_settings)
    check_settings(settings)
    jobs = plan_chunks(process, settings, events, seed, chunk_size, lepton_filter)
    t0 = time.perf_counter()
    parts, weights, regions, trials = [], [], [], 0
    with bar(f"generate {process}", total=events, enabled=show_progress) as advance:
        for res in run_chunks(jobs, n_jobs, scheduler, advance):
            parts.append(res.particles)
            weights.append(res.weights)
            regions.append(res.regions)
            trials += res.trials
    particles = np.concatenate(parts)
    w = np.concatenate(weights)
    seconds = time.perf_counter() - t0
    write_events(
        out,
        particles,
        w,
        regions=np.concatenate(regions),
        process=process,
        pythia_settings=[*COMMON, *settings],
        seed=seed,
        chunk_size=chunk_size,
        lepton_filter=lepton_filter,
        generated_events=trials,
        filter_efficiency=len(particles) / max(trials, 1),
        versions=versions.collect(["pythia8mc", "fastjet", "numpy", "h5py"]),
    )
    return {
        "process": process,
        "events": len(particles),
        "generated": trials,
        "filter_efficiency": len(particles) / max(trials, 1),
        "seconds": seconds,
        "out": str(out),
    }
