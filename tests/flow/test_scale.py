"""Real dataset sizes: chunked reading equals one read, samples keep the mix, the zero-bias stream, and Dask runs
of `emulate` and `evaluate` equal the single-process runs."""

import json

import h5py
import numpy as np
import pytest

from trigger.data.io import DataError


def test_chunked_words_equal_one_read(tiny, tmp_path):
    from trigger.data.dataset import process_file, split_mask, split_of
    from trigger.data.io import read_events
    from trigger.data.stream import read_selected, read_word_range
    from trigger.data.units import SaturationCount, to_words

    cfg, _, _ = tiny
    path = process_file(cfg.data, "bkgA")
    ef = read_events(path)
    whole_sat = SaturationCount()
    whole = to_words(ef.particles, cfg.units, whole_sat)
    sel = read_selected(path, cfg.units, chunk=7, progress=False)  # chunk boundaries everywhere
    assert sel.words.dtype == np.int16
    assert np.array_equal(sel.words, whole) and np.array_equal(sel.weights, ef.weights)
    assert sel.saturation.counts == whole_sat.counts and sel.total_weight == pytest.approx(ef.weights.sum(), rel=1e-12)
    mask = split_mask(len(ef), cfg.data, "test")
    test = read_selected(path, cfg.units, lambda i: mask[i], chunk=7, progress=False)
    assert np.array_equal(test.words, whole[mask]) and np.array_equal(test.index, np.flatnonzero(mask))
    assert np.array_equal(split_of(np.arange(100, 200), cfg.data, "val"), split_mask(200, cfg.data, "val")[100:])
    assert np.array_equal(read_word_range(path, cfg.units, 95, 130)[0], whole[95:130])


def test_a_bad_value_is_named_by_its_event_in_the_file(tmp_path):
    from synthetic import synthetic_events

    from trigger.config import load_config
    from trigger.data.stream import read_selected

    p = synthetic_events(50, 1)
    p[37, 2, 0] = np.nan
    with h5py.File(tmp_path / "bad.h5", "w") as f:  # written raw: write_events refuses it
        f.create_dataset("Particles", data=p.astype(np.float32))
    with pytest.raises(DataError, match=r"bad.h5: field 'Particles' has 1 NaN.*event 37, object 2"):
        read_selected(tmp_path / "bad.h5", load_config().units, chunk=10, progress=False)


def test_max_events_samples_every_process_and_keeps_the_mix(tiny):
    from trigger.data.dataset import load_background, load_sample

    cfg, _, _ = tiny
    full = {n: load_sample(cfg, n, "train", progress=False) for n in cfg.data.background}
    sample = load_background(cfg, "train", max_events=600, seed=3)
    again = load_background(cfg, "train", max_events=600, seed=3)
    other = load_background(cfg, "train", max_events=600, seed=4)
    assert np.array_equal(sample.words, again.words)  # seeded
    assert not np.array_equal(sample.words, other.words)
    assert len(sample.words) == 600 and sample.sampled_from == sum(len(s.words) for s in full.values())
    # slicing the concatenation (the old behaviour) would have dropped bkgB entirely; here both are in, in
    # proportion to their events, and each keeps its share of the mix weights
    start = 0
    for name, part in full.items():
        k = round(600 * len(part.words) / sample.sampled_from)
        w = sample.weights[start : start + k]
        words = sample.words[start : start + k]
        start += k
        rows = {r.tobytes() for r in part.words}
        assert all(r.tobytes() in rows for r in words)  # drawn from this process
        # each sampled event stands for len(split)/k events: the process's total weight is kept in expectation
        assert w.sum() == pytest.approx(part.weights.sum(), rel=0.1)
        assert w.mean() == pytest.approx(part.weights.mean() * len(part.words) / k, rel=0.1)
    assert start == 600


def test_zero_bias_stream_rate():
    from trigger.config import COLLIDING_BUNCH_RATE_KHZ, load_config

    cfg = load_config()
    assert cfg.evaluation.stream_rate_khz == pytest.approx(40.0)  # 40 MHz x 1e-3, the shipped default
    zb = cfg.model_copy(update={"evaluation": cfg.evaluation.model_copy(update={"stream": "zero_bias"})})
    assert zb.evaluation.stream_rate_khz == COLLIDING_BUNCH_RATE_KHZ == pytest.approx(28607.28)
    assert "2544" in zb.evaluation.stream_note


