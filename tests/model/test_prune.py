"""Magnitude pruning (`training.prune_sparsity`): the schedule, the masks on QKeras kernels only, the validation,
and a tiny vae_kl trained with it whose design carries the zeros and whose emulator still equals its QKeras score."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic import emulated_and_keras, train_tiny_family


def _training(**kw):
    from trigger.config import TrainingConfig

    return TrainingConfig(**{"epochs": 10, "prune_sparsity": 0.6, "prune_start": 2, "prune_ramp": 3, **kw})


def _models():
    import tensorflow as tf
    from qkeras import QDense

    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input(shape=(12,))
    q = QDense(5, name="q")(inp)
    f = tf.keras.layers.Dense(3, name="float_head")(q)
    return tf.keras.Model(inp, [q, f])


def test_schedule_ramps_to_the_sparsity_and_full_from_then_on():
    from trigger.model.fit import Pruner

    p = Pruner([_models()], _training())
    assert [round(p.target(e), 3) for e in range(7)] == [0, 0, 0.2, 0.4, 0.6, 0.6, 0.6]
    assert [p.full(e) for e in range(7)] == [False, False, False, False, True, True, True]


def test_masks_zero_the_smallest_of_qkeras_kernels_only_and_hold():
    from trigger.model.fit import Pruner

    m = _models()
    q, f = m.get_layer("q"), m.get_layer("float_head")
    before_q, before_f = q.kernel.numpy().copy(), f.kernel.numpy().copy()
    p = Pruner([m], _training())
    p.update(4)  # full sparsity: 0.6 of 60 weights
    k = q.kernel.numpy()
    assert (k == 0).sum() == 36 and np.abs(before_q[k == 0]).max() <= np.abs(before_q[k != 0]).min()
    assert np.array_equal(f.kernel.numpy(), before_f)
    q.kernel.assign(np.ones_like(k))  # an optimizer step that would regrow them
    p.apply()
    assert (q.kernel.numpy() == 0).sum() == 36 and p.sparsity() == pytest.approx(0.6)


def test_pruning_must_end_within_the_epochs():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="prune_start \\+ prune_ramp = 13 must be at most epochs \\(10\\)"):
        _training(prune_start=3, prune_ramp=10)
    _training(prune_sparsity=0.0, prune_start=3, prune_ramp=10)  # off: no constraint


def test_pruning_refuses_embed_ae_at_load(tmp_path):
    import yaml

    from trigger.config import ConfigError, load_config
    from synthetic import write_tiny_dataset

    path = write_tiny_dataset(tmp_path, n_bkg=10, n_sig=10)
    d = yaml.safe_load(path.read_text())
    d["training"].update(prune_sparsity=0.5, prune_start=1, prune_ramp=1)
    for model in ({"family": "embed_ae"}, {"family": "or", "or_family": {"parts": ["vae_kl", "embed_ae"]}}):
        path.write_text(yaml.safe_dump({**d, "model": {**d["model"], **model}}))
        with pytest.raises(ConfigError, match="training.prune_sparsity: pruning is built for vae_kl and ae_reco, not embed_ae"):
            load_config(path)
    path.write_text(yaml.safe_dump({**d, "model": {**d["model"], "family": "vae_kl"}}))
    assert load_config(path).training.prune_sparsity == 0.5


def test_tiny_vae_trained_pruned_keeps_the_zeros_in_its_design_and_stays_exact(tmp_path):
    from trigger.design import load_design

    cfg, build, _, hist = train_tiny_family(tmp_path, {}, {"epochs": 5, "patience": 5, "prune_sparsity": 0.75, "prune_start": 1,
                                                          "prune_ramp": 2})
    assert hist["history"]["vae"]["sparsity"] >= 0.75
    dense = [n for n in load_design(build / "design.yaml").nodes if n.op == "dense"]
    assert dense and all((n.weight == 0).mean() >= 0.75 for n in dense)
    _, _, (mu, score, _), (kmu, kscore) = emulated_and_keras(cfg, build)
    assert np.unique(score).size > 10
    assert np.array_equal(mu, kmu) and np.array_equal(score, kscore)
