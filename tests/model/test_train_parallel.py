"""The baselines trained beside the trigger in spawned processes give every number that training them in a stage of
their own gives (`trigger run`: the trigger alone, then train_baselines, one fit after another in one process): the
history of every fit and every saved weight (training must not depend on which process ran it)."""

from __future__ import annotations

import json

import h5py
import numpy as np

from synthetic import write_tiny_dataset


def _weights(path):
    out = []
    with h5py.File(path) as f:
        f["model_weights"].visititems(lambda name, obj: out.append((name, obj[()])) if isinstance(obj, h5py.Dataset) else None)
    return out


def test_baselines_beside_the_trigger_equal_their_own_stage(tmp_path, monkeypatch):
    from trigger.config import load_config
    from trigger.model import train as train_mod

    cfg = load_config(write_tiny_dataset(tmp_path))
    submitted = []

    class Counting(train_mod.ProcessPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            submitted.append(fn.__name__)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(train_mod, "ProcessPoolExecutor", Counting)
    monkeypatch.setattr(train_mod, "PARALLEL_BASELINES_EVENTS", (0, 10**9))  # beside it, even for the tiny sample
    train_mod.train(cfg, tmp_path / "parallel")
    assert submitted == ["_fit_ae", "_fit_v1"]
    monkeypatch.setattr(train_mod, "PARALLEL_BASELINES_EVENTS", (0, 0))  # every fit in this process, one after another
    train_mod.train(cfg, tmp_path / "sequential", baselines=False)
    assert not (tmp_path / "sequential" / "model" / "ae_encoder.h5").exists()
    train_mod.train_baselines(cfg, tmp_path / "sequential")
    assert submitted == ["_fit_ae", "_fit_v1"]  # the stage trained them in this process

    for name in ("history.json", "baselines.json"):
        hist = [json.loads((tmp_path / b / "model" / name).read_text()) for b in ("parallel", "sequential")]
        for h in hist:
            h.pop("seconds")
        assert set(hist[0]["history"]) == ({"vae"} if name == "history.json" else {"ae", "axol1tl_v1"})
        assert hist[0] == hist[1], name
    for name in ("trigger_model.h5", "ae_encoder.h5", "ae_decoder.h5", "axol1tl_v1_encoder.h5"):
        a, b = _weights(tmp_path / "parallel" / "model" / name), _weights(tmp_path / "sequential" / "model" / name)
        assert len(a) == len(b) > 0
        # values in file order (Keras's automatic layer names count per process, so names may differ)
        assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b)), name