@pytest.fixture(scope="module")
def cluster():
    """Worker processes: every task and result crosses a process boundary, as on a real cluster."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, Client(lc) as client:
        yield client


@pytest.fixture(scope="module")
def thread_cluster():
    """A worker thread in this process (TensorFlow already imported: seconds, not a minute, for the test suite; one
    thread, as Keras's predict is not promised thread-safe)."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as lc, Client(lc) as client:
        yield client


def test_emulate_on_a_dask_cluster_equals_one_process(tiny, tmp_path, cluster):
    from trigger.verify.emulate import emulate_file

    cfg, build, _ = tiny
    rng = np.random.default_rng(5)
    from emulator import Emulator

    emu = Emulator.load(build)
    np.save(tmp_path / "w.npy", rng.integers(emu.word_min, emu.word_max + 1, size=(5000, 57)).astype(np.int32))
    n1 = emulate_file(build, tmp_path / "w.npy", tmp_path / "one.h5", cfg.units, chunk=700)
    n2 = emulate_file(build, tmp_path / "w.npy", tmp_path / "dask.h5", cfg.units, scheduler=cluster, chunk=700)
    assert n1 == n2 == 5000
    with h5py.File(tmp_path / "one.h5") as a, h5py.File(tmp_path / "dask.h5") as b:
        for k in ("words", "mu", "score", "trigger_bits"):
            assert np.array_equal(a[k][()], b[k][()]), k
        assert a["trigger_bits"][()].any()


def _strip(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("seconds", "dask_scheduler")}


def test_evaluate_on_a_dask_cluster_equals_one_process(tiny, tmp_path, thread_cluster):
    import shutil

    from trigger.physics.evaluate import evaluate

    cfg, build, _ = tiny
    copy = tmp_path / "b"
    shutil.copytree(build, copy)
    one = json.loads(json.dumps(evaluate(cfg, copy, plots=False)))
    dask = json.loads(json.dumps(evaluate(cfg, copy, plots=False, scheduler=thread_cluster)))
    assert dask["dask_scheduler"] and one["dask_scheduler"] is None
    assert _strip(one) == _strip(dask)
    assert one["background_test_events"] > 0 and one["thresholds"][0]["threshold_int"] > 0


def test_bigdata_writes_a_seeded_adc2021_layout_and_its_config(tiny, tmp_path):
    from bench.bigdata import main
    from trigger.config import load_config
    from trigger.data.io import read_events

    _, build, _ = tiny
    args = ["--config", str(build / "config.yaml"), "--background-events", "5000", "--signal-events", "300", "--max-training-events", "1000"]
    main(["--out", str(tmp_path / "a"), *args])
    main(["--out", str(tmp_path / "b"), *args])
    cfg = load_config(tmp_path / "a" / "config.yaml")
    assert list(cfg.data.background) == ["background"] and cfg.training.max_events == 1000
    assert cfg.data.dir == str((tmp_path / "a").resolve())
    a, b = read_events(tmp_path / "a" / "background.h5"), read_events(tmp_path / "b" / "background.h5")
    assert a.particles.shape == (5000, 19, 4) and np.array_equal(a.particles, b.particles)  # seeded
    assert (a.particles[:, :, 0] > 0).any(axis=1).all()  # every event has something
    present = a.particles[:, :, 0] > 0
    assert np.array_equal(a.particles[:, :, 3] > 0, present)  # classes only where objects are
    assert np.all(a.particles[~present][:, :3] == 0)  # empty slots stay empty after smearing
    for name in cfg.data.signals:
        assert len(read_events(tmp_path / "a" / f"{name}.h5")) == 300


def test_a_file_is_read_once_and_splits_are_index_selections(tiny, monkeypatch):
    import trigger.data.stream as st
    from trigger.data.dataset import load_sample, process_file, split_mask

    cfg, _, _ = tiny
    st.clear_words()
    reads = []
    real = st.read_selected
    monkeypatch.setattr(st, "read_selected", lambda path, *a, **k: reads.append(path) or real(path, *a, **k))
    parts = {s: load_sample(cfg, "bkgA", s, progress=False) for s in ("train", "val", "test")}
    assert reads == [process_file(cfg.data, "bkgA")]  # one read for the three splits
    whole = st.file_words(process_file(cfg.data, "bkgA"), cfg.units)
    for s, part in parts.items():
        assert np.array_equal(part.words, whole.words[split_mask(whole.total_events, cfg.data, s)])
    # a changed file is read again
    path = process_file(cfg.data, "bkgA")
    import os

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1000))
    load_sample(cfg, "bkgA", "test", progress=False)
    assert len(reads) == 2
